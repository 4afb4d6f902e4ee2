/**
 * Backward pass of softmax cross-entropy (`cross_entropy.ts`) with a mean over rows:
 * `dlogits[n, v] = scale · (exp(logits[n, v] − lse[n]) − [v = target[n]])`, and 0 on
 * rows whose target is negative (ignored). `scale` is usually `1 / (rows counted)`.
 *
 * Bindings: `logits` (read-write when `out` is `logits`, in place), `targets` (i32),
 * `lse` (from the forward's `lse` option), `out`, uniforms `{ rows, width, scale }` (`width`:
 * the row in units of `vec4` when the vocabulary is a multiple of 4, else of `f32`).
 * One invocation per `vec4` (or element); workgroup size 256, workgroups along the row in x and one row
 * per workgroup in y (and z past 65,535 rows), so no invocation divides by the vocabulary
 * (integer division has no vector instruction on CPU adapters and dominated the kernel there).
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { bindOperands, checkNumber, checkTensor, fmtShape, MAX_GROUPS_X, outTensor, Uniforms } from "./_util.ts";
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
  // rows whose length is a multiple of 4 are read and written as vec4s
  const lanes = vocab % 4 === 0 ? 4 : 1;
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const bound = bindOperands(k, [
    { name: "logits", tensor: logits, access: "read" },
    { name: "targets", tensor: targets, access: "read" },
    { name: "lse", tensor: lse, access: "read" },
    { name: "out", tensor: out, access: "write" },
  ], { elementType: (n) => (n === "targets" ? "i32" : n === "lse" ? "f32" : T) });
  const $ = (name: string) => bound.ref(name);
  const cols = lanes === 4 ? "4u * c + vec4<u32>(0u, 1u, 2u, 3u)" : "c";
  const program: Program = {
    name: "cross_entropy_backward",
    key: `wg${WG}|x${lanes}|${bound.key}`,
    code: () => `
${bound.declarations}
struct U { rows: u32, width: u32, scale: f32 }
@group(0) @binding(${bound.buffers.length}) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.z * nwg.y + wid.y;
  let c = wid.x * ${WG}u + lid;
  if (n >= u.rows || c >= u.width) { return; }
  let i = n * u.width + c;
  let t = ${$("targets")}[n];
  var g = ${T}(0.0);
  if (t >= 0) {
    g = exp(${$("logits")}[i] - ${$("lse")}[n]) - select(${T}(0.0), ${T}(1.0), ${cols} == ${
      lanes === 4 ? "vec4<u32>(u32(t))" : "u32(t)"
    });
  }
  ${$("out")}[i] = u.scale * g;
}`,
  };
  if (rows === 0 || vocab === 0) return out;
  const rowGroups = Math.min(rows, MAX_GROUPS_X);
  gpu.dispatch(program, {
    bindings: bound.buffers,
    uniforms: new Uniforms().u32(rows).u32(vocab / lanes).f32(scale).bytes(),
    workgroups: [Math.ceil(vocab / lanes / WG), rowGroups, Math.ceil(rows / rowGroups)],
  });
  return out;
}
