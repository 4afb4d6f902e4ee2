/**
 * Backward pass of softmax cross-entropy (`cross_entropy.ts`) with a mean over rows:
 * `dlogits[n, v] = scale · (exp(logits[n, v] − lse[n]) − [v = target[n]])`, and 0 on
 * rows whose target is negative (ignored). `scale` is usually `1 / (rows counted)`.
 *
 * Bindings: `logits` (read-write when `out` is `logits`, in place), `targets` (i32),
 * `lse` (from the forward's `lse` option), `out`, uniforms `{ total, vocab, scale }`.
 * One invocation per element; workgroup size 256.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import {
  bindOperands,
  checkNumber,
  checkTensor,
  fmtShape,
  grid,
  GRID_ARGS,
  LINEAR_ID,
  outTensor,
  Uniforms,
} from "./_util.ts";
import { checkLogitsTargets } from "./cross_entropy.ts";

/** Options of {@linkcode crossEntropyBackward}. */
export interface CrossEntropyBackwardOptions {
  /** Each row's log-sum-exp `[N]`, as written by `crossEntropy`'s `lse` option. */
  lse: Tensor<"f32">;
  /** Gradient of the loss with respect to each row's loss (the mean's `1/N`). */
  scale: number;
  /** Write here (shape of `logits`; may be `logits`) instead of a new tensor. */
  out?: Tensor<"f32">;
}

const WG = 256;

/**
 * Gradient of `scale · Σ_n loss[n]` with respect to the logits.
 *
 * @param gpu The GPU context.
 * @param logits `[N, V]` (or `[..., V]`).
 * @param targets `[N]` i32; negative ids mark ignored rows.
 * @param options `lse`, `scale`, `out` (may be `logits`).
 * @returns `[N, V]` shaped like `logits`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { crossEntropy, crossEntropyBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const logits = gpu.upload(new Float32Array([0, 0]), [1, 2]);
 * const targets = gpu.upload(new Int32Array([1]), [1]);
 * const lse = gpu.zeros([1]);
 * crossEntropy(gpu, logits, targets, { lse });
 * console.log(await crossEntropyBackward(gpu, logits, targets, { lse, scale: 1 }).read()); // [0.5, -0.5]
 * ```
 */
export function crossEntropyBackward(
  gpu: Gpu,
  logits: Tensor<"f32">,
  targets: Tensor<"i32">,
  options: CrossEntropyBackwardOptions,
): Tensor<"f32"> {
  const k = "crossEntropyBackward";
  const { vocab, rows } = checkLogitsTargets(gpu, k, [logits, targets]);
  const lse = checkTensor(gpu, k, "lse", options?.lse);
  if (lse.size !== rows) throw new RangeError(`Cannot run ${k}: lse ${fmtShape(lse.shape)} must have ${rows} entries`);
  const scale = checkNumber(k, "scale", options.scale);
  const out = outTensor(gpu, k, options.out, logits.shape);
  const bound = bindOperands(k, [
    { name: "logits", tensor: logits, access: "read" },
    { name: "targets", tensor: targets, access: "read" },
    { name: "lse", tensor: lse, access: "read" },
    { name: "out", tensor: out, access: "write" },
  ], { elementType: (n) => (n === "targets" ? "i32" : "f32") });
  const program: Program = {
    name: "cross_entropy_backward",
    key: bound.key,
    code: () => `
${bound.declarations}
struct U { total: u32, vocab: u32, scale: f32 }
@group(0) @binding(${bound.buffers.length}) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${LINEAR_ID(WG)};
  if (i >= u.total) { return; }
  let n = i / u.vocab;
  let t = ${bound.ref("targets")}[n];
  var g = 0.0;
  if (t >= 0) {
    g = exp(${bound.ref("logits")}[i] - ${bound.ref("lse")}[n]) - select(0.0, 1.0, u32(t) == i % u.vocab);
  }
  ${bound.ref("out")}[i] = u.scale * g;
}`,
  };
  const total = rows * vocab;
  gpu.dispatch(program, {
    bindings: bound.buffers,
    uniforms: new Uniforms().u32(total).u32(vocab).f32(scale).bytes(),
    workgroups: grid(Math.ceil(total / WG)),
  });
  return out;
}
