/**
 * Per-row statistics of a step (squared error, L0, L1) and the TopK
 * selection. No workgroup memory: each invocation owns its rows.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import type { MatrixTexture } from "./sae_textures.ts";

const STATS = perMemberProgram({
  name: "sae_row_stats",
  uniforms: "rows: u32, n: u32, d: u32, inv: f32",
  bindings: [
    "var tc: texture_2d_array<f32>",
    "var tg: texture_2d_array<f32>",
    "var<storage, read_write> out: array<vec4f>",
  ],
  item: ["b", "u.rows"],
  body: `var se = 0.0;
  for (var i4 = 0u; i4 < u.d / 4u; i4++) {
    let e = textureLoad(tg, vec2u(i4, b), z, 0) * u.inv;
    se += dot(e, e);
  }
  var l0 = 0.0;
  var l1 = 0.0;
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    let c = textureLoad(tc, vec2u(j4, b), z, 0);
    l0 += dot(select(vec4f(0.0), vec4f(1.0), c > vec4f(0.0)), vec4f(1.0));
    l1 += dot(abs(c), vec4f(1.0));
  }
  out[z * u.rows + b] = vec4f(se, l0, l1, 0.0);`,
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
  inputs: { c: MatrixTexture; g: MatrixTexture },
  out: { stats: Binding; rows: number; n: number; d: number; members: number; inv: number },
): void {
  const u = new ArrayBuffer(16);
  new Uint32Array(u).set([out.rows, out.n, out.d]);
  new Float32Array(u)[3] = out.inv;
  dispatchMembers(gpu, STATS, {
    bindings: [inputs.c.view, inputs.g.view, out.stats],
    uniforms: u,
    items: out.rows,
    members: out.members,
  });
}

const TOPK = perMemberProgram({
  name: "sae_topk",
  uniforms: "rows: u32, n: u32, k: u32, step: u32",
  bindings: [
    "var tp: texture_2d_array<f32>",
    "var oc: texture_storage_2d_array<rgba32float, write>",
    "var oct: texture_storage_2d_array<rgba32float, write>",
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
      count += dot(select(vec4u(0u), vec4u(1u), key(textureLoad(tp, vec2u(j4, b), z, 0)) >= vec4u(cand)), vec4u(1u));
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
      let p = textureLoad(tp, vec2u(j4, b + r), z, 0);
      v[r] = select(vec4f(0.0), max(p, vec4f(0.0)), key(p) >= vec4u(t[r]));
      textureStore(oc, vec2u(j4, b + r), z, v[r]);
    }
    for (var c = 0u; c < 4u; c++) {
      let col = vec4f(v[0][c], v[1][c], v[2][c], v[3][c]);
      textureStore(oct, vec2u(b4, j4 * 4u + c), z, col);
      if (any(col > vec4f(0.0))) { fired[z * u.n + j4 * 4u + c] = u.step; }
    }
  }`,
});

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
  inputs: { p: MatrixTexture },
  out: {
    c: MatrixTexture;
    ct: MatrixTexture;
    fired: Binding;
    rows: number;
    n: number;
    k: number;
    members: number;
    step: number;
  },
): void {
  dispatchMembers(gpu, TOPK, {
    bindings: [inputs.p.view, out.c.view, out.ct.view, out.fired],
    uniforms: new Uint32Array([out.rows, out.n, out.k, out.step]),
    items: out.rows / 4,
    members: out.members,
  });
}
