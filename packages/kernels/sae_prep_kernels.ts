/**
 * Small kernels of the SAE training step around the matmuls: input staging,
 * parameter → texture packing, decoder-row normalisation and its backward.
 * None uses workgroup memory (cheap to compile on every backend).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import type { MatrixTexture } from "./sae_textures.ts";

function prog(name: string, code: string): Program {
  return { name, key: "v1", code: () => code };
}

/**
 * WGSL that stores the 4×4 block whose rows are the vec4s `rows` transposed: its column `c`
 * goes to texel `(x, y + c)` of layer `layer` of `tex`.
 */
function storeTransposed(tex: string, at: { x: string; y: string; layer: string }, rows: readonly string[]): string {
  return [..."xyzw"].map((c, k) =>
    `textureStore(${tex}, vec2u(${at.x}, ${at.y}${k ? ` + ${k}u` : ""}), ${at.layer}, vec4f(${
      rows.map((r) => `${r}.${c}`).join(", ")
    }));`
  ).join("\n  ");
}

const PREP = prog(
  "sae_prep_input",
  `struct U { rows: u32, d: u32 }
@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) var xe: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(2) var xt: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i4 = g.x;
  let b4 = g.y;
  let d4 = u.d / 4u;
  if (b4 >= u.rows / 4u || i4 > d4) { return; }
  if (i4 == d4) {
    for (var r = 0u; r < 4u; r++) { textureStore(xe, vec2u(i4, b4 * 4u + r), 0, vec4f(1.0, 0.0, 0.0, 0.0)); }
    return;
  }
  let r0 = x[(b4 * 4u) * d4 + i4];
  let r1 = x[(b4 * 4u + 1u) * d4 + i4];
  let r2 = x[(b4 * 4u + 2u) * d4 + i4];
  let r3 = x[(b4 * 4u + 3u) * d4 + i4];
  textureStore(xe, vec2u(i4, b4 * 4u), 0, r0);
  textureStore(xe, vec2u(i4, b4 * 4u + 1u), 0, r1);
  textureStore(xe, vec2u(i4, b4 * 4u + 2u), 0, r2);
  textureStore(xe, vec2u(i4, b4 * 4u + 3u), 0, r3);
  ${storeTransposed("xt", { x: "b4", y: "i4 * 4u", layer: "0" }, ["r0", "r1", "r2", "r3"])}
}`,
);

/**
 * Stage a batch `X [rows, d]` (storage buffer) into `X_e [rows, d + 4]`
 * (column d = 1, the bias input of the encoder-gradient matmul) and `Xᵀ [d, rows]`.
 *
 * @param gpu The context.
 * @param x The batch and the staged input textures.
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
  out: { xe: MatrixTexture; xt: MatrixTexture; rows: number; d: number },
) {
  const { rows, d } = out;
  gpu.dispatch(PREP, {
    bindings: [x, out.xe.view, out.xt.view],
    uniforms: new Uint32Array([rows, d]),
    workgroups: [Math.ceil((d / 4 + 1) / 8), Math.ceil(rows / 32), 1],
  });
}

/** The frame of the buffer → texture copies: one invocation per item of each layer `z`. */
function packProgram(name: string, spec: { uniforms: string; item: readonly [string, string]; body: string }): Program {
  return perMemberProgram({
    name,
    uniforms: spec.uniforms,
    bindings: ["var<storage, read> p: array<vec4f>", "var t: texture_storage_2d_array<rgba32float, write>"],
    item: spec.item,
    body: spec.body,
  });
}

const PACK_T = packProgram("sae_pack_transposed", {
  uniforms: "rows: u32, cols: u32, src4: u32, stride4: u32",
  item: ["block", "(u.rows / 4u) * (u.cols / 4u)"],
  body: `let c4 = u.cols / 4u;
  let i4 = block % c4;
  let j4 = block / c4;
  let base = u.src4 + z * u.stride4 + j4 * 4u * c4 + i4;
  let r0 = p[base]; let r1 = p[base + c4]; let r2 = p[base + 2u * c4]; let r3 = p[base + 3u * c4];
  ${storeTransposed("t", { x: "j4", y: "i4 * 4u", layer: "z" }, ["r0", "r1", "r2", "r3"])}`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a
 * texture transposed, `[cols, rows]` per layer (rows and cols multiples of 4).
 *
 * @param gpu The context.
 * @param src The packed parameters.
 * @param dst The texture written.
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
  dst: MatrixTexture,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number },
): void {
  const blocks = (at.rows / 4) * (at.cols / 4);
  dispatchMembers(gpu, PACK_T, {
    bindings: [src, dst.view],
    uniforms: new Uint32Array([at.rows, at.cols, at.offset / 4, at.stride / 4]),
    items: blocks,
    members: at.layers,
  });
}

const PACK = packProgram("sae_pack", {
  uniforms: "rows: u32, cols4: u32, src4: u32, stride4: u32",
  item: ["e", "u.rows * u.cols4"],
  body: `let x = e % u.cols4;
  let row = e / u.cols4;
  textureStore(t, vec2u(x, row), z, p[u.src4 + z * u.stride4 + row * u.cols4 + x]);`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a texture.
 *
 * @param gpu The context.
 * @param src The buffer read.
 * @param dst The texture written.
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
  dst: MatrixTexture,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number },
): void {
  const cols4 = at.cols / 4;
  dispatchMembers(gpu, PACK, {
    bindings: [src, dst.view],
    uniforms: new Uint32Array([at.rows, cols4, at.offset / 4, at.stride / 4]),
    items: at.rows * cols4,
    members: at.layers,
  });
}

const NORMALIZE = perMemberProgram({
  name: "sae_normalize",
  uniforms: "n: u32, d: u32, src4: u32, stride4: u32, bias: u32, tied: u32",
  bindings: [
    "var<storage, read> p: array<vec4f>",
    "var dh: texture_storage_2d_array<rgba32float, write>",
    "var dht: texture_storage_2d_array<rgba32float, write>",
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
    textureStore(dh, vec2u(i4, j), z, a);
    textureStore(dh, vec2u(i4, j + 1u), z, b);
    textureStore(dh, vec2u(i4, j + 2u), z, c);
    textureStore(dh, vec2u(i4, j + 3u), z, e);
    ${storeTransposed("dht", { x: "j4", y: "i4 * 4u", layer: "z" }, ["a", "b", "c", "e"])}
  }
  if (u.tied == 1u) {
    textureStore(dht, vec2u(j4, u.d), z, p[u.bias / 4u + (z * u.n) / 4u + j4]);
    for (var r = 1u; r < 4u; r++) { textureStore(dht, vec2u(j4, u.d + r), z, vec4f(0.0)); }
  }`,
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
 * `D̂ = D / max(‖D_j‖, 1e-8)` into textures `D̂ [n, d]` and `D̂ᵀ [d(+4), n]`; row norms into `norms`.
 *
 * @param gpu The context.
 * @param params The packed parameters.
 * @param out The unit-row textures, the norms, the sizes and where the rows sit.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * normalizeRows(gpu, params, { dh, dht, norms, n, d, members, at });
 * ```
 */
export function normalizeRows(
  gpu: Gpu,
  params: Binding,
  out: { dh: MatrixTexture; dht: MatrixTexture; norms: Binding; n: number; d: number; members: number; at: RowsAt },
): void {
  const { n, d, at } = out;
  dispatchMembers(gpu, NORMALIZE, {
    bindings: [params, out.dh.view, out.dht.view, out.norms],
    uniforms: new Uint32Array([n, d, at.offset / 4, at.stride / 4, at.bias ?? 0, at.bias === undefined ? 0 : 1]),
    items: n / 4,
    members: out.members,
  });
}

const NORM_BACKWARD = perMemberProgram({
  name: "sae_normalize_backward",
  uniforms: "n: u32, d: u32, dst: u32, dstStride: u32, tied: u32, dwStride: u32, biasDst: u32",
  bindings: [
    "var<storage, read> gd: array<vec4f>",
    "var dh: texture_2d_array<f32>",
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
    for (var i4 = 0u; i4 < d4; i4++) { dotv += dot(gradDir(z, j, i4), textureLoad(dh, vec2u(i4, j), z, 0)); }
  }
  let o = u.dst + z * u.dstStride + j * u.d;
  for (var i4 = 0u; i4 < d4; i4++) {
    let v = (gradDir(z, j, i4) - dotv * textureLoad(dh, vec2u(i4, j), z, 0)) / nrm;
    grad[o + i4 * 4u] = v.x; grad[o + i4 * 4u + 1u] = v.y; grad[o + i4 * 4u + 2u] = v.z; grad[o + i4 * 4u + 3u] = v.w;
  }
  if (u.tied == 1u) { grad[u.biasDst + z * u.n + j] = dw[(z * u.dwStride + j * (u.d + 4u) + u.d) / 4u].x; }`,
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
  inputs: { gd: Binding; dh: MatrixTexture; norms: Binding; dw?: Binding },
  out: { grad: Binding; n: number; d: number; members: number; at: RowsAt },
): void {
  const { n, d, at } = out;
  const tied = inputs.dw !== undefined;
  dispatchMembers(gpu, NORM_BACKWARD, {
    bindings: [inputs.gd, inputs.dh.view, inputs.norms, inputs.dw ?? inputs.norms, out.grad],
    uniforms: new Uint32Array([n, d, at.offset, at.stride, tied ? 1 : 0, (d + 4) * n, at.bias ?? 0]),
    items: n,
    members: out.members,
  });
}
