/**
 * Spliced-model metrics: how much a replacement of one hook's activation (an SAE's
 * reconstruction, a baseline's) changes the model's next-token predictions, next to the
 * clean model and the zero- and mean-ablated hook.
 *
 * Per batch the clean pass and every replaced pass run to the final normalised residual;
 * their logits are then made in row chunks of at most `maxLogitsBytes`, and each chunk of
 * clean logits stays on the GPU while every replaced pass's chunk is scored against it
 * (`klDiv` with the targets gives the divergence and the loss in one read of the logits).
 * Only per-row losses and divergences come back to the host, once per batch.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import { addBias, crossEntropy, klDiv } from "@saelab/kernels";
import { hookWidth } from "./hooks.ts";
import { checkHooks } from "./_scope.ts";
import type { NeoxModel } from "./model.ts";
import type { TokenBatch } from "./tokens.ts";

/** Replaces a hook's activation `[B, T, width]` by a tensor of the same shape, which the model then owns. */
export type Replacement = (act: Tensor<"f32">) => Tensor<"f32">;

/** Consecutive token windows of one length (`TokenWindows` of `@saelab/corpus` is one). */
export interface WindowSource {
  /** Number of windows. */
  readonly count: number;
  /** Tokens per window. */
  readonly contextLength: number;
  /** The ids of windows `from … from + count − 1`, row-major `[count, contextLength]`. */
  batch(from: number, count: number): Int32Array;
}

/** Options of {@linkcode splicedMetrics}. */
export interface SplicedMetricsOptions {
  /** The hook point whose activation is replaced (TransformerLens name, e.g. `blocks.2.hook_resid_post`). */
  hook: string;
  /** The replacements to score, by name (each is one member of the result). */
  replacements: Readonly<Record<string, Replacement>>;
  /** `[width]`: the mean of the hook's activation over training rows, for the mean ablation. */
  meanActivation: Float32Array;
  /** Held-out windows, or batches of equal-length windows `[B][T]` (each run as it is). `T ≥ 3`. */
  windows: WindowSource | readonly TokenBatch[];
  /** Windows per forward pass when `windows` is a {@linkcode WindowSource}. Default 8. */
  batch?: number;
  /** Most bytes of one chunk of logits; two chunks are held at once. Default 64 MiB. */
  maxLogitsBytes?: number;
  /** Called after each batch with the windows done and the total. */
  progress?: (done: number, total: number) => void;
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** The metrics of one replacement, in nats per predicted token. */
export interface SplicedMember {
  /** Next-token loss with the replacement spliced in. */
  spliced: number;
  /** `spliced − clean`. */
  deltaCe: number;
  /** Mean over predicted positions of `KL(P_clean ‖ P_spliced)` of the next-token distributions. */
  klDiv: number;
  /** `(meanAblation − spliced) / (meanAblation − clean)`: 1 is the clean model, 0 the mean ablation. */
  lossRecovered: number;
  /** `(zeroAblation − spliced) / (zeroAblation − clean)`, the SAELens/SAEBench convention. */
  lossRecoveredZero: number;
}

/** The result of {@linkcode splicedMetrics}; losses in nats per predicted token. */
export interface SplicedMetrics {
  /** Predicted positions scored: `T − 2` per window (position 0 and the last position are not scored). */
  tokens: number;
  /** Loss of the clean model. */
  clean: number;
  /** Loss with the hook's activation set to 0 (position 0 kept clean). */
  zeroAblation: number;
  /** Loss with the hook's activation set to `meanActivation` (position 0 kept clean). */
  meanAblation: number;
  /** Each replacement's metrics, by name. */
  members: Record<string, SplicedMember>;
}

/**
 * Next-token loss, KL divergence from the clean model and loss recovered for each replacement of one
 * hook's activation, over held-out windows.
 *
 * **Position 0 is left out of every metric.** The first token of a window is a BOS-like position
 * with an outlier residual norm: in every replaced and ablated pass it keeps its clean activation
 * (so a replacement that only changes position 0 changes nothing), and its prediction (of token 1)
 * is neither scored for loss nor for KL. Every metric averages over the same positions
 * `1 … T − 2` of each window (the last position has no next token), `tokens` of them.
 *
 * Cost per batch: `3 + replacements` forward passes to the final normalised residual, and as
 * many unembeddings; GPU memory holds `3 + replacements` residuals `[B, T, D]` and two chunks of logits.
 *
 * @param model The model.
 * @param options Hook, replacements, mean activation, windows, batch, `maxLogitsBytes`, progress, signal.
 * @returns Clean, zero- and mean-ablated losses and each replacement's metrics. A loss-recovered
 *   ratio is not finite when its ablation leaves the loss unchanged.
 * @throws {RangeError} For a bad hook, mean activation or windows (before any GPU work).
 * @example
 * ```ts ignore
 * import { copy } from "@saelab/kernels";
 * import { loadModel, splicedMetrics } from "@saelab/neox";
 * using model = await loadModel(gpu, "fixtures/models/sotu-neox");
 * const m = await splicedMetrics(model, {
 *   hook: "blocks.2.hook_resid_post",
 *   replacements: { identity: (act) => copy(gpu, act), sae: (act) => reconstruct(act) },
 *   meanActivation, // [128], the hook's mean over training rows
 *   windows: heldOut, // TokenWindows
 * });
 * console.log(m.clean, m.members.sae.deltaCe, m.members.sae.klDiv, m.members.sae.lossRecovered);
 * ```
 */
export async function splicedMetrics(model: NeoxModel, options: SplicedMetricsOptions): Promise<SplicedMetrics> {
  const { hook, meanActivation, signal } = options;
  const names = Object.keys(options.replacements);
  for (const name of names) {
    if (typeof options.replacements[name] !== "function") {
      throw new TypeError(`Cannot compute spliced metrics: replacement ${JSON.stringify(name)} is not a function`);
    }
  }
  if (hook === "logits") throw new RangeError('Cannot compute spliced metrics at "logits": splice a hook before it');
  checkHooks(model.config, { [hook]: { replace: () => {} } }, model.config.numLayers);
  const width = hookWidth(model.config, hook);
  if (!(meanActivation instanceof Float32Array) || meanActivation.length !== width) {
    throw new RangeError(
      `Cannot compute spliced metrics: meanActivation must be a Float32Array of ${width} values (the width of ${hook}), ` +
        `got ${meanActivation?.length ?? "none"}`,
    );
  }
  const batches = batchList(options);
  const total = batches.reduce((n, b) => n + b.windows, 0);
  const gpu = model.gpu;
  using mean = gpu.upload(meanActivation, [width], "spliced.mean");
  const runs: Replacement[] = [
    (act) => gpu.zeros(act.shape, "f32", "spliced.zero"),
    (act) => {
      using zeros = gpu.zeros([act.size / width, width], "f32", "spliced.zero_rows");
      const out = gpu.empty(act.shape, "f32", "spliced.mean_rows"); // [B, T, w]
      addBias(gpu, zeros, mean, { out: out.reshape([act.size / width, width]) });
      return out;
    },
    ...names.map((n) => options.replacements[n]),
  ];
  const loss = new Float64Array(1 + runs.length), kl = new Float64Array(runs.length);
  let tokens = 0, done = 0;
  for (const b of batches) {
    signal?.throwIfAborted();
    const ids = b.ids();
    const seq = ids[0]?.length ?? 0;
    if (seq < 3) {
      throw new RangeError(
        `Cannot compute spliced metrics: windows need at least 3 tokens (position 0 and the last are not scored), got ${seq}`,
      );
    }
    const rows = await batchRows(model, ids, { hook, runs, maxLogitsBytes: options.maxLogitsBytes });
    const n = ids.length * seq;
    for (let w = 0; w < ids.length; w++) {
      for (let t = 1; t < seq - 1; t++) {
        const r = w * seq + t;
        loss[0] += rows[r];
        for (let i = 0; i < runs.length; i++) {
          loss[1 + i] += rows[(1 + 2 * i) * n + r];
          kl[i] += rows[(2 + 2 * i) * n + r];
        }
      }
    }
    tokens += ids.length * (seq - 2);
    done += b.windows;
    options.progress?.(done, total);
  }
  if (tokens === 0) throw new RangeError("Cannot compute spliced metrics: no windows were given");
  const [clean, zeroAblation, meanAblation] = [loss[0] / tokens, loss[1] / tokens, loss[2] / tokens];
  const members: Record<string, SplicedMember> = {};
  names.forEach((name, i) => {
    const spliced = loss[3 + i] / tokens;
    members[name] = {
      spliced,
      deltaCe: spliced - clean,
      klDiv: kl[2 + i] / tokens,
      lossRecovered: (meanAblation - spliced) / (meanAblation - clean),
      lossRecoveredZero: (zeroAblation - spliced) / (zeroAblation - clean),
    };
  });
  return { tokens, clean, zeroAblation, meanAblation, members };
}

/** The batches to run, each with its window count; ids are made when the batch runs. */
function batchList(options: SplicedMetricsOptions): { windows: number; ids: () => TokenBatch }[] {
  const w = options.windows;
  if (Array.isArray(w)) {
    return (w as readonly TokenBatch[]).map((ids) => ({ windows: ids.length, ids: () => ids }));
  }
  const src = w as WindowSource;
  if (typeof src?.batch !== "function" || !Number.isInteger(src.count) || !Number.isInteger(src.contextLength)) {
    throw new TypeError("Cannot compute spliced metrics: windows must be token windows or an array of batches");
  }
  const per = options.batch ?? 8;
  if (!Number.isInteger(per) || per < 1) {
    throw new RangeError(`Cannot compute spliced metrics: batch ${per} must be a whole number ≥ 1`);
  }
  const out = [];
  for (let from = 0; from < src.count; from += per) {
    const count = Math.min(per, src.count - from);
    const T = src.contextLength;
    out.push({
      windows: count,
      ids: () => {
        const flat = src.batch(from, count); // [count, T]
        return Array.from({ length: count }, (_, b) => flat.subarray(b * T, (b + 1) * T));
      },
    });
  }
  return out;
}

/**
 * One batch: per-row values `[1 + 2·runs, B·T]` on the host — the clean losses, then for each run
 * its losses and its KL from the clean model. Rows at position 0 and at the last position hold 0 loss.
 */
async function batchRows(
  model: NeoxModel,
  ids: TokenBatch,
  options: { hook: string; runs: Replacement[]; maxLogitsBytes?: number },
): Promise<Float32Array> {
  const gpu = model.gpu, v = model.config.vocabSize;
  const batch = ids.length, seq = ids[0].length, n = batch * seq;
  const targets = new Int32Array(n).fill(-1); // [B·T]: the next token at positions 1 … T−2, else −1
  for (let b = 0; b < batch; b++) for (let t = 1; t < seq - 1; t++) targets[b * seq + t] = ids[b][t + 1];
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => (owned.push(t), t);
  try {
    const clean = own(model.normalized(ids)); // [B, T, D]
    const spliced = options.runs.map((replace) =>
      own(model.normalized(ids, { hooks: { [options.hook]: { replace: (_, act) => keepFirst(act, replace) } } }))
    );
    const out = own(gpu.empty([1 + 2 * spliced.length, n], "f32", "spliced.rows"));
    const allTargets = own(gpu.upload(targets, [n], "spliced.targets"));
    const maxBytes = Math.min(options.maxLogitsBytes ?? 64 * 2 ** 20, gpu.maxTensorBytes);
    const chunk = Math.min(n, Math.max(1, Math.floor(maxBytes / (4 * v))));
    // one set of buffers per chunk length (all chunks but the last have `chunk` rows)
    const sets = new Map<
      number,
      { p: Tensor<"f32">; q: Tensor<"f32">; loss: Tensor<"f32">; kl: Tensor<"f32">; t: Tensor<"i32"> }
    >();
    const buffers = (rows: number) => {
      let set = sets.get(rows);
      if (set === undefined) {
        set = {
          p: own(gpu.empty([rows, v], "f32", "spliced.clean_logits")),
          q: own(gpu.empty([rows, v], "f32", "spliced.logits")),
          loss: own(gpu.empty([rows], "f32", "spliced.loss")),
          kl: own(gpu.empty([rows], "f32", "spliced.kl")),
          t: own(gpu.empty([rows], "i32", "spliced.chunk_targets")),
        };
        sets.set(rows, set);
      }
      return set;
    };
    const put = (src: Tensor, slot: number, r0: number, rows: number) =>
      gpu.encoder().copyBufferToBuffer(src.buffer, 0, out.buffer, (slot * n + r0) * 4, rows * 4);
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const rows = Math.min(chunk, n - r0);
      const { p, q, loss, kl, t } = buffers(rows);
      gpu.encoder().copyBufferToBuffer(allTargets.buffer, r0 * 4, t.buffer, 0, rows * 4);
      model.unembedRows(clean, { first: r0, count: rows, out: p }); // [rows, V], kept for every run
      crossEntropy(gpu, p, t, { out: loss });
      put(loss, 0, r0, rows);
      spliced.forEach((s, i) => {
        model.unembedRows(s, { first: r0, count: rows, out: q });
        klDiv(gpu, p, q, { out: kl, targets: t, loss });
        put(loss, 1 + 2 * i, r0, rows);
        put(kl, 2 + 2 * i, r0, rows);
      });
    }
    return await out.read();
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Apply `replace` to `act [B, T, w]`, then put back position 0 of every window as it was. */
function keepFirst(act: Tensor<"f32">, replace: Replacement): Tensor<"f32"> {
  const gpu = act.gpu;
  const [batch, seq, w] = act.shape;
  using first = gpu.empty([batch, w], "f32", "spliced.first"); // [B, w]
  const enc = gpu.encoder();
  for (let b = 0; b < batch; b++) enc.copyBufferToBuffer(act.buffer, b * seq * w * 4, first.buffer, b * w * 4, w * 4);
  const r = replace(act);
  const same = r?.shape?.length === 3 && r.shape.every((d, i) => d === act.shape[i]);
  if (!same || r.dtype !== "f32" || r.gpu !== gpu || r.disposed) return r; // the model rejects it, saying why
  const enc2 = gpu.encoder();
  for (let b = 0; b < batch; b++) enc2.copyBufferToBuffer(first.buffer, b * w * 4, r.buffer, b * seq * w * 4, w * 4);
  return r;
}
