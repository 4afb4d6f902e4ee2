/**
 * Index gathers of activations:
 *
 * - `gather_cols`: `out[r, s] = acts[r, cols[s]]`; bindings `acts`, `cols` (u32), `out`, uniforms
 *   `{ n, width, selected }`.
 * - `gather_pairs`: the `len` per-token activations of (fragment, column, slot) triples into
 *   `out [slots, len]`; bindings `acts`, `pairs` (u32), `out`, uniforms `{ n, len, width }`.
 *
 * One invocation per output element, workgroup size 64 over a 2-D grid.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchLinear, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;

const GATHER_COLS = perItemProgram({
  name: "gather_cols",
  wg: WG,
  buffers: [["acts", "read", "f32"], ["cols", "read", "u32"], ["out", "read_write", "f32"]],
  uniforms: "width: u32, selected: u32",
  body: `out[i] = acts[(i / u.selected) * u.width + cols[i % u.selected]];`,
});

const GATHER_PAIRS = perItemProgram({
  name: "gather_pairs",
  wg: WG,
  buffers: [["acts", "read", "f32"], ["pairs", "read", "u32"], ["out", "read_write", "f32"]],
  uniforms: "len: u32, width: u32",
  body: `let p = i / u.len;
  let t = i % u.len;
  let frag = pairs[3u * p];
  let col = pairs[3u * p + 1u];
  let slot = pairs[3u * p + 2u];
  out[slot * u.len + t] = acts[(frag * u.len + t) * u.width + col];`,
});

/** Options of {@linkcode gatherCols}. */
export interface GatherColsOptions {
  /** Rows of `acts`. */
  rows: number;
  /** Columns of `acts`. */
  width: number;
  /** The column indices, `[S]` (u32). */
  cols: Binding;
  /** `S`. */
  selected: number;
  /** The result, `[rows, S]`. */
  out: Binding;
}

/**
 * `out [rows, S] = acts [rows, width][:, cols]`.
 *
 * @param gpu The GPU context.
 * @param acts The activations, `[rows, width]`.
 * @param options Sizes, the column indices and the output.
 * @returns Nothing; `out` is written in queue order.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { gatherCols } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const acts = gpu.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const out = gpu.zeros([2, 1]);
 * gatherCols(gpu, acts, { rows: 2, width: 2, cols: gpu.upload(new Uint32Array([1]), [1]), selected: 1, out });
 * console.log(await out.read()); // [2, 4]
 * ```
 */
export function gatherCols(gpu: Gpu, acts: Binding, options: GatherColsOptions): void {
  const count = options.rows * options.selected;
  if (count === 0) return;
  dispatchLinear(gpu, GATHER_COLS, {
    bindings: [acts, options.cols, options.out],
    uniforms: new Uniforms().u32(count).u32(options.width).u32(options.selected),
    count,
    wg: WG,
  });
}

/** Options of {@linkcode gatherPairs}. */
export interface GatherPairsOptions {
  /** `(fragment, column, slot)` triples, `[count · 3]` (u32). */
  pairs: Binding;
  /** Number of triples. */
  count: number;
  /** Tokens per fragment. */
  len: number;
  /** Columns of `acts`. */
  width: number;
  /** The result, `[slots, len]`. */
  out: Binding;
}

/**
 * Copy the `len` activations of each (fragment, column, slot) triple of `pairs` from
 * `acts [frags · len, width]` into row `slot` of `out`.
 *
 * @param gpu The GPU context.
 * @param acts The activations, `[frags · len, width]`.
 * @param options The triples, sizes and the output.
 * @returns Nothing; `out` is written in queue order.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { gatherPairs } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const acts = gpu.upload(new Float32Array([1, 2, 3, 4]), [2, 2]); // one fragment of two tokens
 * const out = gpu.zeros([1, 2]);
 * const pairs = gpu.upload(new Uint32Array([0, 1, 0]), [3]);
 * gatherPairs(gpu, acts, { pairs, count: 1, len: 2, width: 2, out });
 * console.log(await out.read()); // [2, 4]
 * ```
 */
export function gatherPairs(gpu: Gpu, acts: Binding, options: GatherPairsOptions): void {
  const count = options.count * options.len;
  if (count === 0) return;
  dispatchLinear(gpu, GATHER_PAIRS, {
    bindings: [acts, options.pairs, options.out],
    uniforms: new Uniforms().u32(count).u32(options.len).u32(options.width),
    count,
    wg: WG,
  });
}
