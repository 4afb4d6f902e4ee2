/**
 * Matmul reading its operands through `textureLoad` from `rgba32float`
 * textures bound as read-only storage textures (see `_matmul_stage.ts` for
 * the layout). On CPU software adapters (llvmpipe/lavapipe) one load gathers
 * four floats per lane far more cheaply than storage-buffer loads, so this is
 * the fast path there. Read-only storage textures need the WGSL language
 * feature `readonly_and_readwrite_storage_textures`; llvmpipe runs their
 * loads about 1.6× faster than the sampled-texture path (`texture_2d`).
 *
 * Each invocation computes R rows × 4C columns of C. Per step of four k it
 * fetches R texels of A and 4C texels of B and does 16·R·C multiply-adds,
 * all unrolled. Transposes are compile-time: A stored [m, k] (texel = 4 k of
 * one row) or [k, m] (texel = 4 rows at one k); B stored [k, n] (texel = 4
 * columns at one k) or [n, k] (texel = 4 k of one column). Zero texels pad k
 * to a multiple of 4, so the loop needs no tail.
 *
 * The kernel writes alpha·op(A)·op(B) into a product texture padded to whole
 * tiles (no bounds checks, little code: LLVM compiles it in about a second);
 * `_matmul_unstage.ts` then moves it into C with the bias/accumulate/ReLU
 * epilogue.
 *
 * Bindings: 0 `ta`, 1 `tb` (rgba32float storage textures, read), 2 `tc`
 * (rgba32float storage texture, write), 3 `p` (Params: `aw`/`bw`/`cw` =
 * texels per stored row).
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import { dispatchTiles, type MatmulProblem, params, PARAMS_WGSL } from "./_matmul_common.ts";
import { cachedTexture, stage, stagedExtent, wrappedExtent, wrapShift } from "./_matmul_stage.ts";
import { unstage } from "./_matmul_unstage.ts";

/** Register tile and workgroup of the texture kernel. */
export interface TextureConfig {
  /** Rows of C per invocation (a multiple of 4). */
  r: number;
  /** Groups of 4 columns of C per invocation. */
  c: number;
  /** Invocations along columns and rows. */
  wx: number;
  wy: number;
}

/**
 * Tile of every transpose combination, tuned on llvmpipe (2 cores, 256-bit
 * vectors) with the SAE shapes: 16 rows × 16 columns per invocation and 8×4
 * invocations per workgroup. Per step of four k an invocation loads 32
 * texels for 1024 multiply-adds. Half the rows (8×16) ran about 18% slower;
 * 32×16 and 16×32 about 17% slower (register spills) and compile 2–3× longer.
 */
export const TEXTURE_TILE: TextureConfig = { r: 16, c: 4, wx: 8, wy: 4 };

const XYZW = ["x", "y", "z", "w"];

function program(tA: boolean, tB: boolean, cfg: TextureConfig, shift: number): Program {
  const { r: R, c: C, wx, wy } = cfg;
  if (R % 4 !== 0) throw new RangeError(`Cannot build matmul_texture: r = ${R} is not a multiple of 4`);
  const rows = Array.from({ length: R }, (_, i) => i), groups = Array.from({ length: C }, (_, j) => j);
  const ks = [0, 1, 2, 3];
  const fetchA = tA
    ? ks.flatMap((kk) =>
      Array.from({ length: R / 4 }, (_, q) => `let a${kk}_${q} = loadA(kb + ${kk}u, row0 / 4u + ${q}u);`)
    )
    : rows.map((i) => `let a${i} = loadA(row0 + ${i}u, k4);`);
  const aVal = (i: number, kk: number) => tA ? `a${kk}_${i >> 2}.${XYZW[i & 3]}` : `a${i}.${XYZW[kk]}`;
  const fetchB = (j: number) =>
    tB
      ? ks.map((s) => `let b${4 * j + s} = loadB(col0 + ${4 * j + s}u, k4);`)
      : ks.map((kk) => `let b${kk}_${j} = loadB(kb + ${kk}u, x0 + ${j}u);`);
  const bVec = (kk: number, j: number) =>
    tB ? `vec4f(${ks.map((s) => `b${4 * j + s}.${XYZW[kk]}`).join(", ")})` : `b${kk}_${j}`;
  const fma = (i: number, j: number) =>
    `acc${i}_${j} = acc${i}_${j} + ${ks.map((kk) => `${aVal(i, kk)} * ${bVec(kk, j)}`).join(" + ")};`;
  // one column group at a time, so its B texels stay in registers across all rows
  const body = [...fetchA, ...groups.flatMap((j) => [...fetchB(j), ...rows.map((i) => fma(i, j))])];
  const mask = 2 ** shift - 1;
  return {
    name: "matmul_texture",
    key: `${tA ? "T" : "N"}${tB ? "T" : "N"}/${R}x${C}/${wx}x${wy}/shift=${shift}`,
    code: () =>
      `${PARAMS_WGSL}
@group(0) @binding(0) var ta: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var tb: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var tc: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var<uniform> p: Params;

fn loadA(row: u32, x: u32) -> vec4f {
  return textureLoad(ta, vec2u(x + (row >> ${shift}u) * p.aw, row & ${mask}u));
}
fn loadB(row: u32, x: u32) -> vec4f {
  return textureLoad(tb, vec2u(x + (row >> ${shift}u) * p.bw, row & ${mask}u));
}
fn store(row: u32, x: u32, v: vec4f) {
  textureStore(tc, vec2u(x + (row >> ${shift}u) * p.cw, row & ${mask}u), p.alpha * v);
}

@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let row0 = (g.y + p.tile0 * ${wy}u) * ${R}u;
  let x0 = g.x * ${C}u;
  let col0 = x0 * 4u;
  ${rows.flatMap((i) => groups.map((j) => `var acc${i}_${j} = vec4f(0.0);`)).join("\n  ")}
  let steps = (p.k + 3u) / 4u;
  for (var k4 = 0u; k4 < steps; k4++) {
    let kb = k4 * 4u;
    ${body.join("\n    ")}
  }
  ${rows.flatMap((i) => groups.map((j) => `store(row0 + ${i}u, x0 + ${j}u, acc${i}_${j});`)).join("\n  ")}
}
`,
  };
}

const programs = new Map<string, Program>();

type Shape = Pick<MatmulProblem, "m" | "n" | "k" | "transposeA" | "transposeB">;

/** Workgroup grid and the padded product texture ([rows, texels per row]) of a problem. */
function outputLayout(pr: Shape, cfg: TextureConfig): { tiles: [number, number]; rows: number; texels: number } {
  const tiles: [number, number] = [Math.ceil(pr.n / (4 * cfg.c * cfg.wx)), Math.ceil(pr.m / (cfg.r * cfg.wy))];
  return { tiles, rows: tiles[1] * cfg.r * cfg.wy, texels: tiles[0] * cfg.c * cfg.wx };
}

/** The WGSL language feature the texture kernel needs. */
const READ_ONLY_TEXTURES = "readonly_and_readwrite_storage_textures";

/** True when this runtime's WGSL has read-only storage textures. */
export function textureLoadsSupported(): boolean {
  const gpu = (globalThis as { navigator?: { gpu?: { wgslLanguageFeatures?: ReadonlySet<string> } } }).navigator?.gpu;
  return gpu?.wgslLanguageFeatures?.has(READ_ONLY_TEXTURES) ?? false;
}

/**
 * True when the runtime supports the texture kernel and the operands and the
 * product of a problem fit the texture limits.
 */
export function textureFits(gpu: Gpu, pr: Shape, cfg: TextureConfig = TEXTURE_TILE): boolean {
  if (!textureLoadsSupported()) return false;
  const pad = (x: number) => Math.ceil(x / 4) * 4;
  const a = pr.transposeA ? stagedExtent(gpu, pad(pr.k), pr.m) : stagedExtent(gpu, pr.m, pr.k);
  const b = pr.transposeB ? stagedExtent(gpu, pr.n, pr.k) : stagedExtent(gpu, pad(pr.k), pr.n);
  const out = outputLayout(pr, cfg);
  return a !== null && b !== null && wrappedExtent(gpu, out.rows, out.texels) !== null;
}

/** Record the staging, the texture kernel and the epilogue for a validated problem (k ≥ 1). */
export function matmulTexture(gpu: Gpu, pr: MatmulProblem, cfg: TextureConfig = TEXTURE_TILE): void {
  const shift = wrapShift(gpu);
  const key = `${pr.transposeA ? "T" : "N"}${pr.transposeB ? "T" : "N"}/${cfg.r}x${cfg.c}/${cfg.wx}x${cfg.wy}/${shift}`;
  let prog = programs.get(key);
  if (!prog) programs.set(key, prog = program(pr.transposeA, pr.transposeB, cfg, shift));
  const keep = new Set<GPUTexture>();
  const sa = pr.transposeA
    ? stage(gpu, pr.a, { rows: pr.k, cols: pr.m, padRows: true, slot: "a", keep })
    : stage(gpu, pr.a, { rows: pr.m, cols: pr.k, padRows: false, slot: "a", keep });
  const sb = pr.transposeB
    ? stage(gpu, pr.b, { rows: pr.n, cols: pr.k, padRows: false, slot: "b", keep })
    : stage(gpu, pr.b, { rows: pr.k, cols: pr.n, padRows: true, slot: "b", keep });
  const out = outputLayout(pr, cfg);
  const extent = wrappedExtent(gpu, out.rows, out.texels);
  if (!extent) {
    throw new RangeError(`Cannot run matmul_texture: the product [${pr.m}, ${pr.n}] exceeds the texture limits`);
  }
  const tc = cachedTexture(gpu, extent[0], extent[1], { slot: "c", keep });
  dispatchTiles(gpu, prog, {
    bindings: [sa.texture.createView(), sb.texture.createView(), tc.createView()],
    uniforms: params(pr, { aw: sa.cols4, bw: sb.cols4, cw: out.texels }),
    tiles: out.tiles,
  });
  unstage(gpu, pr, tc, out.texels);
}
