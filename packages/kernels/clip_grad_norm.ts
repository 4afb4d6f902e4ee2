/**
 * Global-norm gradient clipping without a round trip to the host:
 *
 * ```
 * norm = √(Σ_tensors Σ g²)      factor = min(1, maxNorm / (norm + 1e-6))      g ← factor · g
 * ```
 *
 * Three kernels: `sum_squares` (one workgroup of 256 per tensor writes its Σ g²
 * to a slot of a partials buffer), `clip_factor` (one invocation sums the slots in
 * order and writes `[norm, factor]`), `scale_by` (multiplies a tensor by the factor
 * read from that buffer). Deterministic: fixed summation orders, no atomics.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, fmtShape, grid, GRID_ARGS, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram, workgroupSum } from "./_wgsl.ts";

/** Options of {@linkcode clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Largest global norm kept; larger gradients are scaled down to it. */
  maxNorm: number;
  /** Write `[norm before clipping, factor applied]` here (`[2]`) instead of a new tensor. */
  out?: Tensor<"f32">;
}

const WG = 256;

const SUM_SQUARES: Program = {
  name: "sum_squares",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
struct U { n: u32, slot: u32 }
@group(0) @binding(2) var<uniform> u: U;
${workgroupSum(WG)}

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  var s = 0.0;
  for (var i = lid; i < u.n; i += ${WG}u) { s += x[i] * x[i]; }
  let t = total(s, lid);
  if (lid == 0u) { partials[u.slot] = t; }
}`,
};

const CLIP_FACTOR: Program = {
  name: "clip_factor",
  key: "v1",
  code: () => `
@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
struct U { n: u32, maxNorm: f32 }
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < u.n; i++) { s += partials[i]; }
  let norm = sqrt(s);
  stats[0] = norm;
  stats[1] = min(1.0, u.maxNorm / (norm + 1e-6));
}`,
};

const SCALE_BY = perItemProgram({
  name: "scale_by",
  wg: WG,
  buffers: [["x", "read_write", "f32"], ["stats", "read", "f32"]],
  body: "x[i] = x[i] * stats[1];",
});

/**
 * Scale a set of gradients in place so that their global L2 norm is at most `maxNorm`.
 *
 * @param gpu The GPU context.
 * @param grads The gradients (distinct tensors).
 * @param options `maxNorm`, `out`.
 * @returns `[2]`: the global norm before clipping and the factor applied (read it when logging).
 * @throws {RangeError} For no gradients, a repeated tensor or `maxNorm ≤ 0`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { clipGradNorm } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const g = gpu.upload(new Float32Array([3, 4]), [2]);
 * console.log(await clipGradNorm(gpu, [g], { maxNorm: 1 }).read(), await g.read()); // [5, 0.2] [0.6, 0.8]
 * ```
 */
export function clipGradNorm(gpu: Gpu, grads: readonly Tensor<"f32">[], options: ClipGradNormOptions): Tensor<"f32"> {
  const k = "clipGradNorm";
  if (!Array.isArray(grads) || grads.length === 0) throw new RangeError(`Cannot run ${k}: no gradients given`);
  grads.forEach((g, i) => checkTensor(gpu, k, `grads[${i}]`, g));
  if (new Set(grads.map((g) => g.buffer)).size !== grads.length) {
    throw new RangeError(`Cannot run ${k}: a gradient tensor appears twice`);
  }
  const maxNorm = checkNumber(k, "maxNorm", options?.maxNorm);
  if (maxNorm <= 0) throw new RangeError(`Cannot run ${k}: maxNorm ${maxNorm} must be > 0`);
  const stats = outTensor(gpu, k, options.out, [2]);
  if (grads.some((g) => g.buffer === stats.buffer)) {
    throw new RangeError(`Cannot run ${k}: out ${fmtShape(stats.shape)} must not be a gradient`);
  }
  const partials = gpu.empty([grads.length], "f32", "clipGradNorm.partials");
  grads.forEach((g, slot) => {
    gpu.dispatch(SUM_SQUARES, {
      bindings: [g, partials],
      uniforms: new Uniforms().u32(g.size).u32(slot).bytes(),
      workgroups: [1, 1],
    });
  });
  gpu.dispatch(CLIP_FACTOR, {
    bindings: [partials, stats],
    uniforms: new Uniforms().u32(grads.length).f32(maxNorm).bytes(),
    workgroups: [1, 1],
  });
  for (const g of grads) {
    gpu.dispatch(SCALE_BY, {
      bindings: [g, stats],
      uniforms: new Uniforms().u32(g.size).bytes(),
      workgroups: grid(Math.ceil(g.size / WG)),
    });
  }
  partials.dispose();
  return stats;
}
