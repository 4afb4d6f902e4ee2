/**
 * The inference codes of SAEs that learn thresholds (BatchTopK exported as JumpReLU):
 * `c_bj = p_bj · [p_bj > θ_j]` on a matrix `P [rows, n]` with one threshold per column.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkTensor, dispatchLinear, fmtShape, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;

const JUMP_RELU = perItemProgram({
  name: "sae_batch_threshold",
  wg: WG,
  buffers: [["x", "read", "f32"], ["t", "read", "f32"], ["y", "read_write", "f32"]],
  uniforms: "cols: u32",
  body: `let v = x[i];
  y[i] = select(0.0, v, v > t[i % u.cols]);`,
});

/**
 * JumpReLU: keep `p_bj` where it exceeds its column's threshold `θ_j`, zero elsewhere.
 *
 * @param gpu The GPU context.
 * @param x Pre-activations `[rows, n]`.
 * @param threshold `θ [n]`.
 * @param options `out` `[rows, n]` (must not be `x`).
 * @returns The codes `[rows, n]`.
 * @throws {RangeError} When `threshold` does not hold one value per column of `x`, or `out` is `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { jumpReluCodes } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([0.5, 2, -1, 0.1]), [2, 2]);
 * const t = gpu.upload(new Float32Array([0.2, 1]), [2]);
 * console.log(await jumpReluCodes(gpu, x, t).read()); // [0.5, 2, 0, 0]
 * ```
 */
export function jumpReluCodes(
  gpu: Gpu,
  x: Tensor<"f32">,
  threshold: Tensor<"f32">,
  options: { out?: Tensor<"f32"> } = {},
): Tensor<"f32"> {
  checkTensor(gpu, "jumpReluCodes", "x", x, { rank: 2 });
  checkTensor(gpu, "jumpReluCodes", "threshold", threshold);
  const [rows, cols] = x.shape;
  if (threshold.size !== cols) {
    throw new RangeError(
      `Cannot run jumpReluCodes: threshold ${fmtShape(threshold.shape)} must hold one value per column of x ` +
        fmtShape(x.shape),
    );
  }
  const y = outTensor(gpu, "jumpReluCodes", options.out, x.shape);
  if (y.buffer === x.buffer) throw new RangeError("Cannot run jumpReluCodes: out must not be x");
  dispatchLinear(gpu, JUMP_RELU, {
    bindings: [x, threshold, y],
    uniforms: new Uniforms().u32(rows * cols).u32(cols),
    count: rows * cols,
    wg: WG,
  });
  return y;
}
