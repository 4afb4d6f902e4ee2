/**
 * Column reductions without workgroup memory: a view `[R, n]` is summed over
 * its rows in chunks of {@linkcode CHUNK}, one invocation per (chunk, column),
 * into `[⌈R/CHUNK⌉, n]` partial sums, and again until one row is left. Chunked
 * summation keeps the float32 error near `log_CHUNK(R)` roundings of a
 * 256-term sum, and no pass needs shared memory (slow to compile on GL).
 *
 * Bindings: input, output (read-write), uniforms `{ rows, cols, scale, accumulate }`; the last
 * pass multiplies by `scale` and, when `accumulate` is 1, adds the previous contents of the output.
 * Workgroup size 64.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { dispatchLinear, GRID_ARGS, LINEAR_ID, Uniforms } from "./_util.ts";

/** Rows summed by one invocation. */
export const CHUNK = 256;
const WG = 64;

const REDUCE: Program = {
  name: "reduce_rows",
  key: `wg${WG}|chunk${CHUNK}`,
  code: () => `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct U { rows: u32, cols: u32, scale: f32, accumulate: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let t = ${LINEAR_ID(WG)};
  let chunks = max(1u, (u.rows + ${CHUNK - 1}u) / ${CHUNK}u);
  if (t >= chunks * u.cols) { return; }
  let p = t / u.cols;
  let j = t - p * u.cols;
  let end = min(u.rows, (p + 1u) * ${CHUNK}u);
  var s = 0.0;
  for (var r = p * ${CHUNK}u; r < end; r++) { s += x[r * u.cols + j]; }
  s *= u.scale;
  if (u.accumulate != 0u) { s += y[t]; }
  y[t] = s;
}`,
};

/** Options of {@linkcode reduceRows}. */
export interface ReduceOptions {
  /** Multiply the result by this. Default 1. */
  scale?: number;
  /** Add the result to the contents of `out` instead of overwriting them. */
  accumulate?: boolean;
}

/**
 * `out[j] = scale · Σ_r x[r, j]` (+ `out[j]`) for `x` viewed as `[rows, cols]`.
 * `out` must hold at least `cols` f32s and must not share a buffer with `x`.
 */
export function reduceRows(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  shape: { rows: number; cols: number },
  options: ReduceOptions = {},
): void {
  let { rows } = shape;
  const { cols } = shape;
  if (cols === 0) return;
  let src = x;
  const temps: Tensor[] = [];
  while (rows > CHUNK) {
    const chunks = Math.ceil(rows / CHUNK);
    const dst = gpu.empty([chunks, cols], "f32", "reduce_rows.partial"); // [⌈rows/CHUNK⌉, cols]
    temps.push(dst);
    pass(gpu, src, dst, rows, cols, 1, false);
    src = dst;
    rows = chunks;
  }
  pass(gpu, src, out, rows, cols, options.scale ?? 1, options.accumulate ?? false);
  for (const t of temps) t.dispose(); // reusable only after the submit that reads them
}

function pass(gpu: Gpu, x: Tensor, y: Tensor, rows: number, cols: number, scale: number, acc: boolean): void {
  const count = Math.max(1, Math.ceil(rows / CHUNK)) * cols;
  dispatchLinear(gpu, REDUCE, {
    bindings: [x, y],
    uniforms: new Uniforms().u32(rows).u32(cols).f32(scale).u32(acc ? 1 : 0),
    count,
    wg: WG,
  });
}
