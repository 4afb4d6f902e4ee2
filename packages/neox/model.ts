/**
 * The GPT-NeoX model on the GPU: weights, the forward pass with hook points,
 * next-token loss and generation.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { crossEntropy, layerNorm } from "@saelab/kernels";
import type { NeoxConfig } from "./config.ts";
import type { Hooks } from "./hooks.ts";
import { checkHooks, runHook, Scope } from "./_scope.ts";
import { packTokens, type TokenBatch } from "./tokens.ts";
import { generate, type GenerateOptions } from "./generate.ts";
import { embedTokens, unembedInto, type VocabPart } from "./_vocab.ts";
import { type BlockWeights, recordBlock } from "./_block.ts";

export type { BlockWeights };

/** All weights on the GPU. */
export interface ModelWeights {
  /** `[V, D]` in row parts. */
  embedIn: VocabPart[];
  blocks: BlockWeights[];
  finalNormWeight: Tensor<"f32">;
  finalNormBias: Tensor<"f32">;
  /** `[V, D]` in row parts; the same parts as `embedIn` when the embeddings are tied. */
  embedOut: VocabPart[];
}

/** Options of {@linkcode NeoxModel.forward}. */
export interface ForwardOptions {
  /** Hooks by hook point name (see `hooks.ts` for the contract). */
  hooks?: Hooks;
  /**
   * Run only blocks `0 … stopAtLayer−1` and return the residual stream there
   * (`blocks.{stopAtLayer}.hook_resid_pre`, or the last block's output when it equals
   * the number of layers), skipping the rest and the unembedding. Default: run everything.
   */
  stopAtLayer?: number;
}

/** Options of {@linkcode NeoxModel.loss}. */
export interface LossOptions {
  /** Hooks by hook point name. */
  hooks?: Hooks;
  /** Also return each position's loss. Default false. */
  perToken?: boolean;
  /**
   * Most bytes of logits held at once: longer batches are unembedded and scored in row
   * chunks (unless a `logits` hook asks for all of them). Default 64 MiB.
   */
  maxLogitsBytes?: number;
}

/** The result of {@linkcode NeoxModel.loss}. */
export interface LossResult {
  /** Mean next-token cross-entropy in nats over all `B·(T−1)` predictions. */
  mean: number;
  /** `[B, T−1]`: loss of predicting token `t+1` from position `t`, when asked for. */
  perToken?: Float32Array;
}

/** A loaded GPT-NeoX model. Create one with `loadModel` or `createModel`; dispose it when done. */
export class NeoxModel {
  /** The GPU context holding the weights. */
  readonly gpu: Gpu;
  /** The configuration. */
  readonly config: NeoxConfig;
  #w: ModelWeights;
  #disposed = false;

  /**
   * @param gpu The GPU context.
   * @param config The configuration.
   * @param weights Weights already on `gpu`; the model takes ownership of them.
   */
  constructor(gpu: Gpu, config: NeoxConfig, weights: ModelWeights) {
    this.gpu = gpu;
    this.config = config;
    this.#w = weights;
  }

  /**
   * Run the model on a batch.
   *
   * @param ids Token ids `[B][T]`, equal lengths, `T ≤ max_position_embeddings`.
   * @param options `hooks`, `stopAtLayer`.
   * @returns Logits `[B, T, V]`, or the residual stream `[B, T, D]` with `stopAtLayer`; the caller owns it.
   * @throws {RangeError} For bad ids or hook names (before any GPU work).
   * @example
   * ```ts ignore
   * const logits = model.forward([[1, 2, 3]]); // [1, 3, V]
   * const resid = model.forward(batch, { stopAtLayer: 3 }); // blocks.3.hook_resid_pre
   * ```
   */
  forward(ids: TokenBatch, options: ForwardOptions = {}): Tensor<"f32"> {
    const stop = this.#stop(options.stopAtLayer);
    checkHooks(this.config, options.hooks, stop, options.stopAtLayer === undefined);
    const scope = new Scope();
    try {
      const x = this.#blocks(ids, options.hooks, stop, scope);
      if (options.stopAtLayer !== undefined) return scope.move(x);
      const normed = this.#finalNorm(x, options.hooks, scope);
      return scope.move(this.#unembed(normed, options.hooks, scope));
    } finally {
      scope.release();
    }
  }

  /**
   * Mean next-token cross-entropy of a batch (the same hooks apply, e.g. a spliced SAE).
   *
   * @param ids Token ids `[B][T]` with `T ≥ 2`.
   * @param options `hooks`, `perToken`.
   * @returns The mean loss in nats and, if asked, the per-position losses.
   * @example
   * ```ts ignore
   * const clean = await model.loss(batch);
   * const spliced = await model.loss(batch, { hooks: { "blocks.3.hook_resid_post": { replace: (_, x) => sae(x) } } });
   * ```
   */
  async loss(ids: TokenBatch, options: LossOptions = {}): Promise<LossResult> {
    const { data, batch, seq } = packTokens(this.config, ids);
    if (seq < 2) throw new RangeError("Cannot compute the loss: sequences need at least 2 tokens");
    checkHooks(this.config, options.hooks, this.config.numLayers);
    const targets = new Int32Array(batch * seq).fill(-1); // [B, T]: the next token, −1 at the end
    for (let b = 0; b < batch; b++) targets.set(data.subarray(b * seq + 1, (b + 1) * seq), b * seq);
    const scope = new Scope();
    let losses: Float32Array;
    try {
      const x = this.#blocks(ids, options.hooks, this.config.numLayers, scope);
      const normed = this.#finalNorm(x, options.hooks, scope);
      const t = scope.own(this.gpu.upload(targets, [batch * seq], "neox.targets"));
      const maxBytes = Math.min(options.maxLogitsBytes ?? 64 * 2 ** 20, this.gpu.maxTensorBytes);
      const chunk = Math.max(1, Math.floor(maxBytes / (4 * this.config.vocabSize)));
      if (options.hooks?.logits !== undefined || batch * seq <= chunk) {
        const logits = this.#unembed(normed, options.hooks, scope);
        const l = scope.own(crossEntropy(this.gpu, logits.reshape([batch * seq, this.config.vocabSize]), t));
        losses = await l.read();
      } else {
        losses = await this.#chunkedLoss(normed, t, chunk, scope).read();
      }
    } finally {
      scope.release();
    }
    const perToken = new Float32Array(batch * (seq - 1));
    let total = 0;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < seq - 1; t++) {
        const v = losses[b * seq + t];
        perToken[b * (seq - 1) + t] = v;
        total += v;
      }
    }
    const mean = total / perToken.length;
    return options.perToken ? { mean, perToken } : { mean };
  }

  /**
   * The final normalised residual (`ln_final.hook_normalized`) of a batch, without the
   * unembedding: for scoring long batches in row chunks with {@linkcode NeoxModel.unembedRows}.
   *
   * @param ids Token ids `[B][T]`, equal lengths.
   * @param options `hooks` (any point but `logits`, which this pass does not reach).
   * @returns `[B, T, D]`; the caller owns it.
   * @throws {RangeError} For bad ids or hook names (before any GPU work).
   * @example
   * ```ts ignore
   * using normed = model.normalized(batch); // [B, T, D]
   * using logits = model.unembedRows(normed, { first: 0, count: 256 }); // [256, V]
   * ```
   */
  normalized(ids: TokenBatch, options: { hooks?: Hooks } = {}): Tensor<"f32"> {
    this.#stop(undefined);
    if (options.hooks?.logits !== undefined) {
      throw new RangeError('Cannot hook "logits" in normalized: the pass stops before the unembedding');
    }
    checkHooks(this.config, options.hooks, this.config.numLayers);
    const scope = new Scope();
    try {
      const x = this.#blocks(ids, options.hooks, this.config.numLayers, scope);
      return scope.move(this.#finalNorm(x, options.hooks, scope));
    } finally {
      scope.release();
    }
  }

  /**
   * Logits of consecutive rows of a normalised residual (no `logits` hook runs).
   *
   * @param normed `[N, D]` or `[B, T, D]` (rows are `b·T + t`), e.g. from {@linkcode NeoxModel.normalized}.
   * @param options `first` row (default 0), `count` rows (default: to the end), `out` `[count, V]`.
   * @returns `[count, V]` logits; the caller owns a new tensor.
   * @throws {RangeError} When the width is not the model's or the rows run past the end.
   * @example
   * ```ts ignore
   * using logits = model.unembedRows(normed, { first: 512, count: 512 }); // rows 512 … 1023
   * ```
   */
  unembedRows(
    normed: Tensor<"f32">,
    options: { first?: number; count?: number; out?: Tensor<"f32"> } = {},
  ): Tensor<"f32"> {
    this.#stop(undefined);
    const d = this.config.hiddenSize, v = this.config.vocabSize;
    const rows = normed.shape[normed.rank - 1] === d ? normed.size / d : NaN;
    if (!Number.isInteger(rows)) {
      throw new RangeError(`Cannot unembed: the residual [${normed.shape.join(", ")}] is not ${d} wide`);
    }
    const first = options.first ?? 0, count = options.count ?? rows - first;
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || first + count > rows) {
      throw new RangeError(`Cannot unembed rows ${first} … ${first + count - 1}: the residual has ${rows} rows`);
    }
    const out = options.out ?? this.gpu.empty([count, v], "f32", "neox.logit_rows");
    if (out.dtype !== "f32" || out.size !== count * v || out.shape[out.rank - 1] !== v) {
      throw new RangeError(`Cannot unembed: out [${out.shape.join(", ")}] must be [${count}, ${v}]`);
    }
    if (count === 0) return out;
    if (first === 0 && count === rows) {
      unembedInto(this.gpu, normed.reshape([rows, d]), this.#w.embedOut, out.reshape([count, v]));
      return out;
    }
    using x = this.gpu.empty([count, d], "f32", "neox.unembed_rows");
    this.gpu.encoder().copyBufferToBuffer(normed.buffer, first * d * 4, x.buffer, 0, count * d * 4);
    unembedInto(this.gpu, x, this.#w.embedOut, out.reshape([count, v]));
    return out;
  }

  /**
   * Continue each prompt by greedy decoding or temperature sampling; see {@linkcode GenerateOptions}.
   *
   * @param prompts Token ids `[B][T]`, equal lengths.
   * @param options Length, temperature, seed, stop token and hooks.
   * @returns The new tokens of each sequence (prompts excluded).
   * @example
   * ```ts ignore
   * const [tokens] = await model.generate([prompt], { maxNewTokens: 20, temperature: 0.8, seed: 1 });
   * ```
   */
  generate(prompts: TokenBatch, options: GenerateOptions = {}): Promise<number[][]> {
    return generate(this, prompts, options);
  }

  /**
   * Logits of the last position of each sequence, `[B, V]` on the host (used by generation).
   *
   * @param ids Token ids `[B][T]`.
   * @param hooks Hooks of the pass; a `logits` hook sees `[B, 1, V]`.
   * @returns The last position's logits, row-major.
   */
  async lastLogits(ids: TokenBatch, hooks?: Hooks): Promise<Float32Array> {
    checkHooks(this.config, hooks, this.config.numLayers);
    const scope = new Scope();
    try {
      const x = this.#blocks(ids, hooks, this.config.numLayers, scope);
      const [batch, seq, d] = x.shape;
      const last = scope.own(this.gpu.empty([batch, 1, d], "f32", "neox.last"));
      for (let b = 0; b < batch; b++) {
        this.gpu.encoder().copyBufferToBuffer(x.buffer, ((b * seq) + seq - 1) * d * 4, last.buffer, b * d * 4, d * 4);
      }
      const normed = this.#finalNorm(last, hooks, scope);
      return await this.#unembed(normed, hooks, scope).read();
    } finally {
      scope.release();
    }
  }

  /** Free the weights. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const w = this.#w;
    const all = [
      ...[...w.embedIn, ...w.embedOut].map((p) => p.weight),
      w.finalNormWeight,
      w.finalNormBias,
      ...w.blocks.flatMap((b) => Object.values(b)),
    ];
    for (const t of new Set(all)) t?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #stop(stopAtLayer: number | undefined): number {
    if (this.#disposed) throw new TypeError("Cannot run the model: it was disposed");
    const n = this.config.numLayers;
    const stop = stopAtLayer ?? n;
    if (!Number.isInteger(stop) || stop < 0 || stop > n) {
      throw new RangeError(`Cannot run the model: stopAtLayer ${stopAtLayer} must be a whole number in 0 … ${n}`);
    }
    return stop;
  }

  /** Embedding and blocks `0 … stop−1`; returns the residual `[B, T, D]` owned by `scope`. */
  #blocks(ids: TokenBatch, hooks: Hooks | undefined, stop: number, scope: Scope): Tensor<"f32"> {
    if (this.#disposed) throw new TypeError("Cannot run the model: it was disposed");
    const { data, batch, seq } = packTokens(this.config, ids);
    const gpu = this.gpu;
    const tokens = scope.own(gpu.upload(data, [batch, seq], "neox.ids"));
    let x = scope.own(embedTokens(gpu, tokens, this.#w.embedIn)); // [B, T, D]
    for (let l = 0; l < stop; l++) {
      const inner = new Scope();
      try {
        scope.move(x, inner);
        x = inner.move(
          recordBlock(gpu, this.config, { weights: this.#w.blocks[l], layer: l, x, hooks, scope: inner }),
          scope,
        );
      } finally {
        inner.release();
      }
    }
    return x;
  }

  /** Per-row losses `[N]` of `normed [B, T, D]`, unembedding `rows` rows at a time. */
  #chunkedLoss(normed: Tensor<"f32">, targets: Tensor<"i32">, rows: number, scope: Scope): Tensor<"f32"> {
    const gpu = this.gpu, d = this.config.hiddenSize, v = this.config.vocabSize;
    const total = targets.size;
    const losses = scope.own(gpu.empty([total], "f32", "neox.losses"));
    for (let r0 = 0; r0 < total; r0 += rows) {
      const n = Math.min(rows, total - r0);
      using x = gpu.empty([n, d], "f32", "neox.loss_rows");
      using t = gpu.empty([n], "i32", "neox.loss_targets");
      using logits = gpu.empty([n, v], "f32", "neox.loss_logits");
      gpu.encoder().copyBufferToBuffer(normed.buffer, r0 * d * 4, x.buffer, 0, n * d * 4);
      gpu.encoder().copyBufferToBuffer(targets.buffer, r0 * 4, t.buffer, 0, n * 4);
      unembedInto(gpu, x, this.#w.embedOut, logits);
      using l = crossEntropy(gpu, logits, t);
      gpu.encoder().copyBufferToBuffer(l.buffer, 0, losses.buffer, r0 * 4, n * 4);
    }
    return losses;
  }

  #finalNorm(x: Tensor<"f32">, hooks: Hooks | undefined, scope: Scope): Tensor<"f32"> {
    const w = this.#w;
    const normed = scope.own(
      layerNorm(this.gpu, x, { weight: w.finalNormWeight, bias: w.finalNormBias, eps: this.config.layerNormEps }),
    );
    return runHook(this.gpu, hooks, "ln_final.hook_normalized", normed, scope);
  }

  #unembed(normed: Tensor<"f32">, hooks: Hooks | undefined, scope: Scope): Tensor<"f32"> {
    const [batch, seq, d] = normed.shape;
    const v = this.config.vocabSize;
    const logits = scope.own(this.gpu.empty([batch, seq, v], "f32", "neox.logits"));
    unembedInto(this.gpu, normed.reshape([batch * seq, d]), this.#w.embedOut, logits.reshape([batch * seq, v]));
    return runHook(this.gpu, hooks, "logits", logits, scope);
  }
}
