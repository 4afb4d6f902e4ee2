/**
 * Row-wise extremes of a wide matrix `x [rows, cols]`: the `k` largest positive entries (largest first) and
 * the `k` most negative ones (most negative first), each with its column, ties to the lower column; the row's
 * minimum and maximum; and an equal-width histogram over `[min, max]` (the maximum falls in the last bin; a
 * constant row uses `[min, min + 1]`). What a feature page needs of a decoder direction's logit effects over
 * the vocabulary, without reading the `[features, vocab]` matrix back.
 *
 * One invocation per row keeps both lists by insertion in private arrays (one pass), then counts the
 * histogram (a second pass). Bindings: `x`, `vals [rows, 2k]` (positive list, then negative),
 * `ids [rows, 2k]` (u32, `0xffffffff` for an empty slot), `range [rows, 2]` (min, max), `hist [rows, bins]`
 * (u32); uniforms `{ n: rows, cols, k, bins }`; workgroup size 64.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, dispatchLinear, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;
/** Largest `k` of {@linkcode rowExtremes}. */
export const ROW_EXTREMES_MAX_K = 32;
/** Largest bin count of {@linkcode rowExtremes}. */
export const ROW_EXTREMES_MAX_BINS = 64;
/** Marks an empty slot of the `ids` lists. */
export const NO_ID = 0xffffffff;

/** WGSL that inserts positive `value` (at column `j`) into a sorted private list of at most `u.k` entries. */
function insertWgsl(value: string, list: { vals: string; ids: string; count: string }): string {
  const { vals, ids, count } = list;
  return `if (${value} > 0.0 && (${count} < u.k || ${value} > ${vals}[${count} - 1u])) {
      var at = ${count};
      if (${count} < u.k) { ${count} += 1u; } else { at = u.k - 1u; }
      while (at > 0u && ${value} > ${vals}[at - 1u]) {
        ${vals}[at] = ${vals}[at - 1u];
        ${ids}[at] = ${ids}[at - 1u];
        at -= 1u;
      }
      ${vals}[at] = ${value};
      ${ids}[at] = j;
    }`;
}

const EXTREMES = perItemProgram({
  name: "row_extremes",
  key: `k${ROW_EXTREMES_MAX_K}|b${ROW_EXTREMES_MAX_BINS}`,
  wg: WG,
  buffers: [
    ["x", "read", "f32"],
    ["vals", "read_write", "f32"],
    ["ids", "read_write", "u32"],
    ["range", "read_write", "f32"],
    ["hist", "read_write", "u32"],
  ],
  uniforms: "cols: u32, k: u32, bins: u32",
  body: `let start = i * u.cols;
  var pv: array<f32, ${ROW_EXTREMES_MAX_K}>;
  var pi: array<u32, ${ROW_EXTREMES_MAX_K}>;
  var nv: array<f32, ${ROW_EXTREMES_MAX_K}>;
  var ni: array<u32, ${ROW_EXTREMES_MAX_K}>;
  var pc = 0u;
  var nc = 0u;
  var lo = x[start];
  var hi = lo;
  for (var j = 0u; j < u.cols; j++) {
    let v = x[start + j];
    lo = min(lo, v);
    hi = max(hi, v);
    // insertion keeps each list sorted; an equal value stays behind the earlier (lower) column
    ${insertWgsl("v", { vals: "pv", ids: "pi", count: "pc" })}
    let w = -v;
    ${insertWgsl("w", { vals: "nv", ids: "ni", count: "nc" })}
  }
  let out = i * 2u * u.k;
  for (var s = 0u; s < u.k; s++) {
    vals[out + s] = select(0.0, pv[s], s < pc);
    ids[out + s] = select(${NO_ID}u, pi[s], s < pc);
    vals[out + u.k + s] = select(0.0, -nv[s], s < nc);
    ids[out + u.k + s] = select(${NO_ID}u, ni[s], s < nc);
  }
  range[2u * i] = lo;
  range[2u * i + 1u] = hi;
  if (!(hi > lo)) { hi = lo + 1.0; }
  var h: array<u32, ${ROW_EXTREMES_MAX_BINS}>;
  let scale = f32(u.bins) / (hi - lo);
  for (var j = 0u; j < u.cols; j++) {
    let b = u32(max(floor((x[start + j] - lo) * scale), 0.0));
    h[min(b, u.bins - 1u)] += 1u;
  }
  for (var b = 0u; b < u.bins; b++) { hist[i * u.bins + b] = h[b]; }`,
});

/** Options of {@linkcode rowExtremes}. */
export interface RowExtremesOptions {
  /** Entries kept of each sign, 1 … {@linkcode ROW_EXTREMES_MAX_K}. */
  k: number;
  /** Histogram bins, 1 … {@linkcode ROW_EXTREMES_MAX_BINS}. */
  bins: number;
}

/** What {@linkcode rowExtremes} writes (new tensors, owned by the caller). */
export interface RowExtremes {
  /** `[rows, 2k]`: the positive list, largest first, then the negative list, most negative first (0 when empty). */
  vals: Tensor<"f32">;
  /** `[rows, 2k]` (u32): their columns, {@linkcode NO_ID} for an empty slot. */
  ids: Tensor<"u32">;
  /** `[rows, 2]`: each row's minimum and maximum. */
  range: Tensor<"f32">;
  /** `[rows, bins]` (u32): counts over `[min, max]` in equal-width bins. */
  hist: Tensor<"u32">;
}

/**
 * Each row's `k` largest positive and `k` most negative entries with their columns, its range and histogram.
 * The work is recorded into the pending command encoder; nothing waits on the GPU.
 *
 * @param gpu The GPU context.
 * @param x Matrix `[rows, cols]`, cols ≥ 1.
 * @param options `k` and `bins`.
 * @returns The lists, ranges and histograms (see {@linkcode RowExtremes}).
 * @throws {RangeError} When `x` is not a matrix with columns or `k`/`bins` are out of range.
 * @throws {TypeError} When `k` or `bins` is not an integer, or `x` is of another dtype or context.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { rowExtremes } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([3, -1, 5, 2]), [1, 4]);
 * const r = rowExtremes(gpu, x, { k: 2, bins: 2 });
 * console.log(await r.vals.read(), await r.ids.read()); // [5, 3, -1, 0] [2, 0, 1, 4294967295]
 * ```
 */
export function rowExtremes(gpu: Gpu, x: Tensor<"f32">, options: RowExtremesOptions): RowExtremes {
  checkTensor(gpu, "rowExtremes", "x", x, { rank: 2 });
  const { k, bins } = options;
  checkNumber("rowExtremes", "k", k, { integer: true });
  checkNumber("rowExtremes", "bins", bins, { integer: true });
  const [rows, cols] = x.shape;
  if (k < 1 || k > ROW_EXTREMES_MAX_K) {
    throw new RangeError(`Cannot run rowExtremes: k = ${k} must be between 1 and ${ROW_EXTREMES_MAX_K}`);
  }
  if (bins < 1 || bins > ROW_EXTREMES_MAX_BINS) {
    throw new RangeError(`Cannot run rowExtremes: bins = ${bins} must be between 1 and ${ROW_EXTREMES_MAX_BINS}`);
  }
  if (cols < 1) throw new RangeError("Cannot run rowExtremes: x has no columns");
  const out: RowExtremes = {
    vals: gpu.zeros([rows, 2 * k]),
    ids: gpu.zeros([rows, 2 * k], "u32"),
    range: gpu.zeros([rows, 2]),
    hist: gpu.zeros([rows, bins], "u32"),
  };
  if (rows === 0) return out;
  dispatchLinear(gpu, EXTREMES, {
    bindings: [x, out.vals, out.ids, out.range, out.hist],
    uniforms: new Uniforms().u32(rows).u32(cols).u32(k).u32(bins),
    count: rows,
    wg: WG,
  });
  return out;
}
