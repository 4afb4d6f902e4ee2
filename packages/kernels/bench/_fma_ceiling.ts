/**
 * The adapter's multiply-add ceiling: how many GFLOP/s a WGSL kernel reaches
 * on this adapter when it does nothing but multiply-adds on values held in
 * registers — no loads, no stores except one result per invocation. No matmul
 * can run faster than this; on a software adapter it says how far the WGSL
 * compiler's code is from the CPU's own peak, which the PyTorch peer's BLAS
 * approaches.
 *
 * Each invocation keeps `ACCUMULATORS` vec4 accumulators and runs
 * `a ← a·x + y` on each, `iterations` times, with the loop body unrolled
 * `unroll` times in the WGSL text (the software adapter's loop overhead
 * depends on how much work one iteration holds): `2 · 4 · ACCUMULATORS ·
 * iterations` FLOP per invocation. The result (the accumulators' sum) is
 * written out, so no multiply-add can be dropped; {@linkcode fmaReference}
 * gives the value each invocation must write, for tests.
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";

/** vec4 accumulators per invocation. */
export const ACCUMULATORS = 16;
const WORKGROUP = 64;

/** The ceiling kernel for one unroll factor (`iterations` a multiple of `unroll`). */
export function fmaProgram(unroll: number, iterations: number): Program {
  if (iterations % unroll !== 0) {
    throw new RangeError(`fma ceiling: ${iterations} iterations is not a multiple of ${unroll}`);
  }
  const accs = Array.from({ length: ACCUMULATORS }, (_, i) => i);
  const body = Array.from({ length: unroll }, () => accs.map((i) => `a${i} = a${i} * x + y;`).join(" ")).join("\n    ");
  return {
    name: "fma_ceiling",
    key: `u${unroll}/i${iterations}`,
    code: () =>
      `struct U { x: f32, y: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let x = vec4f(u.x);
  let y = vec4f(u.y);
  let s = f32(g.x % 7u) * 0.125;
  ${accs.map((i) => `var a${i} = vec4f(s, s + 1.0, s + 2.0, s + 3.0) * ${((i + 1) / 32).toFixed(5)};`).join("\n  ")}
  for (var i = 0u; i < ${iterations / unroll}u; i++) {
    ${body}
  }
  let t = ${accs.map((i) => `a${i}`).join(" + ")};
  out[g.x] = t.x + t.y + t.z + t.w;
}`,
  };
}

/**
 * What invocation `g` writes, in float64: every accumulator component run through `iterations` steps of
 * `a·x + y` (float32 on the GPU, so tests compare with a tolerance).
 */
export function fmaReference(g: number, iterations: number, x: number, y: number): number {
  const s = (g % 7) * 0.125;
  let total = 0;
  for (let i = 0; i < ACCUMULATORS; i++) {
    for (let c = 0; c < 4; c++) {
      let a = (s + c) * Number(((i + 1) / 32).toFixed(5));
      for (let t = 0; t < iterations; t++) a = a * x + y;
      total += a;
    }
  }
  return total;
}

/** Record one ceiling dispatch of `workgroups` workgroups writing into `out` (one f32 per invocation). */
export function fmaDispatch(
  gpu: Gpu,
  out: GPUBuffer,
  options: { unroll: number; iterations: number; workgroups: number },
): void {
  gpu.dispatch(fmaProgram(options.unroll, options.iterations), {
    bindings: [out],
    uniforms: new Float32Array([FMA_X, FMA_Y, 0, 0]),
    workgroups: [options.workgroups],
  });
}

/** FLOP of one dispatch. */
export function fmaFlops(options: { iterations: number; workgroups: number }): number {
  return 2 * 4 * ACCUMULATORS * options.iterations * options.workgroups * WORKGROUP;
}

/** The multiplier `x` and addend `y` of every step. */
export const FMA_X = 0.99, FMA_Y = 1e-3;

/** Invocations per workgroup. */
export const FMA_WORKGROUP = WORKGROUP;
