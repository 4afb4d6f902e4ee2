/**
 * LayerNorm over the last dimension: `y = (x − mean) / √(var + eps) · weight + bias`,
 * with the biased variance, as `torch.nn.LayerNorm`.
 *
 * Bindings: `x` [rows, D], `weight` [D], `bias` [D], `y` [rows, D], uniforms
 * `{ rows, width, eps }`. One workgroup of 64 invocations per row: a shared-memory
 * sum gives the mean, a second one the variance of the centred values (two passes,
 * so large means do not cancel), then each invocation writes its strided elements.
 * On CPU software adapters one invocation per row adds the same partial sums in the same
 * order without barriers (`rowFrame` of `_wgsl.ts`), so the result is bit-identical.
 * Rows whose width is a multiple of 4 are read as `vec4`s.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkRows, checkTensor, fmtShape, grid, GRID_ARGS, outTensor, Uniforms } from "./_util.ts";
import { checkRowMode, rowFrame, type RowMode, rowMode } from "./_wgsl.ts";

/** Options of {@linkcode layerNorm}. */
export interface LayerNormOptions {
  /** Gain `[D]`. */
  weight: Tensor<"f32">;
  /** Shift `[D]`. */
  bias: Tensor<"f32">;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Write here (shape of `x`, another tensor) instead of a new tensor. */
  out?: Tensor<"f32">;
  /**
   * A workgroup per row or an invocation per row (bit-identical results). Default: an invocation
   * per row on CPU software adapters (for rows of up to 4096 loads), a workgroup per row elsewhere.
   */
  mode?: RowMode;
}

const WG = 64;

/** Rows whose width is a multiple of 4 are read as `vec4`s (`lanes` 4). */
function program(lanes: 1 | 4, mode: RowMode): Program {
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const sum = lanes === 4 ? "dot(v, vec4<f32>(1.0))" : "v";
  const f = rowFrame(mode, WG);
  return {
    name: "layer_norm",
    key: `wg${WG}|x${lanes}|${mode}`,
    code: () => `
alias T = ${T};
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
struct U { rows: u32, width: u32, eps: f32 }
@group(0) @binding(4) var<uniform> u: U;
${f.decls}

fn hsum(v: T) -> f32 { return ${sum}; }

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  ${f.row}
  let n = u.width / ${lanes}u;
  let o = row * n;
  ${f.sums("n", [{ name: "s", term: "hsum(x[o + i])" }])}
  let mean = s / f32(u.width);
  ${f.sums("n", [{ name: "q", term: "hsum(d * d)" }], "let d = x[o + i] - mean;")}
  let inv = inverseSqrt(q / f32(u.width) + u.eps);
  ${f.each("n")} y[o + i] = (x[o + i] - mean) * inv * w[i] + b[i]; }
}`,
  };
}

/**
 * LayerNorm of every row of `x` over its last dimension.
 *
 * @param gpu The GPU context.
 * @param x Input `[..., D]`.
 * @param options `weight` and `bias` `[D]`, `eps`, `out`.
 * @returns The normalised tensor, shaped like `x`.
 * @throws {RangeError} When `weight` or `bias` do not have `D` entries.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { layerNorm } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const weight = gpu.upload(new Float32Array([1, 1]), [2]);
 * const bias = gpu.upload(new Float32Array([0, 0]), [2]);
 * console.log(await layerNorm(gpu, x, { weight, bias }).read()); // ≈ [-1, 1, -1, 1]
 * ```
 */
export function layerNorm(gpu: Gpu, x: Tensor<"f32">, options: LayerNormOptions): Tensor<"f32"> {
  const k = "layerNorm";
  checkTensor(gpu, k, "x", x);
  const { rows, width } = checkRows(k, ["x", x]);
  for (const name of ["weight", "bias"] as const) {
    const t = checkTensor(gpu, k, name, options?.[name]);
    if (t.size !== width) {
      throw new RangeError(
        `Cannot run ${k}: ${name} ${fmtShape(t.shape)} must have ${width} entries to match x ${fmtShape(x.shape)}`,
      );
    }
  }
  const eps = checkNumber(k, "eps", options.eps ?? 1e-5);
  const y = outTensor(gpu, k, options.out, x.shape);
  if (y.buffer === x.buffer) throw new RangeError(`Cannot run ${k}: out must not be x`);
  const lanes = width % 4 === 0 ? 4 : 1;
  const mode = checkRowMode(k, options.mode) ?? rowMode(gpu, width / lanes);
  gpu.dispatch(program(lanes, mode), {
    bindings: [x, options.weight, options.bias, y],
    uniforms: new Uniforms().u32(rows).u32(width).f32(eps).bytes(),
    workgroups: grid(rowFrame(mode, WG).groups(rows)),
  });
  return y;
}
