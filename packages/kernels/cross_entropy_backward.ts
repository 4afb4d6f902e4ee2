/**
 * Backward pass of softmax cross-entropy (`cross_entropy.ts`) with a mean over rows:
 * `dlogits[n, v] = scale · (exp(logits[n, v] − lse[n]) − [v = target[n]])`, and 0 on
 * rows whose target is negative (ignored). `scale` is usually `1 / (rows counted)`.
 *
 * Bindings: `logits` (read-write when `out` is `logits`, in place), `targets` (i32),
 * `lse` (from the forward's `lse` option), `out`, uniforms `{ n, vocab, scale }` (`n` = N·V).
 * One invocation per element; workgroup size 256.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, fmtShape, outTensor, Uniforms } from "./_util.ts";
import { dispatchPerItem } from "./_wgsl.ts";
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
  const total = rows * vocab;
  dispatchPerItem(gpu, {
    name: "cross_entropy_backward",
    wg: WG,
    operands: [
      { name: "logits", tensor: logits, access: "read" },
      { name: "targets", tensor: targets, access: "read" },
      { name: "lse", tensor: lse, access: "read" },
      { name: "out", tensor: out, access: "write" },
    ],
    elementType: (n) => (n === "targets" ? "i32" : "f32"),
    uniforms: "vocab: u32, scale: f32",
    body: `let n = i / u.vocab;
  let t = $targets[n];
  var g = 0.0;
  if (t >= 0) {
    g = exp($logits[i] - $lse[n]) - select(0.0, 1.0, u32(t) == i % u.vocab);
  }
  $out[i] = u.scale * g;`,
  }, { uniforms: new Uniforms().u32(total).u32(vocab).f32(scale), count: total });
  return out;
}
