/**
 * How well any {@linkcode Dictionary} (SAEs and baselines alike) reconstructs held-out rows, on the GPU:
 * mean squared error, fraction of variance unexplained, L0, the fraction
 * of features that never fire (with the smallest firing density the rows can resolve) and the
 * fraction that fire on more than {@linkcode DENSE_DENSITY} of the rows — the reconstruction fields of a
 * run's `eval.json`.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import { nonzeroCount, squaredError } from "@saelab/kernels";
import type { DictEval } from "@saelab/runs";
import type { Dictionary } from "./dictionary.ts";

/** A feature firing on more than this fraction of the rows counts as dense. */
export const DENSE_DENSITY = 0.1;

/** Options of {@linkcode evaluateDictionary}. */
export interface EvaluateOptions {
  /** Stop after this many rows. Default: all. */
  maxRows?: number;
  /** Stops between batches with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Evaluate a dictionary on row batches.
 *
 * @param dict The dictionary (on its GPU).
 * @param options Held-out row batches `[rows, dIn]` (an array or an async iterable), row limit, abort signal.
 * @returns `eval.json` fields (`kind` is `"sae"` when `dict.kind` is, else `"baseline"`; `method` is `dict.kind`).
 * @throws {RangeError} When no rows are given.
 * @example
 * ```ts ignore
 * import { evaluateDictionary } from "@saelab/dictionary";
 * using bound = pcaDict.bind(gpu);
 * const ev = await evaluateDictionary(bound, { batches: heldOut });
 * console.log(ev.fvu, ev.l0);
 * ```
 */
export async function evaluateDictionary(
  dict: Dictionary,
  options: EvaluateOptions & { batches: Iterable<Float32Array> | AsyncIterable<Float32Array> },
): Promise<DictEval> {
  const d = dict.dIn, gpu = dict.gpu;
  const sum = new Float64Array(d), sq = new Float64Array(d);
  const counts = gpu.zeros([dict.dDict], "f32", "eval.counts");
  const losses: { loss: Tensor<"f32">; size: number }[] = [];
  let rows = 0;
  const maxRows = options.maxRows ?? Infinity;
  try {
    for await (const batch of options.batches) {
      options.signal?.throwIfAborted();
      const take = Math.min(batch.length / d, maxRows - rows);
      if (take <= 0) break;
      const x = batch.subarray(0, take * d);
      for (let e = 0; e < x.length; e++) {
        sum[e % d] += x[e];
        sq[e % d] += x[e] * x[e];
      }
      using xt = gpu.upload(x, [take, d], "eval.x"); // [B, d]
      using c = dict.encode(xt); // [B, dDict]
      using xh = dict.decode(c); // [B, d]
      nonzeroCount(gpu, c, { accumulate: counts });
      const { loss, grad } = squaredError(gpu, xh, xt, { grad: xh });
      void grad;
      losses.push({ loss, size: x.length });
      rows += take;
      if (rows >= maxRows) break;
    }
    if (rows === 0) throw new RangeError(`Cannot evaluate ${dict.name}: no rows were given`);
    let se = 0;
    for (const { loss, size } of losses) se += (await loss.read())[0] * size;
    const nnz = await counts.read();
    let total = 0, dead = 0, dense = 0;
    for (const n of nnz) {
      total += n;
      if (n === 0) dead++;
      if (n > DENSE_DENSITY * rows) dense++;
    }
    let variance = 0;
    for (let i = 0; i < d; i++) variance += sq[i] - (sum[i] * sum[i]) / rows;
    return {
      kind: dict.kind === "sae" ? "sae" : "baseline",
      method: dict.kind,
      dIn: d,
      dSae: dict.dDict,
      fvu: variance > 0 ? se / variance : 0,
      mse: se / (rows * d),
      l0: total / rows,
      deadFraction: dead / dict.dDict,
      deadResolution: 1 / rows,
      denseFraction: dense / dict.dDict,
      tokens: rows,
    };
  } finally {
    counts.dispose();
    for (const l of losses) l.loss.dispose();
  }
}
