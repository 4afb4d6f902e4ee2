/**
 * Backward pass of LayerNorm (`layer_norm.ts`). With `x̂ = (x − mean)·rstd` and `g = dy·weight`:
 *
 * ```
 * dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))      dweight = Σ_rows dy·x̂      dbias = Σ_rows dy
 * ```
 *
 * Two kernels, no atomics. `layer_norm_backward_rows`: one workgroup of 64 per row
 * recomputes mean and rstd (two passes, as the forward), writes `dx` (or adds it to
 * `dx` with `accumulate`) and the row's `(mean, rstd)` to a scratch `[rows, 2]`.
 * `layer_norm_backward_cols`: one invocation per column walks the rows in order for
 * `dweight` and `dbias`, so each parameter gradient has one writer and a fixed
 * summation order. Bindings: `x`, `weight`, `dy`, `dx`, `stats`, uniforms
 * `{ rows, width, eps, accumulate }`; then `x`, `dy`, `stats`, `dweight`, `dbias`, uniforms `{ width, rows }`.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import {
  checkNumber,
  checkRows,
  checkSameShape,
  checkTensor,
  dispatchLinear,
  fmtShape,
  grid,
  GRID_ARGS,
  outTensor,
  Uniforms,
} from "./_util.ts";
import { perItemProgram, workgroupSum } from "./_wgsl.ts";

/** Options of {@linkcode layerNormBackward}. */
export interface LayerNormBackwardOptions {
  /** The forward gain `[D]`. */
  weight: Tensor<"f32">;
  /** The forward epsilon. Default 1e-5. */
  eps?: number;
  /** Write (or, with `accumulate`, add) the input gradient here, shaped like `x`. */
  dx?: Tensor<"f32">;
  /** Add into `dx` instead of overwriting it. Default false. */
  accumulate?: boolean;
  /** Write the gain gradient here `[D]`. Default: a new tensor. */
  dweight?: Tensor<"f32">;
  /** Write the shift gradient here `[D]`. Default: a new tensor. */
  dbias?: Tensor<"f32">;
}

/** Gradients of LayerNorm; the caller owns the tensors it did not pass in. */
export interface LayerNormGrads {
  /** Shaped like `x`. */
  dx: Tensor<"f32">;
  /** `[D]`. */
  dweight: Tensor<"f32">;
  /** `[D]`. */
  dbias: Tensor<"f32">;
}

const WG = 64;

const ROWS: Program = {
  name: "layer_norm_backward_rows",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
struct U { rows: u32, width: u32, eps: f32, accumulate: u32 }
@group(0) @binding(5) var<uniform> u: U;
${workgroupSum(WG)}

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let o = row * u.width;
  let n = f32(u.width);
  var s = 0.0;
  for (var i = lid; i < u.width; i += ${WG}u) { s += x[o + i]; }
  let mean = total(s, lid) / n;
  var q = 0.0;
  for (var i = lid; i < u.width; i += ${WG}u) { let d = x[o + i] - mean; q += d * d; }
  let rstd = inverseSqrt(total(q, lid) / n + u.eps);
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = lid; i < u.width; i += ${WG}u) {
    let g = dy[o + i] * w[i];
    sg += g;
    sgx += g * (x[o + i] - mean) * rstd;
  }
  let mg = total(sg, lid) / n;
  let mgx = total(sgx, lid) / n;
  for (var i = lid; i < u.width; i += ${WG}u) {
    let xh = (x[o + i] - mean) * rstd;
    let v = rstd * (dy[o + i] * w[i] - mg - xh * mgx);
    dx[o + i] = select(v, dx[o + i] + v, u.accumulate != 0u);
  }
  if (lid == 0u) {
    stats[2u * row] = mean;
    stats[2u * row + 1u] = rstd;
  }
}`,
};

/** One invocation per column `c < width` (the item count `n`). */
const COLS = perItemProgram({
  name: "layer_norm_backward_cols",
  wg: WG,
  buffers: [
    ["x", "read", "f32"],
    ["dy", "read", "f32"],
    ["stats", "read", "f32"],
    ["dw", "read_write", "f32"],
    ["db", "read_write", "f32"],
  ],
  uniforms: "rows: u32",
  body: `let c = i;
  let width = u.n;
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < u.rows; r++) {
    let g = dy[r * width + c];
    sw += g * (x[r * width + c] - stats[2u * r]) * stats[2u * r + 1u];
    sb += g;
  }
  dw[c] = sw;
  db[c] = sb;`,
});

/**
 * Gradients of `layerNorm(x, { weight, bias, eps })` given the output gradient `dy`.
 *
 * @param gpu The GPU context.
 * @param x The forward input `[..., D]`.
 * @param dy The gradient of the output, shaped like `x`.
 * @param options `weight`, `eps`, and where to write (`dx` with `accumulate`, `dweight`, `dbias`).
 * @returns `dx`, `dweight`, `dbias`.
 * @throws {RangeError} When shapes disagree or `dx` is `x` or `dy`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { layerNormBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 5]), [2, 2]);
 * const dy = gpu.upload(new Float32Array([1, 0, 0, 1]), [2, 2]);
 * const weight = gpu.upload(new Float32Array([1, 1]), [2]);
 * const { dx, dweight, dbias } = layerNormBackward(gpu, x, dy, { weight });
 * console.log(await dbias.read()); // [1, 1]
 * ```
 */
export function layerNormBackward(
  gpu: Gpu,
  x: Tensor<"f32">,
  dy: Tensor<"f32">,
  options: LayerNormBackwardOptions,
): LayerNormGrads {
  const k = "layerNormBackward";
  checkTensor(gpu, k, "x", x);
  checkTensor(gpu, k, "dy", dy);
  checkSameShape(k, ["x", "dy"], x, dy);
  const { rows, width } = checkRows(k, ["x", x]);
  const weight = checkTensor(gpu, k, "weight", options?.weight);
  if (weight.size !== width) {
    throw new RangeError(`Cannot run ${k}: weight ${fmtShape(weight.shape)} must have ${width} entries`);
  }
  const eps = checkNumber(k, "eps", options.eps ?? 1e-5);
  if (options.accumulate && options.dx === undefined) throw new TypeError(`Cannot run ${k}: accumulate needs dx`);
  const dx = outTensor(gpu, k, options.dx, x.shape, { name: "dx" });
  if (dx.buffer === x.buffer || dx.buffer === dy.buffer) {
    throw new RangeError(`Cannot run ${k}: dx must not be x or dy`);
  }
  const dweight = outTensor(gpu, k, options.dweight, [width], { name: "dweight" });
  const dbias = outTensor(gpu, k, options.dbias, [width], { name: "dbias" });
  const stats = gpu.empty([Math.max(rows, 1), 2], "f32", "layerNormBackward.stats");
  gpu.dispatch(ROWS, {
    bindings: [x, weight, dy, dx, stats],
    uniforms: new Uniforms().u32(rows).u32(width).f32(eps).u32(options.accumulate ? 1 : 0).bytes(),
    workgroups: grid(rows),
  });
  dispatchLinear(gpu, COLS, {
    bindings: [x, dy, stats, dweight, dbias],
    uniforms: new Uniforms().u32(width).u32(rows),
    count: width,
    wg: WG,
  });
  stats.dispose();
  return { dx, dweight, dbias };
}
