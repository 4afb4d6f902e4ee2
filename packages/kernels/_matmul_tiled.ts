/**
 * Register-blocked matmul over storage buffers with workgroup-memory tiles:
 * the layout a discrete GPU prefers. A workgroup of TX×TY invocations owns a
 * BM×BN block of C (BM = 4·TY, BN = 4·TX); each invocation keeps a 4×4 block
 * of accumulators in registers. Every BK-slice of op(A) and op(B) is staged
 * in workgroup memory, k-major, as vec4s of 4 rows (columns) so the inner
 * loop does two vec4 loads per 16 multiply-adds. (Workgroup arrays are kept
 * as vec4 and small because some WGSL→GLSL paths zero-initialise them with
 * an array constructor whose compile time grows fast with its length.)
 * Operands are read through run-time strides, so one pipeline serves all
 * transpose combinations; the staging loop picks the coalesced order from
 * the strides.
 *
 * Bindings: 0 `a`, 1 `b`, 2 `bias` (read), 3 `c` (read_write), 4 `p` (Params).
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import { dispatchTiles, type MatmulProblem, params, STORAGE_HEAD_WGSL, storageBindings } from "./_matmul_common.ts";

/** Tile sizes of the storage-buffer kernel (each invocation computes 4×4 outputs). */
export interface TiledConfig {
  /** Invocations along columns. */
  tx: number;
  /** Invocations along rows. */
  ty: number;
  /** Depth of one staged slice. */
  bk: number;
}

/** Default tile: 16×16 invocations, a 64×64 block of C, slices of 8. */
export const TILED: TiledConfig = { tx: 16, ty: 16, bk: 8 };

function program(cfg: TiledConfig): Program {
  const { tx, ty, bk } = cfg;
  const bm = ty * 4, bn = tx * 4, threads = tx * ty;
  const loadsA = Math.ceil((bm * bk) / threads), loadsB = Math.ceil((bn * bk) / threads);
  const q = [0, 1, 2, 3];
  return {
    name: "matmul_tiled",
    key: `${tx}x${ty}/${bk}`,
    code: () =>
      `${STORAGE_HEAD_WGSL}

// k-major slices; one vec4 holds 4 consecutive rows (As) or columns (Bs)
var<workgroup> As: array<vec4f, ${(bk * bm) / 4}>; // [BK, BM/4]
var<workgroup> Bs: array<vec4f, ${(bk * bn) / 4}>; // [BK, BN/4]

@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wg: vec3u) {
  let m0 = (wg.y + p.tile0) * ${bm}u;
  let n0 = wg.x * ${bn}u;
  let t = lid.y * ${tx}u + lid.x;
  let aKFast = p.sa1 == 1u;
  let bNFast = p.sb1 == 1u;
  ${q.map((i) => `var acc${i} = vec4f(0.0);`).join("\n  ")}
  for (var k0 = 0u; k0 < p.k; k0 = k0 + ${bk}u) {
    for (var s = 0u; s < ${loadsA}u; s++) {
      let e = t + s * ${threads}u;
      if (e < ${bm * bk}u) {
        var r = e % ${bm}u;
        var l = e / ${bm}u;
        if (aKFast) { r = e / ${bk}u; l = e % ${bk}u; }
        var v = 0.0;
        if (m0 + r < p.m && k0 + l < p.k) { v = a[(m0 + r) * p.sa0 + (k0 + l) * p.sa1]; }
        As[l * ${bm / 4}u + r / 4u][r % 4u] = v;
      }
    }
    for (var s = 0u; s < ${loadsB}u; s++) {
      let e = t + s * ${threads}u;
      if (e < ${bn * bk}u) {
        var j = e % ${bn}u;
        var l = e / ${bn}u;
        if (!bNFast) { j = e / ${bk}u; l = e % ${bk}u; }
        var v = 0.0;
        if (n0 + j < p.n && k0 + l < p.k) { v = b[(k0 + l) * p.sb0 + (n0 + j) * p.sb1]; }
        Bs[l * ${bn / 4}u + j / 4u][j % 4u] = v;
      }
    }
    workgroupBarrier();
    for (var l = 0u; l < ${bk}u; l++) {
      let av = As[l * ${bm / 4}u + lid.y];
      let bv = Bs[l * ${bn / 4}u + lid.x];
      ${q.map((i) => `acc${i} = acc${i} + av.${"xyzw"[i]} * bv;`).join("\n      ")}
    }
    workgroupBarrier();
  }
  let c0 = n0 + lid.x * 4u;
  ${q.map((i) => `if (m0 + lid.y * 4u + ${i}u < p.m) { store4(m0 + lid.y * 4u + ${i}u, c0, acc${i}); }`).join("\n  ")}
}

fn store4(i: u32, j: u32, v: vec4f) {
  for (var s = 0u; s < 4u; s++) {
    if (j + s < p.n) { finish(i, j + s, v[s]); }
  }
}
`,
  };
}

const programs = new Map<string, Program>();

/** Record the storage-buffer tiled kernel for a validated problem. */
export function matmulTiled(gpu: Gpu, pr: MatmulProblem, cfg: TiledConfig = TILED): void {
  const key = `${cfg.tx}x${cfg.ty}/${cfg.bk}`;
  let prog = programs.get(key);
  if (!prog) programs.set(key, prog = program(cfg));
  dispatchTiles(gpu, prog, {
    bindings: storageBindings(pr),
    uniforms: params(pr),
    tiles: [Math.ceil(pr.n / (cfg.tx * 4)), Math.ceil(pr.m / (cfg.ty * 4))],
  });
}
