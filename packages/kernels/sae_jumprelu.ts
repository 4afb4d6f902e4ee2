/**
 * The JumpReLU kernels of the SAE trainer (Rajamanoharan et al. 2024b): a learned threshold per
 * feature, kept as its logarithm `ℓ_j = log θ_j` in the group's packed parameters (SAELens'
 * `log_threshold`, so `θ = exp ℓ > 0`), beside the encoder and the decoder so that Adam updates it
 * in the same dispatch.
 *
 * - {@linkcode jumpReluSelect}: codes `c_bj = z_bj · H(z_bj − θ_j)` from the raw pre-activations
 *   `Z [rows, n]` (`H` the step, `H(0) = 0`), `C`, `Cᵀ` and the fired marks.
 * - {@linkcode jumpReluThresholdGrad}: the straight-through gradient of the loss
 *   `mse + λ · mean_b Σ_j H(z_bj − θ_j)` with respect to `ℓ`, with the rectangle kernel
 *   `K(u) = 1{−½ < u < ½}` of bandwidth `ε`:
 *   `∂L/∂θ_j = Σ_b K((z_bj − θ_j)/ε) · (−(θ_j/ε) · ∂L/∂c_bj − λ/(B·ε))`, `∂L/∂c_bj = G_b · D̂_j`,
 *   then `∂L/∂ℓ_j = θ_j · ∂L/∂θ_j`.
 *
 * Both read the operands as textures or storage buffers (`sae_operands.ts`), one builder for each.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes, writeSelectedCodes } from "./sae_operand_wgsl.ts";
import type { SelectInputs, SelectOutputs } from "./sae_stats_kernels.ts";

const SELECT = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_jumprelu_select",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, step: u32, at: u32${w.fields(["tp", "oc", "oct"])}`,
    bindings: [
      w.decl("tp", "read"),
      w.decl("oc", "write"),
      w.decl("oct", "write"),
      "var<storage, read_write> fired: array<u32>",
      "var<storage, read> state: array<f32>",
    ],
    item: ["e", "(u.rows / 4u) * (u.n / 4u)"],
    body: `let b4 = e / (u.n / 4u);
  let j4 = e % (u.n / 4u);
  let b = b4 * 4u;
  let o = u.at + z * u.n + j4 * 4u;
  let theta = exp(vec4f(state[o], state[o + 1u], state[o + 2u], state[o + 3u]));
  ${writeSelectedCodes(w, "select(vec4f(0.0), p, p > theta)")}`,
  });
});

/** Where a group keeps its log-thresholds: member z's `ℓ [n]` at `stateAt + z·n` of `state`. */
export interface JumpReluState {
  /** The buffer holding `ℓ = log θ` (the group's packed parameters). */
  state: Binding;
  /** Offset (in floats) of member 0's `ℓ`; member z's follow at `stateAt + z·n`. */
  stateAt: number;
}

/**
 * JumpReLU codes of each member's batch: `C = Z · H(Z − θ)` with `θ_j = exp(state[stateAt + z·n + j])`,
 * `Cᵀ`, and `fired[z·n + j] = step` where feature j fired (`z_bj > θ_j` for some row).
 *
 * @param gpu The context.
 * @param inputs Raw pre-activations `P`, `state` (the packed parameters) and `stateAt`, the offset of the `ℓ` block.
 * @param out Codes `C` and `Cᵀ`, the fired marks, sizes and the step (`k` is not read).
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} Without `state` or `stateAt`, or when rows or n is not a multiple of 4.
 * @example
 * ```ts ignore
 * jumpReluSelect(gpu, { p, state: params, stateAt: layout.features }, { c, ct, fired, rows, n, k: 0, members, step });
 * ```
 */
export function jumpReluSelect(gpu: Gpu, inputs: SelectInputs, out: SelectOutputs): void {
  const { p, state, stateAt } = inputs, { c, ct, rows, n } = out;
  if (!state || stateAt === undefined) {
    throw new RangeError("Cannot run sae_jumprelu_select: it needs the log-thresholds (state and stateAt)");
  }
  if (rows % 4 !== 0 || n % 4 !== 0) {
    throw new RangeError(`Cannot run sae_jumprelu_select: rows ${rows} and n ${n} must be multiples of 4`);
  }
  dispatchMembers(gpu, SELECT(commonMode("sae_jumprelu_select", [p, c, ct])), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(ct), out.fired, state],
    uniforms: withOperandSizes(new Uint32Array([rows, n, out.step, stateAt]), [p, c, ct]),
    items: (rows / 4) * (n / 4),
    members: out.members,
  });
}

const GRAD = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_jumprelu_threshold_grad",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, d: u32, at: u32, bandwidth: f32${w.fields(["tp", "tg", "tdh"])}`,
    bindings: [
      w.decl("tp", "read"),
      w.decl("tg", "read"),
      w.decl("tdh", "read"),
      "var<storage, read> state: array<f32>",
      "var<storage, read> lambdas: array<f32>",
      "var<storage, read_write> grad: array<f32>",
    ],
    item: ["j4", "u.n / 4u"],
    body: `let o = u.at + z * u.n + j4 * 4u;
  let theta = exp(vec4f(state[o], state[o + 1u], state[o + 2u], state[o + 3u]));
  let eps = u.bandwidth;
  let penalty = lambdas[z] / (f32(u.rows) * eps);
  var acc = vec4f(0.0);
  for (var b = 0u; b < u.rows; b++) {
    let q = (${w.load("tp", { x: "j4", y: "b", layer: "z" })} - theta) / eps;
    let inside = (q > vec4f(-0.5)) & (q < vec4f(0.5));
    if (!any(inside)) { continue; }
    for (var c = 0u; c < 4u; c++) {
      if (!inside[c]) { continue; }
      var dc = 0.0;
      for (var i4 = 0u; i4 < u.d / 4u; i4++) {
        dc += dot(${w.load("tg", { x: "i4", y: "b", layer: "z" })}, ${
      w.load("tdh", { x: "i4", y: "j4 * 4u + c", layer: "z" })
    });
      }
      acc[c] += -(theta[c] / eps) * dc - penalty;
    }
  }
  let gl = theta * acc;
  grad[o] = gl.x;
  grad[o + 1u] = gl.y;
  grad[o + 2u] = gl.z;
  grad[o + 3u] = gl.w;`,
  });
});

/**
 * Record the straight-through gradient of each member's loss with respect to its log-thresholds
 * `ℓ` into `grad[stateAt + z·n + j]` (overwritten): `θ_j · Σ_b K((z_bj − θ_j)/ε) · (−(θ_j/ε) · G_b·D̂_j − λ_z/(B·ε))`.
 *
 * @param gpu The context.
 * @param inputs Raw pre-activations `P [rows, n]`, the scaled error `G [rows, d]` (`∂mse/∂x̂`), the unit
 *   decoder rows `D̂ [n, d]` (one mode), the log-thresholds (`state`, `stateAt`) and `λ` per member.
 * @param out The gradient buffer (the group's packed gradients), sizes and the bandwidth `ε`.
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} When the bandwidth is not positive or n, d is not a multiple of 4.
 * @example
 * ```ts ignore
 * jumpReluThresholdGrad(gpu, { p, g, dh, state: params, stateAt, lambdas }, { grad, rows, n, d, members, bandwidth: 1e-3 });
 * ```
 */
export function jumpReluThresholdGrad(
  gpu: Gpu,
  inputs: { p: MatrixOperand; g: MatrixOperand; dh: MatrixOperand; lambdas: Binding } & JumpReluState,
  out: { grad: Binding; rows: number; n: number; d: number; members: number; bandwidth: number },
): void {
  const { p, g, dh } = inputs, { rows, n, d, bandwidth } = out;
  if (!(bandwidth > 0) || !Number.isFinite(bandwidth)) {
    throw new RangeError(`Cannot run sae_jumprelu_threshold_grad: bandwidth ${bandwidth} is not a positive number`);
  }
  if (n % 4 !== 0 || d % 4 !== 0) {
    throw new RangeError(`Cannot run sae_jumprelu_threshold_grad: n ${n} and d ${d} must be multiples of 4`);
  }
  const u = new ArrayBuffer(20);
  new Uint32Array(u, 0, 4).set([rows, n, d, inputs.stateAt]);
  new Float32Array(u, 16, 1)[0] = bandwidth;
  dispatchMembers(gpu, GRAD(commonMode("sae_jumprelu_threshold_grad", [p, g, dh])), {
    bindings: [bindingOf(p), bindingOf(g), bindingOf(dh), inputs.state, inputs.lambdas, out.grad],
    uniforms: withOperandSizes(u, [p, g, dh]),
    items: n / 4,
    members: out.members,
  });
}
