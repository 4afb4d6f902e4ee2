/**
 * Small kernels of the SAE training step around the matmuls: input staging,
 * parameter → texture packing, decoder-row normalisation and its backward.
 * None uses workgroup memory (cheap to compile on every backend).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import type { MatrixTexture } from "./sae_textures.ts";

function prog(name: string, code: string): Program {
  return { name, key: "v1", code: () => code };
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
  textureStore(xt, vec2u(b4, i4 * 4u), 0, vec4f(r0.x, r1.x, r2.x, r3.x));
  textureStore(xt, vec2u(b4, i4 * 4u + 1u), 0, vec4f(r0.y, r1.y, r2.y, r3.y));
  textureStore(xt, vec2u(b4, i4 * 4u + 2u), 0, vec4f(r0.z, r1.z, r2.z, r3.z));
  textureStore(xt, vec2u(b4, i4 * 4u + 3u), 0, vec4f(r0.w, r1.w, r2.w, r3.w));
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

const PACK_T = prog(
  "sae_pack_transposed",
  `struct U { rows: u32, cols: u32, src4: u32, stride4: u32 }
@group(0) @binding(0) var<storage, read> p: array<vec4f>;
@group(0) @binding(1) var t: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c4 = u.cols / 4u;
  let i4 = g.x % c4;
  let j4 = g.x / c4;
  if (j4 >= u.rows / 4u) { return; }
  let base = u.src4 + g.y * u.stride4 + j4 * 4u * c4 + i4;
  let r0 = p[base]; let r1 = p[base + c4]; let r2 = p[base + 2u * c4]; let r3 = p[base + 3u * c4];
  textureStore(t, vec2u(j4, i4 * 4u), g.y, vec4f(r0.x, r1.x, r2.x, r3.x));
  textureStore(t, vec2u(j4, i4 * 4u + 1u), g.y, vec4f(r0.y, r1.y, r2.y, r3.y));
  textureStore(t, vec2u(j4, i4 * 4u + 2u), g.y, vec4f(r0.z, r1.z, r2.z, r3.z));
  textureStore(t, vec2u(j4, i4 * 4u + 3u), g.y, vec4f(r0.w, r1.w, r2.w, r3.w));
}`,
);

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
  gpu.dispatch(PACK_T, {
    bindings: [src, dst.view],
    uniforms: new Uint32Array([at.rows, at.cols, at.offset / 4, at.stride / 4]),
    workgroups: [Math.ceil(blocks / 64), at.layers, 1],
  });
}

const PACK = prog(
  "sae_pack",
  `struct U { rows: u32, cols4: u32, src4: u32, stride4: u32 }
@group(0) @binding(0) var<storage, read> p: array<vec4f>;
@group(0) @binding(1) var t: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let x = g.x % u.cols4;
  let row = g.x / u.cols4;
  if (row >= u.rows) { return; }
  textureStore(t, vec2u(x, row), g.y, p[u.src4 + g.y * u.stride4 + row * u.cols4 + x]);
}`,
);

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
  gpu.dispatch(PACK, {
    bindings: [src, dst.view],
    uniforms: new Uint32Array([at.rows, cols4, at.offset / 4, at.stride / 4]),
    workgroups: [Math.ceil((at.rows * cols4) / 64), at.layers, 1],
  });
}

const NORMALIZE = prog(
  "sae_normalize",
  `struct U { n: u32, d: u32, src4: u32, stride4: u32, bias: u32, tied: u32 }
@group(0) @binding(0) var<storage, read> p: array<vec4f>;
@group(0) @binding(1) var dh: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(2) var dht: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let j4 = g.x;
  let z = g.y;
  let d4 = u.d / 4u;
  if (j4 >= u.n / 4u) { return; }
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
    textureStore(dht, vec2u(j4, i4 * 4u), z, vec4f(a.x, b.x, c.x, e.x));
    textureStore(dht, vec2u(j4, i4 * 4u + 1u), z, vec4f(a.y, b.y, c.y, e.y));
    textureStore(dht, vec2u(j4, i4 * 4u + 2u), z, vec4f(a.z, b.z, c.z, e.z));
    textureStore(dht, vec2u(j4, i4 * 4u + 3u), z, vec4f(a.w, b.w, c.w, e.w));
  }
  if (u.tied == 1u) {
    textureStore(dht, vec2u(j4, u.d), z, p[u.bias / 4u + (z * u.n) / 4u + j4]);
    for (var r = 1u; r < 4u; r++) { textureStore(dht, vec2u(j4, u.d + r), z, vec4f(0.0)); }
  }
}`,
);

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
  gpu.dispatch(NORMALIZE, {
    bindings: [params, out.dh.view, out.dht.view, out.norms],
    uniforms: new Uint32Array([n, d, at.offset / 4, at.stride / 4, at.bias ?? 0, at.bias === undefined ? 0 : 1]),
    workgroups: [Math.ceil(n / 4 / 64), out.members, 1],
  });
}

const NORM_BACKWARD = prog(
  "sae_normalize_backward",
  `struct U { n: u32, d: u32, dst: u32, dstStride: u32, tied: u32, dwStride: u32, biasDst: u32 }
@group(0) @binding(0) var<storage, read> gd: array<vec4f>;
@group(0) @binding(1) var dh: texture_2d_array<f32>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read> dw: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn gradDir(z: u32, j: u32, i4: u32) -> vec4f {
  var v = gd[(z * u.n + j) * (u.d / 4u) + i4];
  if (u.tied == 1u) { v += dw[(z * u.dwStride + j * (u.d + 4u)) / 4u + i4]; }
  return v;
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let j = g.x;
  let z = g.y;
  if (j >= u.n) { return; }
  let d4 = u.d / 4u;
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
  if (u.tied == 1u) { grad[u.biasDst + z * u.n + j] = dw[(z * u.dwStride + j * (u.d + 4u) + u.d) / 4u].x; }
}`,
);

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
  gpu.dispatch(NORM_BACKWARD, {
    bindings: [inputs.gd, inputs.dh.view, inputs.norms, inputs.dw ?? inputs.norms, out.grad],
    uniforms: new Uint32Array([n, d, at.offset, at.stride, tied ? 1 : 0, (d + 4) * n, at.bias ?? 0]),
    workgroups: [Math.ceil(n / 64), out.members, 1],
  });
}
