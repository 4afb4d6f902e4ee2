/**
 * Per-row statistics of a step (squared error, L0, L1) and the TopK
 * selection. No workgroup memory: each invocation owns its rows.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

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

const TOPK = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_topk",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, k: u32, step: u32${w.fields(["tp", "oc", "oct"])}`,
    bindings: [
      w.decl("tp", "read"),
      w.decl("oc", "write"),
      w.decl("oct", "write"),
      "var<storage, read_write> fired: array<u32>",
    ],
    helpers: `// order-preserving map of f32 to u32
fn key(v: vec4f) -> vec4u {
  let b = bitcast<vec4u>(v);
  return b ^ select(vec4u(0x80000000u), vec4u(0xffffffffu), v < vec4f(0.0));
}
// the key of the k-th largest value of row b, built bit by bit from the top
fn threshold(b: u32, z: u32) -> u32 {
  var t = 0u;
  for (var bit = 31i; bit >= 0i; bit--) {
    let cand = t | (1u << u32(bit));
    var count = 0u;
    for (var j4 = 0u; j4 < u.n / 4u; j4++) {
      count += dot(select(vec4u(0u), vec4u(1u), key(${
      w.load("tp", { x: "j4", y: "b", layer: "z" })
    }) >= vec4u(cand)), vec4u(1u));
    }
    if (count >= u.k) { t = cand; }
  }
  return t;
}`,
    item: ["b4", "u.rows / 4u"],
    body: `let b = b4 * 4u;
  let t = vec4u(threshold(b, z), threshold(b + 1u, z), threshold(b + 2u, z), threshold(b + 3u, z));
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    var v: array<vec4f, 4>;
    for (var r = 0u; r < 4u; r++) {
      let p = ${w.load("tp", { x: "j4", y: "b + r", layer: "z" })};
      v[r] = select(vec4f(0.0), max(p, vec4f(0.0)), key(p) >= vec4u(t[r]));
      ${w.store("oc", { x: "j4", y: "b + r", layer: "z" }, "v[r]")}
    }
    for (var c = 0u; c < 4u; c++) {
      let col = vec4f(v[0][c], v[1][c], v[2][c], v[3][c]);
      ${w.store("oct", { x: "b4", y: "j4 * 4u + c", layer: "z" }, "col")}
      if (any(col > vec4f(0.0))) { fired[z * u.n + j4 * 4u + c] = u.step; }
    }
  }`,
  });
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
  const { p } = inputs, { c, ct } = out;
  dispatchMembers(gpu, TOPK(commonMode("sae_topk", [p, c, ct])), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(ct), out.fired],
    uniforms: withOperandSizes(new Uint32Array([out.rows, out.n, out.k, out.step]), [p, c, ct]),
    items: out.rows / 4,
    members: out.members,
  });
}
