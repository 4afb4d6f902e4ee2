/**
 * Gradient of the L1 sparsity penalty `alpha · mean_b Σ_j |c_bj|` of SAE codes:
 * `alpha · sign(c) / B`, optionally added to an existing gradient.
 *
 * Bindings: `c`, the gradient (read-write when accumulating), uniforms `{ n, s = alpha/B }`.
 * Workgroup size 256; `vec4` loads when the buffers allow.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, type MapVariant, runMap } from "./_map.ts";
import { checkNumber, checkSameShape, checkTensor, outTensor } from "./_util.ts";

/** Options of {@linkcode l1Grad}. */
export interface L1GradOptions {
  /** Penalty coefficient. */
  alpha: number;
  /** Add the gradient into this tensor (shaped like `c`) and return it. */
  accumulate?: Tensor<"f32">;
  /** Write the gradient here instead of a new tensor (not with `accumulate`). */
  out?: Tensor<"f32">;
  /** `"vec4"` (default when possible) or `"scalar"` loads. */
  variant?: MapVariant;
}

const SET: MapSpec = {
  name: "l1_grad",
  operands: [{ name: "c", access: "read" }, { name: "g", access: "write" }],
  params: ["s"],
  body: "g = u.s * sign(c);",
};

const ADD: MapSpec = {
  name: "l1_grad_accumulate",
  operands: [{ name: "c", access: "read" }, { name: "g", access: "readwrite" }],
  params: ["s"],
  body: "g = g + u.s * sign(c);",
};

/**
 * Gradient of `alpha · mean over rows of Σ_j |c_ij|` with respect to `c` [B, n]:
 * `alpha · sign(c) / B`, with `sign(0) = 0`.
 *
 * @param gpu The GPU context.
 * @param c Codes [B, n] (a rank-1 tensor counts as one row).
 * @param options `alpha`; `accumulate` to add into an existing gradient, or `out`.
 * @returns The gradient [B, n] (`accumulate` itself when given).
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { l1Grad } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const c = gpu.upload(new Float32Array([-2, 0, 3, 1]), [2, 2]);
 * console.log(await l1Grad(gpu, c, { alpha: 0.1 }).read()); // [-0.05, 0, 0.05, 0.05]
 * ```
 */
export function l1Grad(gpu: Gpu, c: Tensor<"f32">, options: L1GradOptions): Tensor<"f32"> {
  checkTensor(gpu, "l1Grad", "c", c);
  if (c.rank !== 1 && c.rank !== 2) {
    throw new RangeError(`Cannot run l1Grad: c must have rank 2 [B, n], got shape [${c.shape.join(", ")}]`);
  }
  const alpha = checkNumber("l1Grad", "alpha", options?.alpha);
  const rows = c.rank === 2 ? c.shape[0] : 1;
  const s = rows > 0 ? alpha / rows : 0;
  if (options.accumulate !== undefined) {
    if (options.out !== undefined && options.out !== options.accumulate) {
      throw new TypeError("Cannot run l1Grad: give either out or accumulate, not both");
    }
    const g = checkTensor(gpu, "l1Grad", "accumulate", options.accumulate);
    checkSameShape("l1Grad", ["c", "accumulate"], c, g);
    runMap(gpu, ADD, { tensors: { c, g }, params: { s }, variant: options.variant });
    return g;
  }
  const g = outTensor(gpu, "l1Grad", options.out, c.shape);
  runMap(gpu, SET, { tensors: { c, g }, params: { s }, variant: options.variant });
  return g;
}
