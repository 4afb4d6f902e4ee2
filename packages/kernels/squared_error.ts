/**
 * Mean squared error `mean((pred − target)²)` over all elements and its
 * gradient `2·(pred − target)/N`, in one pass that writes the gradient and
 * per-chunk partial sums, followed by chunked reductions (`_reduce.ts`).
 *
 * Bindings: `pred`, `target`, `grad`, `partial` (`pred` left out when `grad` overwrites it), uniforms `{ n, gscale }`.
 * Workgroup size 64; each invocation handles 256 consecutive elements.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { CHUNK, reduceRows } from "./_reduce.ts";
import {
  checkSameShape,
  checkTensor,
  dispatchLinear,
  fmtShape,
  GRID_ARGS,
  LINEAR_ID,
  outTensor,
  Uniforms,
} from "./_util.ts";

const WG = 64;

/** `inPlace`: the gradient overwrites `pred`, bound once, read-write. */
function program(inPlace: boolean): Program {
  const bindings = inPlace
    ? ["var<storage, read> tgt", "var<storage, read_write> grad"]
    : ["var<storage, read> pred", "var<storage, read> tgt", "var<storage, read_write> grad"];
  bindings.push("var<storage, read_write> partial");
  return {
    name: inPlace ? "squared_error_in_place" : "squared_error",
    key: `wg${WG}|chunk${CHUNK}`,
    code: () => `
${bindings.map((b, i) => `@group(0) @binding(${i}) ${b}: array<f32>;`).join("\n")}
struct U { n: u32, gscale: f32 }
@group(0) @binding(${bindings.length}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let t = ${LINEAR_ID(WG)};
  let start = t * ${CHUNK}u;
  if (start >= u.n) { return; }
  let end = min(u.n, start + ${CHUNK}u);
  var s = 0.0;
  for (var i = start; i < end; i++) {
    let d = ${inPlace ? "grad" : "pred"}[i] - tgt[i];
    grad[i] = u.gscale * d;
    s += d * d;
  }
  partial[t] = s;
}`,
  };
}

const SQUARED_ERROR = program(false);
const IN_PLACE = program(true);

/** Options of {@linkcode squaredError}. */
export interface SquaredErrorOptions {
  /** Write the loss here ([1]) instead of a new tensor. */
  loss?: Tensor<"f32">;
  /** Write the gradient here (shaped like `pred`; may be `pred`) instead of a new tensor. */
  grad?: Tensor<"f32">;
}

/** Loss and gradient of {@linkcode squaredError}. */
export interface SquaredErrorResult {
  /** `mean((pred − target)²)`, shape [1]. */
  loss: Tensor<"f32">;
  /** `2·(pred − target)/N`, shaped like `pred`. */
  grad: Tensor<"f32">;
}

/**
 * Mean squared error over all elements and its gradient with respect to `pred`.
 *
 * @param gpu The GPU context.
 * @param pred Predictions, any shape.
 * @param target Targets, shaped like `pred`.
 * @param options Output tensors to reuse.
 * @returns `{ loss [1], grad }`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { squaredError } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const pred = gpu.upload(new Float32Array([1, 3]), [2]);
 * const target = gpu.upload(new Float32Array([0, 0]), [2]);
 * const { loss, grad } = squaredError(gpu, pred, target);
 * console.log(await loss.read(), await grad.read()); // [5] [1, 3]
 * ```
 */
export function squaredError(
  gpu: Gpu,
  pred: Tensor<"f32">,
  target: Tensor<"f32">,
  options: SquaredErrorOptions = {},
): SquaredErrorResult {
  const k = "squaredError";
  checkTensor(gpu, k, "pred", pred);
  checkTensor(gpu, k, "target", target);
  checkSameShape(k, ["pred", "target"], pred, target);
  const n = pred.size;
  if (n === 0) throw new RangeError(`Cannot run squaredError: pred ${fmtShape(pred.shape)} is empty`);
  const grad = outTensor(gpu, k, options.grad, pred.shape, { name: "grad" });
  if (grad.buffer === target.buffer) throw new RangeError("Cannot run squaredError: grad must not be target");
  const loss = outTensor(gpu, k, options.loss, [1], { name: "loss" });
  if ([pred, target, grad].some((t) => t.buffer === loss.buffer)) {
    throw new RangeError("Cannot run squaredError: loss must be a tensor of its own");
  }
  const chunks = Math.ceil(n / CHUNK);
  using partial = gpu.empty([chunks], "f32", "squared_error.partial"); // [⌈N/CHUNK⌉] sums of squares
  // pred and grad may be one tensor: bind it once, read-write
  const inPlace = grad.buffer === pred.buffer;
  dispatchLinear(gpu, inPlace ? IN_PLACE : SQUARED_ERROR, {
    bindings: inPlace ? [target, grad, partial] : [pred, target, grad, partial],
    uniforms: new Uniforms().u32(n).f32(2 / n),
    count: chunks,
    wg: WG,
  });
  reduceRows(gpu, partial, loss, { rows: chunks, cols: 1 }, { scale: 1 / n });
  return { loss, grad };
}
