/**
 * Histograms of selected features' positive activations.
 *
 * Bindings: `acts [rows, S]` (read), `top [S]` (read, each feature's maximum), `hist [S, 32]`
 * (u32, added into), uniforms `{ n = S, rows }`. One invocation per feature (no atomics),
 * workgroup size 64 over a 2-D grid.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchLinear, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;
/** Bins of the activation histograms. */
export const HIST_BINS = 32;

const HIST = perItemProgram({
  name: "feature_hist",
  key: `bins${HIST_BINS}`,
  wg: WG,
  buffers: [["acts", "read", "f32"], ["top", "read", "f32"], ["hist", "read_write", "u32"]],
  uniforms: "rows: u32",
  body: `var h: array<u32, ${HIST_BINS}>;
  let scale = select(0.0, f32(${HIST_BINS}) / top[i], top[i] > 0.0);
  for (var r = 0u; r < u.rows; r++) {
    let v = acts[r * u.n + i];
    if (v > 0.0) {
      h[min(u32(v * scale), ${HIST_BINS - 1}u)] += 1u;
    }
  }
  for (var b = 0u; b < ${HIST_BINS}u; b++) { hist[i * ${HIST_BINS}u + b] += h[b]; }`,
});

/** Options of {@linkcode featureHist}. */
export interface FeatureHistOptions {
  /** Rows of `acts`. */
  rows: number;
  /** Selected features `S` (columns of `acts`). */
  selected: number;
  /** Each feature's maximum, `[S]`: bins cover `[0, top[s]]`. */
  top: Binding;
  /** Counts `[S, 32]` (u32), added into. */
  hist: Binding;
}

/**
 * Add the histograms of the `S` columns of `acts [rows, S]` (32 bins over `[0, top[s]]`, positive
 * values only; the maximum falls in the last bin, and with `top[s] ≤ 0` every positive value
 * counts in bin 0) into `hist [S, 32]`.
 *
 * @param gpu The GPU context.
 * @param acts The activations, `[rows, S]`.
 * @param options Sizes, the maxima and the counts.
 * @returns Nothing; `hist` is updated in queue order.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { featureHist, HIST_BINS } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const acts = gpu.upload(new Float32Array([0, 0.5, 1]), [3, 1]);
 * const hist = gpu.zeros([1, HIST_BINS], "u32");
 * featureHist(gpu, acts, { rows: 3, selected: 1, top: gpu.upload(new Float32Array([1]), [1]), hist });
 * console.log((await hist.read())[16], (await hist.read())[31]); // 1 1
 * ```
 */
export function featureHist(gpu: Gpu, acts: Binding, options: FeatureHistOptions): void {
  if (options.selected === 0) return;
  dispatchLinear(gpu, HIST, {
    bindings: [acts, options.top, options.hist],
    uniforms: new Uniforms().u32(options.selected).u32(options.rows),
    count: options.selected,
    wg: WG,
  });
}
