/**
 * Backward pass of LayerNorm (`layer_norm.ts`). With `x̂ = (x − mean)·rstd` and `g = dy·weight`:
 *
 * ```
 * dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))      dweight = Σ_rows dy·x̂      dbias = Σ_rows dy
 * ```
 *
 * Two kernels, no atomics. `layer_norm_backward_rows`: one workgroup of 64 per row
 * recomputes mean and rstd (two passes, as the forward), writes `dx` (or adds it to
 * `dx` with `accumulate`) and the row's `(mean, rstd)` to a scratch `[rows, 2]`; on CPU
 * software adapters one invocation per row adds the same numbers in the same order without
 * barriers (`rowFrame` of `_wgsl.ts`).
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
import { checkRowMode, perItemProgram, rowFrame, type RowMode, rowMode } from "./_wgsl.ts";

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
  /**
   * A workgroup per row or an invocation per row for `dx` (bit-identical results). Default: an
   * invocation per row on CPU software adapters (rows of up to 4096), a workgroup per row elsewhere.
   */
  mode?: RowMode;
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

function rowsProgram(mode: RowMode): Program {
  const f = rowFrame(mode, WG);
  return {
    name: "layer_norm_backward_rows",
    key: `wg${WG}|${mode}`,
    code: () => `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
struct U { rows: u32, width: u32, eps: f32, accumulate: u32 }
@group(0) @binding(5) var<uniform> u: U;
${f.decls}

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  ${f.row}
  let o = row * u.width;
  let n = f32(u.width);
  ${f.sums("u.width", [{ name: "s", term: "x[o + i]" }])}
  let mean = s / n;
  ${f.sums("u.width", [{ name: "q", term: "d * d" }], "let d = x[o + i] - mean;")}
  let rstd = inverseSqrt(q / n + u.eps);
  ${
      f.sums(
        "u.width",
        [{ name: "sg", term: "g" }, { name: "sgx", term: "g * (x[o + i] - mean) * rstd" }],
        "let g = dy[o + i] * w[i];",
      )
    }
  let mg = sg / n;
  let mgx = sgx / n;
  ${f.each("u.width")}
    let xh = (x[o + i] - mean) * rstd;
    let v = rstd * (dy[o + i] * w[i] - mg - xh * mgx);
    dx[o + i] = select(v, dx[o + i] + v, u.accumulate != 0u);
  }
  if (${f.leader}) {
    stats[2u * row] = mean;
    stats[2u * row + 1u] = rstd;
  }
}`,
  };
}

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
  const mode = checkRowMode(k, options.mode) ?? rowMode(gpu, width);
  gpu.dispatch(rowsProgram(mode), {
    bindings: [x, weight, dy, dx, stats],
    uniforms: new Uniforms().u32(rows).u32(width).f32(eps).u32(options.accumulate ? 1 : 0).bytes(),
    workgroups: grid(rowFrame(mode, WG).groups(rows)),
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
