/**
 * The part of a model after a hook point: inject an activation there and run
 * only what depends on it.
 *
 * Causal analyses re-run the model many times with an edited activation at one
 * hook while everything upstream stays the same. {@linkcode Downstream} caches
 * nothing itself; it runs a **tail model** — a second GPT-NeoX whose block 0 is
 * the hook's block (or the next block for `hook_resid_post`), built from the
 * same weights — so the upstream blocks are never recomputed. The tail's
 * embedding is discarded: its `blocks.0.hook_resid_pre` is replaced by the
 * caller's activation (for points inside a block, by the block's cached input,
 * and the point itself by the edited activation). Without a weight source, or
 * when the hook is the last block's output, it falls back to the whole model
 * with a replace hook (same results, more work).
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import { BLOCK_HOOKS, createModel, hookNames, type NeoxModel, weightSpecs } from "@saelab/neox";
import { openCheckpoint } from "@saelab/safetensors";
import { type HookPlace, hookPlace, shiftHook } from "./_hook.ts";

/** Weights by Hugging Face name: a map, a lookup function, or a model folder (safetensors, sharded or not). */
export type WeightSource =
  | Readonly<Record<string, Float32Array>>
  | ((name: string) => Float32Array | Promise<Float32Array>)
  | string;

/** Options of {@linkcode Downstream.create}. */
export interface DownstreamOptions {
  /** The model's weights, to build the tail model. Default: none (run the whole model each time). */
  weights?: WeightSource;
}

/** Order of a hook in the forward pass; a block's output and the next block's input are one point. */
function order(place: HookPlace): number {
  const n = BLOCK_HOOKS.length;
  if (place.point === "hook_resid_post") return (place.layer + 1) * n;
  return place.layer * n + BLOCK_HOOKS.indexOf(place.point);
}

async function reader(source: WeightSource): Promise<{ get: (name: string) => Promise<Float32Array>; close(): void }> {
  if (typeof source === "string") {
    const ckpt = await openCheckpoint(source);
    return { get: (name) => ckpt.getFloat32(name), close: () => ckpt.close() };
  }
  if (typeof source === "function") return { get: async (name) => await source(name), close: () => {} };
  return {
    get: (name) => {
      const w = source[name];
      if (w === undefined) {
        return Promise.reject(new RangeError(`Cannot build the tail model: weight ${name} is missing`));
      }
      return Promise.resolve(w);
    },
    close: () => {},
  };
}

/** A model run from one hook point onwards. Create with {@linkcode Downstream.create}; dispose when done. */
export class Downstream {
  /** The full model. */
  readonly model: NeoxModel;
  /** Where activations are injected. */
  readonly hook: string;
  /** Its block and point. */
  readonly place: HookPlace;
  /** `"tail"`: a copy of the later blocks runs; `"full"`: the whole model runs with a replace hook. */
  readonly mode: "tail" | "full";
  /** True when calls must also pass the block's input (`hook_resid_pre`): points inside a block. */
  readonly needsResidPre: boolean;
  /** First block of the tail model (in the full model's numbering). */
  readonly from: number;
  #tail: NeoxModel | null;

  private constructor(model: NeoxModel, hook: string, tail: NeoxModel | null, from: number) {
    this.model = model;
    this.hook = hook;
    this.place = hookPlace(hook);
    this.mode = tail ? "tail" : "full";
    this.needsResidPre = this.place.point !== "hook_resid_pre" && this.place.point !== "hook_resid_post";
    this.from = from;
    this.#tail = tail;
  }

  /**
   * Prepare the downstream of a hook.
   *
   * @param model The model.
   * @param hook A block hook of the model, e.g. `blocks.2.hook_resid_post`.
   * @param options `weights` to build a tail model from (else the whole model runs each time).
   * @returns The downstream runner.
   * @throws {RangeError} For a hook the model does not have.
   * @example
   * ```ts ignore
   * using down = await Downstream.create(model, "blocks.1.hook_resid_post", { weights: "models/pythia-70m" });
   * const logits = await down.lastLogits(ids, patched); // [B, V]
   * ```
   */
  static async create(model: NeoxModel, hook: string, options: DownstreamOptions = {}): Promise<Downstream> {
    const config = model.config;
    if (!hookNames(config).includes(hook) || !hook.startsWith("blocks.")) {
      throw new RangeError(`Cannot run downstream of ${JSON.stringify(hook)}: the model has no such block hook`);
    }
    const place = hookPlace(hook);
    const from = place.point === "hook_resid_post" ? place.layer + 1 : place.layer;
    if (options.weights === undefined || from >= config.numLayers) return new Downstream(model, hook, null, 0);
    const tailConfig = { ...config, numLayers: config.numLayers - from };
    const source = await reader(options.weights);
    const weights: Record<string, Float32Array> = {};
    try {
      for (const { name, shape } of weightSpecs(tailConfig)) {
        if (name === "gpt_neox.embed_in.weight" && !config.tiedEmbeddings) {
          weights[name] = new Float32Array(shape[0] * shape[1]); // never read: block 0's input is replaced
          continue;
        }
        const m = /^gpt_neox\.layers\.(\d+)\.(.+)$/.exec(name);
        weights[name] = await source.get(m ? `gpt_neox.layers.${Number(m[1]) + from}.${m[2]}` : name);
      }
    } finally {
      source.close();
    }
    const tail = await createModel(model.gpu, tailConfig, { weights });
    return new Downstream(model, hook, tail, from);
  }

  /**
   * Inject an activation at the hook and return the logits of each sequence's last position.
   *
   * @param ids Token ids `[B][T]` of the sequences (used by the whole-model fallback, and for shapes).
   * @param act The activation at the hook `[B, T, width]`; the call takes ownership of it.
   * @param residPre The block's input `[B, T, D]` for points inside a block (see `needsResidPre`); taken over too.
   * @returns Logits `[B, V]`, row-major.
   * @example
   * ```ts ignore
   * const logits = await down.lastLogits(ids, gpu.upload(patched, [b, t, d])); // [b, V]
   * ```
   */
  async lastLogits(ids: number[][], act: Tensor<"f32">, residPre?: Tensor<"f32">): Promise<Float32Array> {
    const { hooks, release } = this.#hooks(act, residPre);
    try {
      return await (this.#tail ?? this.model).lastLogits(this.#tail ? this.#blank(ids) : ids, hooks);
    } finally {
      release();
    }
  }

  /**
   * {@linkcode Downstream.lastLogits} without the read back: the logits stay on the GPU.
   *
   * @param ids Token ids `[B][T]` (for the whole-model fallback, and for shapes).
   * @param act The activation at the hook `[B, T, width]`; taken over.
   * @param residPre The block's input `[B, T, D]` for points inside a block; taken over too.
   * @returns Logits `[B, V]` of each sequence's last position; the caller owns the tensor.
   * @example
   * ```ts ignore
   * using logits = down.lastLogitsGpu(ids, gpu.upload(patched, [b, t, d])); // [b, V], nothing read back
   * ```
   */
  lastLogitsGpu(ids: number[][], act: Tensor<"f32">, residPre?: Tensor<"f32">): Tensor<"f32"> {
    const { hooks, release } = this.#hooks(act, residPre);
    const model = this.#tail ?? this.model;
    try {
      using normed = model.normalized(this.#tail ? this.#blank(ids) : ids, { hooks }); // [B, T, D]
      const [batch, seq, d] = normed.shape;
      using last = model.gpu.empty([batch, d], "f32", "causal.last_normed");
      const enc = model.gpu.encoder();
      for (let b = 0; b < batch; b++) {
        enc.copyBufferToBuffer(normed.buffer, (b * seq + seq - 1) * d * 4, last.buffer, b * d * 4, d * 4);
      }
      return model.unembedRows(last);
    } finally {
      release();
    }
  }

  /**
   * Inject an activation at the hook and read a later hook's activation.
   *
   * @param ids Token ids `[B][T]`.
   * @param act The activation at the hook `[B, T, width]`; taken over.
   * @param options `at`: the later block hook; `residPre`: the block's input for points inside a block (taken over).
   * @returns The later activation `[B, T, width']` on the host.
   * @throws {RangeError} When `at` does not come after the hook.
   * @example
   * ```ts ignore
   * const later = await down.activationAt(ids, ablated, { at: "blocks.3.hook_resid_post" }); // [B, T, D]
   * ```
   */
  async activationAt(
    ids: number[][],
    act: Tensor<"f32">,
    options: { at: string; residPre?: Tensor<"f32"> },
  ): Promise<Float32Array> {
    const later = hookPlace(options.at);
    if (order(later) <= order(this.place) || !hookNames(this.model.config).includes(options.at)) {
      act.dispose();
      options.residPre?.dispose();
      throw new RangeError(`Cannot read ${options.at}: it is not a hook of this model after ${this.hook}`);
    }
    const { hooks, release } = this.#hooks(act, options.residPre);
    const name = this.#tail ? shiftHook(options.at, this.from) : options.at;
    let kept: Tensor<"f32"> | undefined;
    const all = { ...hooks, [name]: { keep: true, read: (_: string, t: Tensor<"f32">) => void (kept = t) } };
    const model = this.#tail ?? this.model;
    try {
      const out = model.forward(this.#tail ? this.#blank(ids) : ids, {
        hooks: all,
        stopAtLayer: later.layer - (this.#tail ? this.from : 0) + 1,
      });
      out.dispose();
      return await kept!.read();
    } finally {
      kept?.dispose();
      release();
    }
  }

  /** Free the tail model (the full model stays the caller's). Safe to call twice. */
  dispose(): void {
    this.#tail?.dispose();
    this.#tail = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Ids of the same shape for the tail model, whose embedding output is replaced anyway. */
  #blank(ids: number[][]): number[][] {
    return ids.map((row) => new Array(row.length).fill(0));
  }

  /** Replace hooks for the injection, and a release that disposes whatever the model did not take. */
  #hooks(act: Tensor<"f32">, residPre?: Tensor<"f32">) {
    if (this.needsResidPre && this.#tail && residPre === undefined) {
      act.dispose();
      throw new RangeError(`Cannot run downstream of ${this.hook}: pass the block's input (residPre) as well`);
    }
    const pending = new Set<Tensor<"f32">>([act, ...(residPre ? [residPre] : [])]);
    const give = (t: Tensor<"f32">) => ({ replace: () => (pending.delete(t), t) });
    const hooks: Record<string, { replace: () => Tensor<"f32"> }> = {};
    if (!this.#tail) hooks[this.hook] = give(act);
    else if (!this.needsResidPre) hooks["blocks.0.hook_resid_pre"] = give(act);
    else {
      hooks["blocks.0.hook_resid_pre"] = give(residPre!);
      hooks[shiftHook(this.hook, this.from)] = give(act);
    }
    return { hooks, release: () => pending.forEach((t) => t.dispose()) };
  }
}
