/**
 * The decoder-row normalisation of the SAE training step, `D̂ = D/‖D‖` into
 * the operands the matmuls read, and its backward. Operands are textures or
 * storage buffers (`sae_operands.ts`), one builder per kernel for both. No
 * workgroup memory.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand, modeOf } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, storeTransposed, withOperandSizes } from "./sae_operand_wgsl.ts";

const NORMALIZE = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const at = (x: string, y: string) => ({ x, y, layer: "z" });
  return perMemberProgram({
    name: "sae_normalize",
    key: modeKey(mode),
    uniforms: `n: u32, d: u32, src4: u32, stride4: u32, bias: u32, tied: u32${w.fields(["dh", "dht"])}`,
    bindings: [
      "var<storage, read> p: array<vec4f>",
      w.decl("dh", "write"),
      w.decl("dht", "write"),
      "var<storage, read_write> norms: array<f32>",
    ],
    item: ["j4", "u.n / 4u"],
    body: `let d4 = u.d / 4u;
  let base = u.src4 + z * u.stride4 + j4 * 4u * d4;
  var ss = vec4f(0.0);
  for (var i4 = 0u; i4 < d4; i4++) {
    let a = p[base + i4]; let b = p[base + d4 + i4]; let c = p[base + 2u * d4 + i4]; let e = p[base + 3u * d4 + i4];
    ss += vec4f(dot(a, a), dot(b, b), dot(c, c), dot(e, e));
  }
  let nrm = max(sqrt(ss), vec4f(1e-8));
  let inv = 1.0 / nrm;
  let j = j4 * 4u;
  norms[z * u.n + j] = nrm.x; norms[z * u.n + j + 1u] = nrm.y; norms[z * u.n + j + 2u] = nrm.z; norms[z * u.n + j + 3u] = nrm.w;
  for (var i4 = 0u; i4 < d4; i4++) {
    let a = p[base + i4] * inv.x; let b = p[base + d4 + i4] * inv.y;
    let c = p[base + 2u * d4 + i4] * inv.z; let e = p[base + 3u * d4 + i4] * inv.w;
    ${w.store("dh", at("i4", "j"), "a")}
    ${w.store("dh", at("i4", "j + 1u"), "b")}
    ${w.store("dh", at("i4", "j + 2u"), "c")}
    ${w.store("dh", at("i4", "j + 3u"), "e")}
    ${storeTransposed(w, "dht", { x: "j4", y: "i4 * 4u", layer: "z", rows: ["a", "b", "c", "e"] })}
  }
  if (u.tied == 1u) {
    ${w.store("dht", at("j4", "u.d"), "p[u.bias / 4u + (z * u.n) / 4u + j4]")}
    for (var r = 1u; r < 4u; r++) { ${w.store("dht", at("j4", "u.d + r"), "vec4f(0.0)")} }
  }`,
  });
});

/** Where the raw decoder (or tied `M`) rows live in the parameter buffer, in floats. */
export interface RowsAt {
  /** Offset of member 0's `[n, d]` block. */
  offset: number;
  /** Floats between members. */
  stride: number;
  /** Tied SAEs: offset of the `[Z][n]` encoder-bias block (written as row `d` of `D̂ᵀ`). */
  bias?: number;
}

/**
 * `D̂ = D / max(‖D_j‖, 1e-8)` into operands `D̂ [n, d]` and `D̂ᵀ [d(+4), n]`; row norms into `norms`.
 *
 * @param gpu The context.
 * @param params The packed parameters.
 * @param out The unit-row operands, the norms, the sizes and where the rows sit.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * normalizeRows(gpu, params, { dh, dht, norms, n, d, members, at });
 * ```
 */
export function normalizeRows(
  gpu: Gpu,
  params: Binding,
  out: { dh: MatrixOperand; dht: MatrixOperand; norms: Binding; n: number; d: number; members: number; at: RowsAt },
): void {
  const { n, d, at, dh, dht } = out;
  dispatchMembers(gpu, NORMALIZE(commonMode("sae_normalize", [dh, dht])), {
    bindings: [params, bindingOf(dh), bindingOf(dht), out.norms],
    uniforms: withOperandSizes(
      new Uint32Array([n, d, at.offset / 4, at.stride / 4, at.bias ?? 0, at.bias === undefined ? 0 : 1]),
      [dh, dht],
    ),
    items: n / 4,
    members: out.members,
  });
}

const NORM_BACKWARD = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const dhAt = w.load("dh", { x: "i4", y: "j", layer: "z" });
  return perMemberProgram({
    name: "sae_normalize_backward",
    key: modeKey(mode),
    uniforms: `n: u32, d: u32, dst: u32, dstStride: u32, tied: u32, dwStride: u32, biasDst: u32${w.fields(["dh"])}`,
    bindings: [
      "var<storage, read> gd: array<vec4f>",
      w.decl("dh", "read"),
      "var<storage, read> norms: array<f32>",
      "var<storage, read> dw: array<vec4f>",
      "var<storage, read_write> grad: array<f32>",
    ],
    helpers: `fn gradDir(z: u32, j: u32, i4: u32) -> vec4f {
  var v = gd[(z * u.n + j) * (u.d / 4u) + i4];
  if (u.tied == 1u) { v += dw[(z * u.dwStride + j * (u.d + 4u)) / 4u + i4]; }
  return v;
}`,
    item: ["j", "u.n"],
    body: `let d4 = u.d / 4u;
  let nrm = norms[z * u.n + j];
  var dotv = 0.0;
  if (nrm > 1e-8) {
    for (var i4 = 0u; i4 < d4; i4++) { dotv += dot(gradDir(z, j, i4), ${dhAt}); }
  }
  let o = u.dst + z * u.dstStride + j * u.d;
  for (var i4 = 0u; i4 < d4; i4++) {
    let v = (gradDir(z, j, i4) - dotv * ${dhAt}) / nrm;
    grad[o + i4 * 4u] = v.x; grad[o + i4 * 4u + 1u] = v.y; grad[o + i4 * 4u + 2u] = v.z; grad[o + i4 * 4u + 3u] = v.w;
  }
  if (u.tied == 1u) { grad[u.biasDst + z * u.n + j] = dw[(z * u.dwStride + j * (u.d + 4u) + u.d) / 4u].x; }`,
  });
});

/** * Backward of the row normalisation: `∂D_j = (g_j − (g_j·D̂_j) D̂_j) / ‖D_j‖` with `g = ∂D̂`
 * (`[Z][n, d]` in `gd`); tied SAEs add the encoder's `∂M̂` (`[Z][n, d + 4]` in `dw`, column d = `∂b`).
 * @example
 * ```ts ignore
 * normalizeBackward(gpu, { gd, dh, norms, dw }, { grad, n, d, members, at });
 * ```
 */
export function normalizeBackward(
  gpu: Gpu,
  inputs: { gd: Binding; dh: MatrixOperand; norms: Binding; dw?: Binding },
  out: { grad: Binding; n: number; d: number; members: number; at: RowsAt },
): void {
  const { n, d, at } = out;
  const tied = inputs.dw !== undefined;
  dispatchMembers(gpu, NORM_BACKWARD(modeOf(inputs.dh)), {
    bindings: [inputs.gd, bindingOf(inputs.dh), inputs.norms, inputs.dw ?? inputs.norms, out.grad],
    uniforms: withOperandSizes(
      new Uint32Array([n, d, at.offset, at.stride, tied ? 1 : 0, (d + 4) * n, at.bias ?? 0]),
      [inputs.dh],
    ),
    items: n,
    members: out.members,
  });
}
