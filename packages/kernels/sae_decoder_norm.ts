/**
 * The kernels of the decoder-norm L1 penalty (SAELens' standard training SAE): the decoder is used as it is,
 * `x̂ = Dᵀc`, never renormalised, and the penalty is `α · Σ_j |c_j| · ‖D_j‖` per row. Beside the code gradient's
 * per-feature weight (`sae_code_grad.ts`, `weights`), three kernels:
 *
 * - `decoderRows`: `D` into the operand `D [n, d]` the decode and code-gradient stages read, and the row norms
 *   `max(‖D_j‖, 1e-8)` (the weights of the penalty);
 * - `decoderNormBackward`: `∂D_j = (Cᵀ G)_j + (α_z/B) · (Σ_b c_bj) · D_j/‖D_j‖`, the gradient through the weighted
 *   penalty and no row normalisation;
 * - `weightedL1Rows`: per row `Σ_j c_bj · ‖D_j‖` into component 3 of the row statistics (`rowStats` leaves it 0).
 *
 * Operands are textures or storage buffers (`sae_operands.ts`), one builder per kernel for both.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, type MatrixOperand, modeOf } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";
import type { RowsAt } from "./sae_normalize.ts";

const ROWS = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_decoder_rows",
    key: modeKey(mode),
    uniforms: `n: u32, d: u32, src4: u32, stride4: u32${w.fields(["dh"])}`,
    bindings: [
      "var<storage, read> p: array<vec4f>",
      w.decl("dh", "write"),
      "var<storage, read_write> norms: array<f32>",
    ],
    item: ["j", "u.n"],
    body: `let d4 = u.d / 4u;
  let base = u.src4 + z * u.stride4 + j * d4;
  var ss = 0.0;
  for (var i4 = 0u; i4 < d4; i4++) {
    let a = p[base + i4];
    ss += dot(a, a);
    ${w.store("dh", { x: "i4", y: "j", layer: "z" }, "a")}
  }
  norms[z * u.n + j] = max(sqrt(ss), 1e-8);`,
  });
});

/**
 * Copy the raw decoder rows `D` into the operand `D [n, d]` and their norms `max(‖D_j‖, 1e-8)` into `norms`.
 *
 * @param gpu The context.
 * @param params The packed parameters.
 * @param out The operand, the norms `[Z·n]`, the sizes and where the rows sit (`at.offset`, `at.stride`).
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * decoderRows(gpu, params, { dh, norms, n, d, members, at });
 * ```
 */
export function decoderRows(
  gpu: Gpu,
  params: Binding,
  out: { dh: MatrixOperand; norms: Binding; n: number; d: number; members: number; at: RowsAt },
): void {
  const { n, d, at, dh } = out;
  dispatchMembers(gpu, ROWS(modeOf(dh)), {
    bindings: [params, bindingOf(dh), out.norms],
    uniforms: withOperandSizes(new Uint32Array([n, d, at.offset / 4, at.stride / 4]), [dh]),
    items: n,
    members: out.members,
  });
}

const BACKWARD = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_decoder_norm_backward",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, d: u32, src: u32, stride: u32, invRows: f32${w.fields(["tc"])}`,
    bindings: [
      "var<storage, read> gd: array<vec4f>",
      "var<storage, read> p: array<vec4f>",
      w.decl("tc", "read"),
      "var<storage, read> norms: array<f32>",
      "var<storage, read> alphas: array<f32>",
      "var<storage, read_write> grad: array<f32>",
    ],
    item: ["j", "u.n"],
    body: `var mass = 0.0;
  for (var b = 0u; b < u.rows; b++) { mass += ${w.load("tc", { x: "j / 4u", y: "b", layer: "z" })}[j % 4u]; }
  let k = alphas[z] * u.invRows * mass / norms[z * u.n + j];
  let d4 = u.d / 4u;
  let o = u.src + z * u.stride + j * u.d;
  for (var i4 = 0u; i4 < d4; i4++) {
    let v = gd[(z * u.n + j) * d4 + i4] + k * p[o / 4u + i4];
    grad[o + i4 * 4u] = v.x; grad[o + i4 * 4u + 1u] = v.y; grad[o + i4 * 4u + 2u] = v.z; grad[o + i4 * 4u + 3u] = v.w;
  }`,
  });
});

/**
 * The decoder's gradient under the decoder-norm penalty: `∂D_j = gd_j + (α_z/rows) · (Σ_b C[b, j]) · D_j/‖D_j‖`
 * (codes are ≥ 0), written where `D` sits in `grad`.
 *
 * @param gpu The context.
 * @param inputs `gd = Cᵀ G` (`[Z][n, d]`), the parameters (raw `D`), the codes `C [rows, n]`, the norms of the
 *   forward pass and α per member.
 * @param out The gradient buffer (laid out as the parameters), the sizes and where the rows sit.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * decoderNormBackward(gpu, { gd, params, c, norms, alphas }, { grad, rows, n, d, members, at });
 * ```
 */
export function decoderNormBackward(
  gpu: Gpu,
  inputs: { gd: Binding; params: Binding; c: MatrixOperand; norms: Binding; alphas: Binding },
  out: { grad: Binding; rows: number; n: number; d: number; members: number; at: RowsAt },
): void {
  const { rows, n, d, at } = out;
  const u = new ArrayBuffer(24);
  new Uint32Array(u).set([rows, n, d, at.offset, at.stride]);
  new Float32Array(u)[5] = 1 / rows;
  dispatchMembers(gpu, BACKWARD(modeOf(inputs.c)), {
    bindings: [inputs.gd, inputs.params, bindingOf(inputs.c), inputs.norms, inputs.alphas, out.grad],
    uniforms: withOperandSizes(u, [inputs.c]),
    items: n,
    members: out.members,
  });
}

const WEIGHTED = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_weighted_l1_rows",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32${w.fields(["tc"])}`,
    bindings: [
      w.decl("tc", "read"),
      "var<storage, read> norms: array<f32>",
      "var<storage, read_write> out: array<f32>",
    ],
    item: ["b", "u.rows"],
    body: `var l1 = 0.0;
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    let c = abs(${w.load("tc", { x: "j4", y: "b", layer: "z" })});
    let o = z * u.n + j4 * 4u;
    l1 += dot(c, vec4f(norms[o], norms[o + 1u], norms[o + 2u], norms[o + 3u]));
  }
  out[(z * u.rows + b) * 4u + 3u] = l1;`,
  });
});

/**
 * Per row and member, `Σ_j |c_bj| · w_zj` into component 3 of `stats [Z][rows]` (vec4 each, as `rowStats`
 * writes them; call it after `rowStats`).
 *
 * @param gpu The context.
 * @param inputs The codes `C [rows, n]` and the per-feature weights `[Z·n]` (the decoder norms).
 * @param out The statistics buffer and sizes.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * weightedL1Rows(gpu, { c, weights: norms }, { stats, rows, n, members });
 * ```
 */
export function weightedL1Rows(
  gpu: Gpu,
  inputs: { c: MatrixOperand; weights: Binding },
  out: { stats: Binding; rows: number; n: number; members: number },
): void {
  dispatchMembers(gpu, WEIGHTED(modeOf(inputs.c)), {
    bindings: [bindingOf(inputs.c), inputs.weights, out.stats],
    uniforms: withOperandSizes(new Uint32Array([out.rows, out.n]), [inputs.c]),
    items: out.rows,
    members: out.members,
  });
}
