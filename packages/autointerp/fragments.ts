/**
 * Held-out text cut into fixed-length fragments (64 tokens in the protocol of
 * Bills et al.): rows are ordered by (document, position), runs of
 * consecutive positions of one document are cut into whole fragments (a
 * shorter tail is dropped), and a seeded subset is kept when there are more
 * than asked for. Activation rows travel with their fragments, so one matmul
 * over `x` gives every dictionary's activations on every fragment token.
 *
 * @module
 */
import type { RowBlock } from "@saelab/activations";
import { seededRandom, shuffleInPlace } from "@saelab/core";

/** Rows with their ids, as an activation store holds them. */
export type IdRows = RowBlock;

/** Fragments of held-out text and their activation rows. */
export interface FragmentSet {
  /** Tokens per fragment. */
  length: number;
  /** Number of fragments. */
  count: number;
  /** Activation width. */
  d: number;
  /** Activation rows, fragment after fragment `[count · length, d]`. */
  x: Float32Array;
  /** Token ids `[count · length]`. */
  token: Int32Array;
  /** Document number of each fragment `[count]`. */
  doc: Int32Array;
  /** Position of each fragment's first token in its document `[count]`. */
  start: Int32Array;
}

/** Options of {@linkcode buildFragments}. */
export interface FragmentOptions {
  /** Tokens per fragment. Default 64. */
  length?: number;
  /** Keep at most this many fragments (a seeded random subset, in document order). Default: all. */
  maxFragments?: number;
  /** Seed of the subset. Default 0. */
  seed?: number;
}

/**
 * Cut rows into fragments of consecutive tokens.
 *
 * @param rows Rows with (document, position, token) ids, in any order.
 * @param options Fragment length, count limit, seed.
 * @returns The fragments (possibly none, when no run is long enough).
 * @throws {RangeError} When the length is not a whole number ≥ 1 or the arrays disagree with `rows`.
 * @example
 * ```ts
 * import { buildFragments } from "@saelab/autointerp";
 * const n = 10;
 * const set = buildFragments({
 *   rows: n, d: 1, x: new Float32Array(n),
 *   doc: new Int32Array(n), pos: Int32Array.from({ length: n }, (_, i) => i), token: new Int32Array(n),
 * }, { length: 4 });
 * if (set.count !== 2 || set.start[1] !== 4) throw new Error("two fragments of four");
 * ```
 */
export function buildFragments(rows: IdRows, options: FragmentOptions = {}): FragmentSet {
  const L = options.length ?? 64;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`Cannot cut fragments of length ${L}`);
  const { d } = rows;
  for (
    const [name, arr, len] of [
      ["x", rows.x, rows.rows * d],
      ["doc", rows.doc, rows.rows],
      ["pos", rows.pos, rows.rows],
      ["token", rows.token, rows.rows],
    ] as const
  ) {
    if (arr.length < len) throw new RangeError(`Cannot cut fragments: ${name} holds ${arr.length} values, not ${len}`);
  }
  const order = Array.from({ length: rows.rows }, (_, i) => i);
  order.sort((a, b) => rows.doc[a] - rows.doc[b] || rows.pos[a] - rows.pos[b]);
  const starts: number[] = []; // index into order of each fragment's first row
  for (let i = 0; i < order.length;) {
    let j = i + 1;
    while (
      j < order.length && rows.doc[order[j]] === rows.doc[order[i]] &&
      rows.pos[order[j]] === rows.pos[order[j - 1]] + 1
    ) j++;
    for (let s = i; s + L <= j; s += L) starts.push(s);
    i = j;
  }
  let chosen = starts;
  const max = options.maxFragments ?? Infinity;
  if (starts.length > max) {
    const pick = shuffleInPlace(Array.from(starts.keys()), seededRandom(options.seed ?? 0)).slice(0, max);
    chosen = pick.sort((a, b) => a - b).map((i) => starts[i]);
  }
  const count = chosen.length;
  const out: FragmentSet = {
    length: L,
    count,
    d,
    x: new Float32Array(count * L * d),
    token: new Int32Array(count * L),
    doc: new Int32Array(count),
    start: new Int32Array(count),
  };
  chosen.forEach((s, f) => {
    out.doc[f] = rows.doc[order[s]];
    out.start[f] = rows.pos[order[s]];
    for (let t = 0; t < L; t++) {
      const r = order[s + t];
      out.token[f * L + t] = rows.token[r];
      out.x.set(rows.x.subarray(r * d, (r + 1) * d), (f * L + t) * d);
    }
  });
  return out;
}
