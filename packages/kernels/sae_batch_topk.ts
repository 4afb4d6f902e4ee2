/**
 * The BatchTopK selection of the SAE trainer (Bussmann et al. 2024): per member, keep the `k·rows`
 * largest ReLU'd pre-activations of the whole batch `P [rows, n]` (so rows keep different numbers
 * of features, `k` on average), write the codes `C`, `Cᵀ` and the fired marks, and move the
 * member's inference threshold `θ` towards the batch's smallest kept positive code, as SAELens'
 * BatchTopK training SAE does: `θ ← (1 − lr)·θ + lr·min{c > 0 kept}` (unchanged when none fired).
 *
 * The key (float bits) of the `k·rows`-th largest value is found 8 bits at a time from the top: in
 * each of 4 rounds, workgroups spread over the batch count, in a 256-bin histogram, the values whose
 * higher bits match the key so far, and one invocation per member picks the bin where the count
 * reaches the values still to keep. A last pass writes the codes; exact ties at the threshold are all
 * kept. Every invocation visits at most {@linkcode CHUNK} blocks per pass, so its loops stay within
 * the 65535 iterations llvmpipe allows one invocation (`LOOP_BUDGET` of `sae_stats_kernels.ts`) at
 * any batch size.
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import { bindingOf, commonMode, type KernelMode } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes, writeSelectedCodes } from "./sae_operand_wgsl.ts";
import type { SelectInputs, SelectOutputs } from "./sae_stats_kernels.ts";

/** Invocations per workgroup of the passes over the batch. */
const WG = 64;
/** 4×4 blocks of the batch one invocation visits per pass. */
const CHUNK = 64;
/** u32 words of a member's selection state: 256 bins, the key so far, the values still to keep, the least kept bits. */
const STATE = 260;
const [KEY, LEFT, LEAST] = [256, 257, 258];

const SELECT_STATE = `@group(0) @binding(SEL) var<storage, read_write> sel: array<atomic<u32>>;`;

// ReLU with an explicit +0, so that every code is a non-negative float whose bits order like it
const RELU4 = `fn relu4(p: vec4f) -> vec4f {
  return select(vec4f(0.0), p, p > vec4f(0.0));
}`;

/** The blocks of one pass: `e` runs over this invocation's share of the member's `(rows/4)·(n/4)` blocks. */
const BLOCKS = `let n4 = u.n / 4u;
  let blocks = (u.rows / 4u) * n4;
  for (var i = 0u; i < ${CHUNK}u; i++) {
    let e = (wid.x * ${CHUNK}u + i) * ${WG}u + l;
    if (e >= blocks) { break; }
    let b4 = e / n4;
    let b = b4 * 4u;
    let j4 = e % n4;`;

const ARGS = "@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wid: vec3u";

/** One invocation per member, over the member's selection state. */
function perMember(name: string, uniforms: string, body: string, extra = ""): Program {
  const code = `struct U { ${uniforms} }
${SELECT_STATE.replace("SEL", "0")}
${extra}
@group(0) @binding(${extra ? 2 : 1}) var<uniform> u: U;
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3u) {
  let base = wid.y * ${STATE}u;
  ${body}
}`;
  return { name, key: "v1", code: () => code };
}

const INIT = perMember(
  "sae_batch_topk_init",
  "kept: u32",
  `for (var j = 0u; j < 256u; j++) { atomicStore(&sel[base + j], 0u); }
  atomicStore(&sel[base + ${KEY}u], 0u);
  atomicStore(&sel[base + ${LEFT}u], u.kept);
  atomicStore(&sel[base + ${LEAST}u], 0xffffffffu);`,
);

// the bin of the histogram where the count from the top reaches the values still to keep
const PICK = perMember(
  "sae_batch_topk_pick",
  "shift: u32",
  `let left = atomicLoad(&sel[base + ${LEFT}u]);
  var above = 0u;
  var bin = 255i;
  for (; bin > 0i; bin--) {
    let h = atomicLoad(&sel[base + u32(bin)]);
    if (above + h >= left) { break; }
    above += h;
  }
  atomicOr(&sel[base + ${KEY}u], u32(bin) << u.shift);
  atomicStore(&sel[base + ${LEFT}u], left - above);
  for (var j = 0u; j < 256u; j++) { atomicStore(&sel[base + j], 0u); }`,
);

const THETA = perMember(
  "sae_batch_topk_theta",
  "lr: f32",
  `let s = atomicLoad(&sel[base + ${LEAST}u]);
  if (s != 0xffffffffu) { theta[wid.y] = (1.0 - u.lr) * theta[wid.y] + u.lr * bitcast<f32>(s); }`,
  "@group(0) @binding(1) var<storage, read_write> theta: array<f32>;",
);

const HIST = programsByMode((mode: KernelMode) => {
  const w = operandWgsl(mode);
  return {
    name: "sae_batch_topk_hist",
    key: modeKey(mode),
    code: () =>
      `struct U { rows: u32, n: u32, shift: u32, high: u32${w.fields(["tp"])} }
@group(0) @binding(0) ${w.decl("tp", "read")};
${SELECT_STATE.replace("SEL", "1")}
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> hist: array<atomic<u32>, 256>;
${RELU4}
@compute @workgroup_size(${WG})
fn main(${ARGS}) {
  let z = wid.y;
  for (var j = l; j < 256u; j += ${WG}u) { atomicStore(&hist[j], 0u); }
  workgroupBarrier();
  let key = atomicLoad(&sel[z * ${STATE}u + ${KEY}u]) & u.high;
  ${BLOCKS}
    for (var r = 0u; r < 4u; r++) {
      let bits = bitcast<vec4u>(relu4(${w.load("tp", { x: "j4", y: "b + r", layer: "z" })}));
      for (var q = 0u; q < 4u; q++) {
        if ((bits[q] & u.high) == key) { atomicAdd(&hist[(bits[q] >> u.shift) & 255u], 1u); }
      }
    }
  }
  workgroupBarrier();
  for (var j = l; j < 256u; j += ${WG}u) {
    let h = atomicLoad(&hist[j]);
    if (h > 0u) { atomicAdd(&sel[z * ${STATE}u + j], h); }
  }
}`,
  };
});

const WRITE = programsByMode((mode: KernelMode) => {
  const w = operandWgsl(mode);
  // the codes at or above the cut, and the smallest kept code's bits (the threshold's update reads it)
  const codes = writeSelectedCodes(
    w,
    "select(vec4f(0.0), relu4(p), relu4(p) >= vec4f(cut))",
    `let bits = select(vec4u(0xffffffffu), bitcast<vec4u>(v[r]), v[r] > vec4f(0.0));
    least = min(least, min(min(bits.x, bits.y), min(bits.z, bits.w)));`,
  );
  return {
    name: "sae_batch_topk_write",
    key: modeKey(mode),
    code: () =>
      `struct U { rows: u32, n: u32, step: u32${w.fields(["tp", "oc", "oct"])} }
@group(0) @binding(0) ${w.decl("tp", "read")};
@group(0) @binding(1) ${w.decl("oc", "write")};
@group(0) @binding(2) ${w.decl("oct", "write")};
@group(0) @binding(3) var<storage, read_write> fired: array<u32>;
${SELECT_STATE.replace("SEL", "4")}
@group(0) @binding(5) var<uniform> u: U;
var<workgroup> smallest: atomic<u32>;
${RELU4}
@compute @workgroup_size(${WG})
fn main(${ARGS}) {
  let z = wid.y;
  if (l == 0u) { atomicStore(&smallest, 0xffffffffu); }
  workgroupBarrier();
  let cut = bitcast<f32>(atomicLoad(&sel[z * ${STATE}u + ${KEY}u]));
  var least = 0xffffffffu;
  ${BLOCKS}
    ${codes}
  }
  atomicMin(&smallest, least);
  workgroupBarrier();
  if (l == 0u) {
    let s = atomicLoad(&smallest);
    if (s != 0xffffffffu) { atomicMin(&sel[z * ${STATE}u + ${LEAST}u], s); }
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
 * @returns Nothing; the dispatches are recorded.
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
  const members = out.members, mode = commonMode("sae_batch_topk", [p, c, ct]);
  const groups = [Math.ceil(((rows / 4) * (n / 4)) / (WG * CHUNK)), members, 1] as const;
  using sel = gpu.empty([members * STATE], "u32", "sae_batch_topk.state");
  gpu.dispatch(INIT, { bindings: [sel], uniforms: new Uint32Array([kept]), workgroups: [1, members, 1] });
  for (const shift of [24, 16, 8, 0]) {
    const high = shift === 24 ? 0 : (0xffffffff << (shift + 8)) >>> 0;
    gpu.dispatch(HIST(mode), {
      bindings: [bindingOf(p), sel],
      uniforms: withOperandSizes(new Uint32Array([rows, n, shift, high]), [p]),
      workgroups: groups,
    });
    gpu.dispatch(PICK, { bindings: [sel], uniforms: new Uint32Array([shift]), workgroups: [1, members, 1] });
  }
  gpu.dispatch(WRITE(mode), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(ct), out.fired, sel],
    uniforms: withOperandSizes(new Uint32Array([rows, n, out.step]), [p, c, ct]),
    workgroups: groups,
  });
  gpu.dispatch(THETA, {
    bindings: [sel, state],
    uniforms: new Float32Array([out.lr ?? 0.01]),
    workgroups: [1, members, 1],
  });
}
