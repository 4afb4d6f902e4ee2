/**
 * N-gram baselines a pretrained model must beat: a unigram model with add-one
 * smoothing, and an interpolated Witten–Bell bigram model that backs off to
 * that unigram. Both are fitted on training token sequences and scored on
 * the same (previous, next) pairs the language model predicts.
 *
 * @module
 */

/** Next-token predictions to score: `targets[i]` follows `previous[i]`. */
export interface TokenPairs {
  /** `[N]` the token before each target. */
  previous: Int32Array;
  /** `[N]` the target tokens. */
  targets: Int32Array;
}

/** Mean held-out cross-entropies (nats per token) of the two baselines. */
export interface NgramScores {
  /** Add-one smoothed unigram. */
  unigram: number;
  /** Interpolated Witten–Bell bigram over the add-one unigram. */
  bigram: number;
  /** Number of scored predictions. */
  count: number;
}

/**
 * Fit the unigram and bigram models on training pairs and score held-out pairs.
 *
 * Unigram: `p(w) = (c(w) + 1) / (N + V)`. Bigram (Witten–Bell):
 * `p(w | v) = (c(v, w) + n(v) · p(w)) / (c(v) + n(v))` where `n(v)` counts the
 * distinct successors of `v`; an unseen `v` falls back to `p(w)`.
 *
 * @param train Training pairs.
 * @param heldOut Held-out pairs.
 * @param options `vocabSize`: ids are in `0 … vocabSize−1`.
 * @returns Mean negative log-likelihoods in nats.
 * @throws {RangeError} For an id outside the vocabulary or no held-out pairs.
 * @example
 * ```ts
 * import { ngramBaselines } from "@saelab/pretrain";
 * const pairs = { previous: Int32Array.from([0, 1, 0, 1]), targets: Int32Array.from([1, 0, 1, 0]) };
 * const s = ngramBaselines(pairs, pairs, { vocabSize: 2 });
 * console.log(s.bigram < s.unigram); // true
 * ```
 */
export function ngramBaselines(
  train: TokenPairs,
  heldOut: TokenPairs,
  options: { vocabSize: number },
): NgramScores {
  const v = options.vocabSize;
  if (heldOut.targets.length === 0) throw new RangeError("Cannot score the n-gram baselines: no held-out pairs");
  for (const p of [train, heldOut]) {
    for (const arr of [p.previous, p.targets]) {
      for (const id of arr) {
        if (id < 0 || id >= v) {
          throw new RangeError(`Cannot fit the n-gram baselines: id ${id} is outside 0 … ${v - 1}`);
        }
      }
    }
  }
  const uni = new Float64Array(v);
  const ctx = new Float64Array(v);
  const pairs = new Map<number, number>();
  for (let i = 0; i < train.targets.length; i++) {
    const a = train.previous[i], b = train.targets[i];
    uni[b]++;
    ctx[a]++;
    const key = a * v + b;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const successors = new Float64Array(v);
  for (const key of pairs.keys()) successors[Math.floor(key / v)]++;
  const n = train.targets.length;
  let u = 0, b = 0;
  for (let i = 0; i < heldOut.targets.length; i++) {
    const prev = heldOut.previous[i], w = heldOut.targets[i];
    const pu = (uni[w] + 1) / (n + v);
    u -= Math.log(pu);
    const c = ctx[prev], t = successors[prev];
    const pb = c === 0 ? pu : ((pairs.get(prev * v + w) ?? 0) + t * pu) / (c + t);
    b -= Math.log(pb);
  }
  const count = heldOut.targets.length;
  return { unigram: u / count, bigram: b / count, count };
}

/**
 * The (previous, next) pairs a causal model predicts inside windows: positions `1 … T−1` of each.
 *
 * @param windows Flat `[W, T]` token ids.
 * @param contextLength `T`.
 * @returns The pairs, window by window.
 * @example
 * ```ts
 * import { windowPairs } from "@saelab/pretrain";
 * console.log(windowPairs(Int32Array.from([5, 6, 7]), 3).targets); // Int32Array(2) [6, 7]
 * ```
 */
export function windowPairs(windows: Int32Array, contextLength: number): TokenPairs {
  const count = windows.length / contextLength;
  if (!Number.isInteger(count) || contextLength < 2) {
    throw new RangeError(`Cannot pair tokens: ${windows.length} ids do not make windows of ${contextLength} (≥ 2)`);
  }
  const per = contextLength - 1;
  const previous = new Int32Array(count * per), targets = new Int32Array(count * per);
  for (let w = 0; w < count; w++) {
    for (let t = 0; t < per; t++) {
      previous[w * per + t] = windows[w * contextLength + t];
      targets[w * per + t] = windows[w * contextLength + t + 1];
    }
  }
  return { previous, targets };
}
