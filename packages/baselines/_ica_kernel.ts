/**
 * The logcosh contrast of FastICA, elementwise on the GPU:
 * `g = tanh(α·y)` and `g' = α·(1 − g²)`.
 * Bindings: `y` (read), `g`, `gp` (write), uniforms `{ n, alpha, stride }`.
 * Workgroup size 64 over a 2-D grid (`stride` = invocations per grid row).
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";

const WG = 64;
const MAX_GROUPS = 65535;

const LOGCOSH: Program = {
  name: "fastica_logcosh",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> gp: array<f32>;
struct U { n: u32, alpha: f32, stride: u32 }
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * u.stride;
  if (i >= u.n) { return; }
  // tanh saturates long before |x| = 15; clamping keeps exp() in range on every backend
  let t = tanh(clamp(u.alpha * y[i], -15.0, 15.0));
  g[i] = t;
  gp[i] = u.alpha * (1.0 - t * t);
}`,
};

/**
 * Record `g = tanh(α·y)`, `gp = α·(1 − g²)` for every element of `y`.
 *
 * @param gpu The GPU context.
 * @param y Input (any shape).
 * @param options `alpha` and the outputs `g`, `gp` (shaped like `y`).
 */
export function logcosh(
  gpu: Gpu,
  y: Tensor<"f32">,
  options: { alpha: number; g: Tensor<"f32">; gp: Tensor<"f32"> },
): void {
  const n = y.size;
  if (options.g.size !== n || options.gp.size !== n) {
    throw new RangeError(`Cannot run fastica_logcosh: outputs must hold ${n} values like y`);
  }
  const groups = Math.ceil(n / WG);
  const x = Math.min(groups, MAX_GROUPS);
  const rows = Math.ceil(groups / x);
  const uniforms = new ArrayBuffer(12);
  const view = new DataView(uniforms);
  view.setUint32(0, n, true);
  view.setFloat32(4, options.alpha, true);
  view.setUint32(8, x * WG, true);
  gpu.dispatch(LOGCOSH, { bindings: [y, options.g, options.gp], uniforms, workgroups: [x, rows] });
}
