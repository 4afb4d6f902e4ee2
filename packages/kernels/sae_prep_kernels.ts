/**
 * Small kernels of the SAE training step around the matmuls: input staging,
 * parameter → operand packing, decoder-row normalisation and its backward.
 * Operands are textures or storage buffers (`sae_operands.ts`), one builder
 * per kernel for both. None uses workgroup memory (cheap to compile on every backend).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand, modeOf, type OperandMode } from "./sae_operands.ts";
import { type OperandWgsl, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

/** Program key of a mode: texture programs keep their first key. */
const keyOf = (mode: OperandMode) => (mode === "storage" ? "storage" : "v1");

/**
 * WGSL that stores the 4×4 block whose rows are the vec4s `rows` transposed: its column `c`
 * goes to texel `(x, y + c)` of layer `layer` of `tex`.
 */
function storeTransposed(
  w: OperandWgsl,
  tex: string,
  at: { x: string; y: string; layer: string },
  rows: readonly string[],
): string {
  return [..."xyzw"].map((c, k) =>
    w.store(
      tex,
      { x: at.x, y: `${at.y}${k ? ` + ${k}u` : ""}`, layer: at.layer },
      `vec4f(${rows.map((r) => `${r}.${c}`).join(", ")})`,
    )
  ).join("\n  ");
}

const PREP = programsByMode((mode): Program => {
  const w = operandWgsl(mode);
  const st = (t: string, y: string, v: string) => w.store(t, { x: "i4", y, layer: "0" }, v);
  const code = `struct U { rows: u32, d: u32${w.fields(["xe", "xt"])} }
@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) ${w.decl("xe", "write")};
@group(0) @binding(2) ${w.decl("xt", "write")};
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i4 = g.x;
  let b4 = g.y;
  let d4 = u.d / 4u;
  if (b4 >= u.rows / 4u || i4 > d4) { return; }
  if (i4 == d4) {
    for (var r = 0u; r < 4u; r++) { ${st("xe", "b4 * 4u + r", "vec4f(1.0, 0.0, 0.0, 0.0)")} }
    return;
  }
  let r0 = x[(b4 * 4u) * d4 + i4];
  let r1 = x[(b4 * 4u + 1u) * d4 + i4];
  let r2 = x[(b4 * 4u + 2u) * d4 + i4];
  let r3 = x[(b4 * 4u + 3u) * d4 + i4];
  ${st("xe", "b4 * 4u", "r0")}
  ${st("xe", "b4 * 4u + 1u", "r1")}
  ${st("xe", "b4 * 4u + 2u", "r2")}
  ${st("xe", "b4 * 4u + 3u", "r3")}
  ${storeTransposed(w, "xt", { x: "b4", y: "i4 * 4u", layer: "0" }, ["r0", "r1", "r2", "r3"])}
}`;
  return { name: "sae_prep_input", key: keyOf(mode), code: () => code };
});

/**
 * Stage a batch `X [rows, d]` (storage buffer) into `X_e [rows, d + 4]`
 * (column d = 1, the bias input of the encoder-gradient matmul) and `Xᵀ [d, rows]` (operands of one mode).
 *
 * @param gpu The context.
 * @param x The batch.
 * @param out Sizes and members.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * prepInput(gpu, { x, xt, xe }, { rows, d, members });
 * ```
 */
export function prepInput(
  gpu: Gpu,
  x: Binding,
  out: { xe: MatrixOperand; xt: MatrixOperand; rows: number; d: number },
) {
  const { rows, d, xe, xt } = out;
  gpu.dispatch(PREP(commonMode("sae_prep_input", [xe, xt])), {
    bindings: [x, bindingOf(xe), bindingOf(xt)],
    uniforms: withOperandSizes(new Uint32Array([rows, d]), [xe, xt]),
    workgroups: [Math.ceil((d / 4 + 1) / 8), Math.ceil(rows / 32), 1],
  });
}

/** The frame of the buffer → operand copies: one invocation per item of each layer `z`. */
function packProgram(
  name: string,
  spec: { uniforms: string; item: readonly [string, string]; body: (w: OperandWgsl) => string },
): (mode: OperandMode) => Program {
  return programsByMode((mode) => {
    const w = operandWgsl(mode);
    return perMemberProgram({
      name,
      key: keyOf(mode),
      uniforms: `${spec.uniforms}${w.fields(["t"])}`,
      bindings: ["var<storage, read> p: array<vec4f>", w.decl("t", "write")],
      item: spec.item,
      body: spec.body(w),
    });
  });
}

const PACK_T = packProgram("sae_pack_transposed", {
  uniforms: "rows: u32, cols: u32, src4: u32, stride4: u32",
  item: ["block", "(u.rows / 4u) * (u.cols / 4u)"],
  body: (w) =>
    `let c4 = u.cols / 4u;
  let i4 = block % c4;
  let j4 = block / c4;
  let base = u.src4 + z * u.stride4 + j4 * 4u * c4 + i4;
  let r0 = p[base]; let r1 = p[base + c4]; let r2 = p[base + 2u * c4]; let r3 = p[base + 3u * c4];
  ${storeTransposed(w, "t", { x: "j4", y: "i4 * 4u", layer: "z" }, ["r0", "r1", "r2", "r3"])}`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a
 * texture or storage operand transposed, `[cols, rows]` per layer (rows and cols multiples of 4).
 *
 * @param gpu The context.
 * @param src The packed parameters.
 * @param dst The operand written.
 * @param at Offset, stride, rows, columns and layers.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * packTransposed(gpu, params, w, { offset, stride, rows: n, cols: d + 4, layers });
 * ```
 */
export function packTransposed(
  gpu: Gpu,
  src: Binding,
  dst: MatrixOperand,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number },
): void {
  const blocks = (at.rows / 4) * (at.cols / 4);
  dispatchMembers(gpu, PACK_T(modeOf(dst)), {
    bindings: [src, bindingOf(dst)],
    uniforms: withOperandSizes(new Uint32Array([at.rows, at.cols, at.offset / 4, at.stride / 4]), [dst]),
    items: blocks,
    members: at.layers,
  });
}

const PACK = packProgram("sae_pack", {
  uniforms: "rows: u32, cols4: u32, src4: u32, stride4: u32",
  item: ["e", "u.rows * u.cols4"],
  body: (w) =>
    `let x = e % u.cols4;
  let row = e / u.cols4;
  ${w.store("t", { x: "x", y: "row", layer: "z" }, "p[u.src4 + z * u.stride4 + row * u.cols4 + x]")}`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a texture
 * or storage operand.
 *
 * @param gpu The context.
 * @param src The buffer read.
 * @param dst The operand written.
 * @param at Offset, stride, rows, columns and layers.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * packTexture(gpu, dpBuf, dp, { offset: 0, stride: rows * n, rows, cols: n, layers });
 * ```
 */
export function packTexture(
  gpu: Gpu,
  src: Binding,
  dst: MatrixOperand,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number },
): void {
  const cols4 = at.cols / 4;
  dispatchMembers(gpu, PACK(modeOf(dst)), {
    bindings: [src, bindingOf(dst)],
    uniforms: withOperandSizes(new Uint32Array([at.rows, cols4, at.offset / 4, at.stride / 4]), [dst]),
    items: at.rows * cols4,
    members: at.layers,
  });
}

const NORMALIZE = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const at = (x: string, y: string) => ({ x, y, layer: "z" });
  return perMemberProgram({
    name: "sae_normalize",
    key: keyOf(mode),
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
    ${storeTransposed(w, "dht", { x: "j4", y: "i4 * 4u", layer: "z" }, ["a", "b", "c", "e"])}
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
    key: keyOf(mode),
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
