/**
 * The kernels of a trainable decoder bias `b_dec` in the SAE trainer (SAELens' layout: `x' = x − b_dec` into the
 * encoder, `x̂ = D̂ᵀc + b_dec`). The decode stage adds `b_dec` in its epilogue (`sae_tile_matmul.ts`, `decodeBias`);
 * these three kernels do the rest without another copy of the input per member:
 *
 * - `encoderBiasShift`: `P = (X − b_dec) Wᵀ + b_e = X Wᵀ + (b_e − W b_dec)`, so the bias row of the encoder operand
 *   `Wᵀ [d + 4, n]` (row d) is overwritten with `b_e − W_j·b_dec`;
 * - `decoderBiasGrad`: `∂b_dec = Σ_b G_b − Σ_j ∂b_e,j W_j` (`G` the scaled error, `∂b_e = Σ_b ∂P`);
 * - `encoderGradShift`: the encoder gradient the store matmul computed from `X` becomes the one of `X − b_dec`,
 *   `∂W_j −= ∂b_e,j · b_dec`.
 *
 * `W` is the encoder as used: the rows of `W_e` (untied, in the `[n, d + 4]` block, bias at column d) or `M_j/‖M_j‖`
 * (tied: `M [n, d]` and its norms). Operands are textures or storage buffers (`sae_operands.ts`).
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, type MatrixOperand, modeOf } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

/** Where the encoder rows as used live in the packed parameters, in floats. */
export interface EncoderRowsAt {
  /** Member 0's first row. */
  offset: number;
  /** Floats between rows (`d + 4` untied, `d` tied). */
  row: number;
  /** Floats between members. */
  member: number;
  /** Divide each row by its norm (`norms`, tied SAEs). */
  normalized: boolean;
}

/** Where per-feature scalars live in a buffer: `offset + z·member + j·row`, in floats. */
export interface ScalarsAt {
  /** Member 0, feature 0. */
  offset: number;
  /** Floats between features. */
  row: number;
  /** Floats between members. */
  member: number;
}

const ROW = (p: string) =>
  `fn encRow(z: u32, j: u32, i: u32) -> f32 {
  var v = ${p}[u.encOff + z * u.encMember + j * u.encRow + i];
  if (u.normalized == 1u) { v = v / norms[z * u.n + j]; }
  return v;
}`;

const SHIFT = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_encoder_bias_shift",
    key: modeKey(mode),
    uniforms:
      `n: u32, d: u32, encOff: u32, encRow: u32, encMember: u32, normalized: u32, biasOff: u32, biasRow: u32, biasMember: u32, bdec: u32${
        w.fields(["wt"])
      }`,
    bindings: ["var<storage, read> p: array<f32>", "var<storage, read> norms: array<f32>", w.decl("wt", "write")],
    helpers: ROW("p"),
    item: ["j4", "u.n / 4u"],
    body: `var out = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) {
    let j = j4 * 4u + c;
    var s = p[u.biasOff + z * u.biasMember + j * u.biasRow];
    for (var i = 0u; i < u.d; i++) { s -= encRow(z, j, i) * p[u.bdec + z * u.d + i]; }
    out[c] = s;
  }
  ${w.store("wt", { x: "j4", y: "u.d", layer: "z" }, "out")}`,
  });
});

/**
 * Overwrite the bias row (row `d`) of the encoder operand `Wᵀ [d + 4, n]` with `b_e − W_j·b_dec`.
 *
 * @param gpu The context.
 * @param inputs The packed parameters (`W`, `b_e`, `b_dec`) and the row norms (read when `enc.normalized`).
 * @param out The operand and where everything sits: the encoder rows, `b_e` and `b_dec` (offset, stride `d`).
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * encoderBiasShift(gpu, { params, norms }, { wt, n, d, members, enc, bias, bdec });
 * ```
 */
export function encoderBiasShift(
  gpu: Gpu,
  inputs: { params: Binding; norms: Binding },
  out: {
    wt: MatrixOperand;
    n: number;
    d: number;
    members: number;
    enc: EncoderRowsAt;
    bias: ScalarsAt;
    bdec: number;
  },
): void {
  const { n, d, enc, bias } = out;
  const u = new Uint32Array([
    n,
    d,
    enc.offset,
    enc.row,
    enc.member,
    enc.normalized ? 1 : 0,
    bias.offset,
    bias.row,
    bias.member,
    out.bdec,
  ]);
  dispatchMembers(gpu, SHIFT(modeOf(out.wt)), {
    bindings: [inputs.params, inputs.norms, bindingOf(out.wt)],
    uniforms: withOperandSizes(u, [out.wt]),
    items: n / 4,
    members: out.members,
  });
}

const GRAD = programsByMode((mode, key) => {
  const w = operandWgsl(mode);
  const own = key === "own"; // ∂b_e is read from the output buffer itself
  const src = own ? "grad" : "src";
  return perMemberProgram({
    name: "sae_decoder_bias_grad",
    key: modeKey(mode, key),
    uniforms:
      `rows: u32, n: u32, d: u32, encOff: u32, encRow: u32, encMember: u32, normalized: u32, beOff: u32, beRow: u32, beMember: u32, out: u32${
        w.fields(["tg"])
      }`,
    bindings: [
      "var<storage, read> p: array<f32>",
      "var<storage, read> norms: array<f32>",
      w.decl("tg", "read"),
      ...(own ? [] : ["var<storage, read> src: array<f32>"]),
      "var<storage, read_write> grad: array<f32>",
    ],
    helpers: ROW("p"),
    item: ["i4", "u.d / 4u"],
    body: `var s = vec4f(0.0);
  for (var b = 0u; b < u.rows; b++) { s += ${w.load("tg", { x: "i4", y: "b", layer: "z" })}; }
  for (var j = 0u; j < u.n; j++) {
    let be = ${src}[u.beOff + z * u.beMember + j * u.beRow];
    if (be != 0.0) {
      s -= be * vec4f(encRow(z, j, i4 * 4u), encRow(z, j, i4 * 4u + 1u), encRow(z, j, i4 * 4u + 2u), encRow(z, j, i4 * 4u + 3u));
    }
  }
  let o = u.out + z * u.d + i4 * 4u;
  grad[o] = s.x; grad[o + 1u] = s.y; grad[o + 2u] = s.z; grad[o + 3u] = s.w;`,
  });
});

/**
 * `∂b_dec = Σ_b G_b − Σ_j ∂b_e,j W_j` into `grad` at `out + z·d`.
 *
 * @param gpu The context.
 * @param inputs The packed parameters and norms (as {@linkcode encoderBiasShift}), the scaled error `G [rows, d]`,
 *   and the buffer holding `∂b_e` (absent: `grad` itself).
 * @param out The gradient buffer, sizes, where the encoder rows and `∂b_e` sit, and the offset of `∂b_dec`.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * decoderBiasGrad(gpu, { params, norms, g }, { grad, rows, n, d, members, enc, be, out: layout.bdec });
 * ```
 */
export function decoderBiasGrad(
  gpu: Gpu,
  inputs: { params: Binding; norms: Binding; g: MatrixOperand; be?: Binding },
  out: {
    grad: Binding;
    rows: number;
    n: number;
    d: number;
    members: number;
    enc: EncoderRowsAt;
    be: ScalarsAt;
    out: number;
  },
): void {
  const { rows, n, d, enc, be } = out;
  const u = new Uint32Array([
    rows,
    n,
    d,
    enc.offset,
    enc.row,
    enc.member,
    enc.normalized ? 1 : 0,
    be.offset,
    be.row,
    be.member,
    out.out,
  ]);
  const own = inputs.be === undefined;
  dispatchMembers(gpu, GRAD(modeOf(inputs.g), own ? "own" : "src"), {
    bindings: [inputs.params, inputs.norms, bindingOf(inputs.g), ...(own ? [] : [inputs.be!]), out.grad],
    uniforms: withOperandSizes(u, [inputs.g]),
    items: d / 4,
    members: out.members,
  });
}

const SHIFT_GRAD = perMemberProgram({
  name: "sae_encoder_grad_shift",
  uniforms: "n: u32, d: u32, off: u32, row: u32, member: u32, bdec: u32",
  bindings: ["var<storage, read> p: array<f32>", "var<storage, read_write> grad: array<f32>"],
  item: ["j", "u.n"],
  body: `let o = u.off + z * u.member + j * u.row;
  let be = grad[o + u.d];
  for (var i = 0u; i < u.d; i++) { grad[o + i] -= be * p[u.bdec + z * u.d + i]; }`,
});

/**
 * `∂W_j −= ∂b_e,j · b_dec` over the encoder gradient rows `[n, d + 4]` (`∂b_e` at column d).
 *
 * @param gpu The context.
 * @param params The packed parameters (`b_dec` at `bdec + z·d`).
 * @param out The buffer of the encoder gradient, where its rows sit, sizes and the offset of `b_dec`.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * encoderGradShift(gpu, params, { grad, at: { offset, row: d + 4, member }, n, d, members, bdec });
 * ```
 */
export function encoderGradShift(
  gpu: Gpu,
  params: Binding,
  out: { grad: Binding; at: ScalarsAt; n: number; d: number; members: number; bdec: number },
): void {
  const { n, d, at } = out;
  dispatchMembers(gpu, SHIFT_GRAD, {
    bindings: [params, out.grad],
    uniforms: new Uint32Array([n, d, at.offset, at.row, at.member, out.bdec]),
    items: n,
    members: out.members,
  });
}
