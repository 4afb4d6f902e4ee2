/**
 * Fused, bias-corrected Adam / AdamW update, in place:
 *
 * ```
 * m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
 * p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε) − lr·wd·p
 * ```
 *
 * Bindings: `param`, `grad`, `m`, `v`, uniforms `{ n, lr, b1, c1, b2, c2, ibc1, ibc2, eps, lrwd }`
 * (the step-dependent factors are computed on the host in float64). Workgroup size 256;
 * `vec4` loads when the buffers allow.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, type MapVariant, runMap } from "./_map.ts";
import { checkNumber, checkSameShape, checkTensor } from "./_util.ts";

/** The tensors Adam updates: a parameter, its gradient and the two moment estimates. */
export interface AdamState {
  /** Parameter, updated in place. */
  param: Tensor<"f32">;
  /** Gradient, shaped like `param`. */
  grad: Tensor<"f32">;
  /** First moment, updated in place (start at zeros). */
  m: Tensor<"f32">;
  /** Second moment, updated in place (start at zeros). */
  v: Tensor<"f32">;
}

/** Hyper-parameters of one Adam step. */
export interface AdamOptions {
  /** Learning rate. */
  lr: number;
  /** Decay of the first moment, in [0, 1). */
  beta1: number;
  /** Decay of the second moment, in [0, 1). */
  beta2: number;
  /** Added to the root of the second moment. */
  eps: number;
  /** 1-based step number, for the bias correction. */
  step: number;
  /** Decoupled (AdamW) weight decay. Default 0. */
  weightDecay?: number;
  /** `"vec4"` (default when possible) or `"scalar"` loads. */
  variant?: MapVariant;
}

/** @internal The map of {@linkcode adam} (benchmarks run it with other tunings). */
export const ADAM: MapSpec = {
  name: "adam",
  operands: [
    { name: "p", access: "readwrite" },
    { name: "g", access: "read" },
    { name: "m", access: "readwrite" },
    { name: "v", access: "readwrite" },
  ],
  params: ["lr", "b1", "c1", "b2", "c2", "ibc1", "ibc2", "eps", "lrwd"],
  body: `m = u.b1 * m + u.c1 * g;
    v = u.b2 * v + u.c2 * g * g;
    p = p - u.lr * (m * u.ibc1) / (sqrt(v * u.ibc2) + u.eps) - u.lrwd * p;`,
};

/**
 * One fused Adam (or AdamW, with `weightDecay`) step, updating `param`, `m` and `v` in place.
 *
 * @param gpu The GPU context.
 * @param state `param`, `grad`, `m`, `v`, all of one shape.
 * @param options Hyper-parameters and the 1-based `step`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { adam } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const param = gpu.upload(new Float32Array([1, 2]), [2]);
 * const grad = gpu.upload(new Float32Array([0.5, -1]), [2]);
 * const m = gpu.zeros([2]), v = gpu.zeros([2]);
 * adam(gpu, { param, grad, m, v }, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
 * console.log(await param.read()); // ≈ [0.999, 2.001]
 * ```
 */
export function adam(gpu: Gpu, state: AdamState, options: AdamOptions): void {
  const k = "adam";
  if (typeof state !== "object" || state === null) {
    throw new TypeError("Cannot run adam: state must be { param, grad, m, v }");
  }
  const param = checkTensor(gpu, k, "param", state.param);
  for (const name of ["grad", "m", "v"] as const) {
    checkSameShape(k, ["param", name], param, checkTensor(gpu, k, name, state[name]));
  }
  const params = adamParams(options);
  runMap(gpu, ADAM, {
    tensors: { p: param, g: state.grad, m: state.m, v: state.v },
    params,
    variant: options.variant,
  });
}

/**
 * @internal Checked hyper-parameters → the uniforms of {@linkcode ADAM}, step factors in float64.
 *
 * @param options Hyper-parameters of one step.
 * @returns Values of the map's parameters.
 */
export function adamParams(options: AdamOptions): Record<string, number> {
  const k = "adam";
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot run adam: options { lr, beta1, beta2, eps, step } are required");
  }
  const lr = checkNumber(k, "lr", options.lr);
  const beta1 = checkNumber(k, "beta1", options.beta1);
  const beta2 = checkNumber(k, "beta2", options.beta2);
  const eps = checkNumber(k, "eps", options.eps);
  const step = checkNumber(k, "step", options.step, { integer: true });
  const wd = checkNumber(k, "weightDecay", options.weightDecay ?? 0);
  for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
    if (b < 0 || b >= 1) throw new RangeError(`Cannot run adam: ${name} must be in [0, 1), got ${b}`);
  }
  if (step < 1) throw new RangeError(`Cannot run adam: step counts from 1, got ${step}`);
  if (eps < 0 || wd < 0) throw new RangeError(`Cannot run adam: eps and weightDecay must be ≥ 0`);
  return {
    lr,
    b1: beta1,
    c1: 1 - beta1,
    b2: beta2,
    c2: 1 - beta2,
    ibc1: 1 / (1 - beta1 ** step),
    ibc2: 1 / (1 - beta2 ** step),
    eps,
    lrwd: lr * wd,
  };
}
