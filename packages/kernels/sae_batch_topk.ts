/**
 * The BatchTopK selection of the SAE trainer (Bussmann et al. 2024): per member, keep the `k·rows`
 * largest ReLU'd pre-activations of the whole batch `P [rows, n]` (so rows keep different numbers
 * of features, `k` on average), write the codes `C`, `Cᵀ` and the fired marks, and move the
 * member's inference threshold `θ` towards the batch's smallest kept positive code, as SAELens'
 * BatchTopK training SAE does: `θ ← (1 − lr)·θ + lr·min{c > 0 kept}` (unchanged when none fired).
 *
 * One workgroup of {@linkcode WG} invocations per member: the key of the `k·rows`-th largest value
 * is built bit by bit from the top (32 counting passes over the batch, each summed in workgroup
 * memory), then a last pass writes the codes; exact ties at the threshold are all kept.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { bindingOf, commonMode, type OperandMode } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";
import type { SelectInputs, SelectOutputs } from "./sae_stats_kernels.ts";

const WG = 256;

const BATCH_TOPK = programsByMode((mode: OperandMode) => {
  const w = operandWgsl(mode);
  const load = (y: string) => `relu4(${w.load("tp", { x: "j4", y, layer: "z" })})`;
  return {
    name: "sae_batch_topk",
    key: modeKey(mode),
    code: () =>
      `struct U { rows: u32, n: u32, kept: u32, step: u32, lr: f32${w.fields(["tp", "oc", "oct"])} }
@group(0) @binding(0) ${w.decl("tp", "read")};
@group(0) @binding(1) ${w.decl("oc", "write")};
@group(0) @binding(2) ${w.decl("oct", "write")};
@group(0) @binding(3) var<storage, read_write> fired: array<u32>;
@group(0) @binding(4) var<storage, read_write> theta: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
var<workgroup> total: atomic<u32>;
var<workgroup> smallest: atomic<u32>;

// ReLU with an explicit +0, so that every code is a non-negative float whose bits order like it
fn relu4(p: vec4f) -> vec4f {
  return select(vec4f(0.0), p, p > vec4f(0.0));
}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let z = wid.y;
  let blocks = (u.rows / 4u) * (u.n / 4u);
  var t = 0u;
  for (var bit = 30i; bit >= 0i; bit--) {
    let cand = t | (1u << u32(bit));
    if (l == 0u) { atomicStore(&total, 0u); }
    workgroupBarrier();
    var count = 0u;
    for (var e = l; e < blocks; e += ${WG}u) {
      let b = (e / (u.n / 4u)) * 4u;
      let j4 = e % (u.n / 4u);
      for (var r = 0u; r < 4u; r++) {
        count += dot(select(vec4u(0u), vec4u(1u), bitcast<vec4u>(${load("b + r")}) >= vec4u(cand)), vec4u(1u));
      }
    }
    atomicAdd(&total, count);
    workgroupBarrier();
    if (atomicLoad(&total) >= u.kept) { t = cand; }
    workgroupBarrier();
  }
  if (l == 0u) { atomicStore(&smallest, 0xffffffffu); }
  workgroupBarrier();
  let cut = bitcast<f32>(t);
  var least = 0xffffffffu;
  for (var e = l; e < blocks; e += ${WG}u) {
    let b4 = e / (u.n / 4u);
    let b = b4 * 4u;
    let j4 = e % (u.n / 4u);
    var v: array<vec4f, 4>;
    for (var r = 0u; r < 4u; r++) {
      let a = ${load("b + r")};
      v[r] = select(vec4f(0.0), a, a >= vec4f(cut));
      ${w.store("oc", { x: "j4", y: "b + r", layer: "z" }, "v[r]")}
      let bits = select(vec4u(0xffffffffu), bitcast<vec4u>(v[r]), v[r] > vec4f(0.0));
      least = min(least, min(min(bits.x, bits.y), min(bits.z, bits.w)));
    }
    for (var c = 0u; c < 4u; c++) {
      let col = vec4f(v[0][c], v[1][c], v[2][c], v[3][c]);
      ${w.store("oct", { x: "b4", y: "j4 * 4u + c", layer: "z" }, "col")}
      if (any(col > vec4f(0.0))) { fired[z * u.n + j4 * 4u + c] = u.step; }
    }
  }
  atomicMin(&smallest, least);
  workgroupBarrier();
  if (l == 0u) {
    let s = atomicLoad(&smallest);
    if (s != 0xffffffffu) { theta[z] = (1.0 - u.lr) * theta[z] + u.lr * bitcast<f32>(s); }
  }
}`,
  };
});

/**
 * Keep the `k·rows` largest ReLU'd pre-activations of each member's batch: `P [rows, n]` → `C`, `Cᵀ`,
 * `fired[z·n + j] = step` for features that fired, and `θ[z] ← (1 − lr)·θ[z] + lr·min{c > 0}` over the
 * kept codes (untouched when none is positive). Exact ties at the threshold are all kept.
 *
 * @param gpu The context.
 * @param inputs Raw pre-activations `P`; `state`: the thresholds `θ [members]` (read and written).
 * @param out Codes `C` and `Cᵀ`, the fired marks, sizes, `k` (codes kept per row on average), the
 *   step and the threshold's rate `lr` (SAELens' `topk_threshold_lr`; default 0.01).
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} Without `state`, or when `k·rows` is not in 1 … rows·n.
 * @example
 * ```ts ignore
 * batchTopkSelect(gpu, { p, state: theta }, { c, ct, fired, rows, n, k, members, step });
 * ```
 */
export function batchTopkSelect(
  gpu: Gpu,
  inputs: SelectInputs,
  out: SelectOutputs & { lr?: number },
): void {
  const { p, state } = inputs, { c, ct, rows, n, k } = out;
  if (!state) throw new RangeError("Cannot run sae_batch_topk: it needs the thresholds θ as its state buffer");
  const kept = k * rows;
  if (!Number.isInteger(kept) || kept < 1 || kept > rows * n) {
    throw new RangeError(`Cannot run sae_batch_topk: k·rows = ${kept} is not a whole number in 1..${rows * n}`);
  }
  const u = new ArrayBuffer(20);
  new Uint32Array(u, 0, 4).set([rows, n, kept, out.step]);
  new Float32Array(u, 16, 1)[0] = out.lr ?? 0.01;
  gpu.dispatch(BATCH_TOPK(commonMode("sae_batch_topk", [p, c, ct])), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(ct), out.fired, state],
    uniforms: withOperandSizes(u, [p, c, ct]),
    workgroups: [1, out.members, 1],
  });
}
