/**
 * Activations of several hooks on a set of token windows, read once.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { hookWidth, type NeoxModel } from "@saelab/neox";
import { hookPlace } from "./_hook.ts";

/** Hook activations of every window. */
export interface HookCache {
  /** The GPU context. */
  gpu: Gpu;
  /** Window length. */
  length: number;
  /** Model width. */
  hidden: number;
  /** Per hook, `[W, T, width]`. */
  x: Float32Array[];
  /** Per hook inside a block, the block's input `[W, T, D]` (needed to re-run from there). */
  residPre: (Float32Array | undefined)[];
}

/**
 * Run the windows once, reading the hooks (and the inputs of blocks with inner hooks).
 *
 * @param model The model.
 * @param windows Token windows of equal length.
 * @param options Hooks, and the most tokens per forward call (default 8192).
 * @returns The activations.
 * @throws {RangeError} When windows are empty or of unequal lengths.
 * @example
 * ```ts ignore
 * const cache = await cacheHooks(model, windows, { hooks: ["blocks.1.hook_resid_post"] });
 * const rows = cache.x[0]; // [W, T, D]
 * ```
 */
export async function cacheHooks(
  model: NeoxModel,
  windows: number[][],
  options: { hooks: string[]; maxTokens?: number },
): Promise<HookCache> {
  const T = windows[0]?.length ?? 0;
  if (T === 0 || windows.some((w) => w.length !== T)) {
    throw new RangeError("Cannot read activations: windows must be non-empty and of equal length");
  }
  const config = model.config;
  const places = options.hooks.map(hookPlace);
  const inner = places.map((p) => p.point !== "hook_resid_pre" && p.point !== "hook_resid_post");
  const names = [
    ...new Set([...options.hooks, ...places.flatMap((p, i) => inner[i] ? [`blocks.${p.layer}.hook_resid_pre`] : [])]),
  ];
  const stop = Math.max(...places.map((p) => p.layer)) + 1;
  const per = Math.max(1, Math.floor((options.maxTokens ?? 8192) / T));
  const out = new Map(names.map((n) => [n, new Float32Array(windows.length * T * hookWidth(config, n))]));
  for (let w0 = 0; w0 < windows.length; w0 += per) {
    const batch = windows.slice(w0, w0 + per);
    const kept = new Map<string, Tensor<"f32">>();
    try {
      const hooks = Object.fromEntries(
        names.map((n) => [n, { keep: true, read: (_: string, t: Tensor<"f32">) => void kept.set(n, t) }]),
      );
      model.forward(batch, { hooks, stopAtLayer: stop }).dispose();
      for (const n of names) out.get(n)!.set(await kept.get(n)!.read(), w0 * T * hookWidth(config, n));
    } finally {
      for (const t of kept.values()) t.dispose();
    }
  }
  return {
    gpu: model.gpu,
    length: T,
    hidden: config.hiddenSize,
    x: options.hooks.map((h) => out.get(h)!),
    residPre: places.map((p, i) => (inner[i] ? out.get(`blocks.${p.layer}.hook_resid_pre`) : undefined)),
  };
}
