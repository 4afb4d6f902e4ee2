/**
 * Per-row statistics of a step (squared error, L0, L1), one invocation per row, and the TopK
 * selection, one workgroup per 4 rows (its invocations share each row's counting passes, so the
 * loop iterations of one invocation stay within {@linkcode LOOP_BUDGET} for wide rows).
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes, writeSelectedCodes } from "./sae_operand_wgsl.ts";

const STATS = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_row_stats",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, d: u32, inv: f32${w.fields(["tc", "tg"])}`,
    bindings: [w.decl("tc", "read"), w.decl("tg", "read"), "var<storage, read_write> out: array<vec4f>"],
    item: ["b", "u.rows"],
    body: `var se = 0.0;
  for (var i4 = 0u; i4 < u.d / 4u; i4++) {
    let e = ${w.load("tg", { x: "i4", y: "b", layer: "z" })} * u.inv;
    se += dot(e, e);
  }
  var l0 = 0.0;
  var l1 = 0.0;
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    let c = ${w.load("tc", { x: "j4", y: "b", layer: "z" })};
    l0 += dot(select(vec4f(0.0), vec4f(1.0), c > vec4f(0.0)), vec4f(1.0));
    l1 += dot(abs(c), vec4f(1.0));
  }
  out[z * u.rows + b] = vec4f(se, l0, l1, 0.0);`,
  });
});

/** * Per row and member: `(Σ(x̂ − x)², #active codes, Σ|c|, 0)` into `out [Z][rows]` (vec4 each),
 * from the codes `C [rows, n]` and the scaled error `G = scale·(x̂ − x)` (`inv = 1/scale`).
 *
 * @param gpu The context.
 * @param inputs Codes `C` and the scaled error `G`.
 * @param out The statistics buffer, sizes and `inv = 1/scale`.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * rowStats(gpu, { c, g }, { stats, rows, n, d, members, inv: 1 / scale });
 * ```
 */
export function rowStats(
  gpu: Gpu,
  inputs: { c: MatrixOperand; g: MatrixOperand },
  out: { stats: Binding; rows: number; n: number; d: number; members: number; inv: number },
): void {
  const u = new ArrayBuffer(16);
  new Uint32Array(u).set([out.rows, out.n, out.d]);
  new Float32Array(u)[3] = out.inv;
  const { c, g } = inputs;
  dispatchMembers(gpu, STATS(commonMode("sae_row_stats", [c, g])), {
    bindings: [bindingOf(c), bindingOf(g), out.stats],
    uniforms: withOperandSizes(u, [c, g]),
    items: out.rows,
    members: out.members,
  });
}

/**
 * The loop iterations one invocation may run, all its loops together, before llvmpipe ends every loop
 * of the shader early (`LP_MAX_TGSI_LOOP_ITERATIONS`, shared by all loops of an invocation): past it
 * a kernel silently stops computing. The selection kernels split their rows so they stay below it.
 */
export const LOOP_BUDGET = 65535;

/**
 * Invocations of a `sae_topk` workgroup, which owns 4 rows of one member: with 8 (one SIMD group on
 * llvmpipe) a selection costs the CPU time one invocation per 4 rows did where that still worked
 * (64 cost about 1.5× more), and rows of up to 63,520 features fit {@linkcode LOOP_BUDGET}.
 */
const TOPK_WG = 8;

const TOPK = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const rowsOf = (f: (r: number) => string) => [0, 1, 2, 3].map(f).join("\n      ");
  return {
    name: "sae_topk",
    key: modeKey(mode, "wg4rows"),
    code: () =>
      `struct U { rows: u32, n: u32, k: u32, step: u32${w.fields(["tp", "oc", "oct"])} }
@group(0) @binding(0) ${w.decl("tp", "read")};
@group(0) @binding(1) ${w.decl("oc", "write")};
@group(0) @binding(2) ${w.decl("oct", "write")};
@group(0) @binding(3) var<storage, read_write> fired: array<u32>;
@group(0) @binding(4) var<uniform> u: U;
var<workgroup> total: array<atomic<u32>, 4>;

// order-preserving map of f32 to u32
fn key(v: vec4f) -> vec4u {
  let b = bitcast<vec4u>(v);
  return b ^ select(vec4u(0x80000000u), vec4u(0xffffffffu), v < vec4f(0.0));
}

@compute @workgroup_size(${TOPK_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let l = lid.x;
  let b4 = wid.x;
  let z = wid.y;
  let b = b4 * 4u;
  let n4 = u.n / 4u;
  // the keys of the k-th largest values of rows b..b+3, built bit by bit from the top; each
  // invocation counts every ${TOPK_WG}th vec4 of the rows and the workgroup sums the counts
  var t = vec4u(0u);
  for (var bit = 31i; bit >= 0i; bit--) {
    let cand = t | vec4u(1u << u32(bit));
    if (l < 4u) { atomicStore(&total[l], 0u); }
    workgroupBarrier();
    var count = vec4u(0u);
    for (var j4 = l; j4 < n4; j4 += ${TOPK_WG}u) {
      ${
        rowsOf((r) =>
          `count[${r}] += dot(select(vec4u(0u), vec4u(1u), key(${
            w.load("tp", { x: "j4", y: `b + ${r}u`, layer: "z" })
          }) >= vec4u(cand[${r}])), vec4u(1u));`
        )
      }
    }
    ${[0, 1, 2, 3].map((r) => `atomicAdd(&total[${r}], count[${r}]);`).join("\n    ")}
    workgroupBarrier();
    let sums = vec4u(atomicLoad(&total[0]), atomicLoad(&total[1]), atomicLoad(&total[2]), atomicLoad(&total[3]));
    t = select(t, cand, sums >= vec4u(u.k));
    workgroupBarrier();
  }
  for (var j4 = l; j4 < n4; j4 += ${TOPK_WG}u) {
    ${writeSelectedCodes(w, "select(vec4f(0.0), max(p, vec4f(0.0)), key(p) >= vec4u(t[r]))")}
  }
}`,
  };
});

/** What a selection kernel reads: each member's raw pre-activations `P [rows, n]`, and a kind's state (thresholds). */
export interface SelectInputs {
  /** Raw pre-activations, one layer per member. */
  p: MatrixOperand;
  /** The group's learned state `θ [members]`, for kinds that keep one. */
  state?: Binding;
  /** Kinds whose state is one value per feature inside `state` (JumpReLU): member z's at `stateAt + z·n`. */
  stateAt?: number;
}

/** What a selection kernel writes: codes `C [rows, n]`, `Cᵀ`, fired marks, and the sizes. */
export interface SelectOutputs {
  /** Codes. */
  c: MatrixOperand;
  /** Codes, transposed. */
  ct: MatrixOperand;
  /** `fired[z·n + j] = step` where feature j of member z fired. */
  fired: Binding;
  /** Rows per member. */
  rows: number;
  /** Features per member. */
  n: number;
  /** Features kept per row (on average over the batch for batch selections). */
  k: number;
  /** Members (layers). */
  members: number;
  /** The step being taken (for `fired`). */
  step: number;
}

/** * Keep the k largest pre-activations of each row (then ReLU): `P [rows, n]` → `C`, `Cᵀ`,
 * and `fired[z·n + j] = step` for features that fired. Exact ties at the threshold are all kept.
 *
 * @param gpu The context.
 * @param inputs Raw pre-activations `P`.
 * @param out Codes `C` and `Cᵀ`, the fired marks, sizes, k and the step.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * topkSelect(gpu, { p }, { c, ct, fired, rows, n, k, members, step });
 * ```
 */
export function topkSelect(
  gpu: Gpu,
  inputs: SelectInputs,
  out: SelectOutputs,
): void {
  const { p } = inputs, { c, ct, n } = out;
  const perPass = Math.ceil(n / 4 / TOPK_WG);
  if (33 * perPass + 32 > LOOP_BUDGET) {
    throw new RangeError(
      `Cannot run sae_topk: ${n} features per row need more than the ${LOOP_BUDGET} loop iterations an ` +
        `invocation may run on software adapters; use fewer features`,
    );
  }
  gpu.dispatch(TOPK(commonMode("sae_topk", [p, c, ct])), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(ct), out.fired],
    uniforms: withOperandSizes(new Uint32Array([out.rows, n, out.k, out.step]), [p, c, ct]),
    workgroups: [out.rows / 4, out.members, 1],
  });
}
