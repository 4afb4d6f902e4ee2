/**
 * The SAE training matmuls that follow the firing codes (`sae_sparse_codes.ts` lists), for the sparse
 * path of a step; the dense path is `sae_tile_matmul.ts` over k-lists.
 *
 * - {@linkcode sparseRowsMatmul}: `acc[r, :] = Σ_{e ∈ list r} val[e] · Op[idx[e], :]` over the row
 *   lists (CSR, r a batch row: the decoder forward `C D̂`, epilogue `decode`/`decodeBias` as in
 *   `tileMatmul`) or the feature lists (CSC, r a feature: `Cᵀ G` and `∂Pᵀ X_e`, epilogue `store`).
 *   One workgroup of 8 lanes per output row (and block of columns); the lanes split the columns, so
 *   every lane loops over the same list (no divergence) and per entry fetches `V` vec4s of `Op`.
 *   The sum runs over the list in increasing order with one `fma` per entry, the order and
 *   operations of `tileMatmul` over its k-list (whose other terms are exact zeros): the two paths
 *   agree to the bit unless a compiler reassociates.
 * - {@linkcode sparseCodeGrad}: `∂P` at each CSC entry, `(G[b]·D̂[j] + α_z·w_j/B)·[C[b, j] > 0]`,
 *   one invocation per 4 entries (flat over the member's entries, so a feature firing on every row
 *   costs no more than many features firing on a few), `d / 4` loop iterations each.
 *
 * Loop iterations per invocation: a list's length (at most B for a feature, n for a row) in the
 * first, `d / 4` in the second; the trainer takes the sparse path only where those stay below
 * llvmpipe's 65,535 (`sparsePathFits`).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import { type DispatchGate, gatedBy } from "./_wgsl.ts";
import type { SparseCodes } from "./sae_sparse_codes.ts";
import { bindingOf, commonMode, type KernelMode, MatrixBuffer, type MatrixOperand } from "./sae_operands.ts";
import { MatrixTexture } from "./sae_textures.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

const LANES = 8;
/** Largest vec4 columns per lane. */
const MAX_V = 16;
/** CSC entries per code-gradient invocation. */
const ENTRIES = 4;

/** Loop iterations llvmpipe runs in one invocation before it silently stops every loop. */
const LOOP_CAP = 65535;

/**
 * Whether the sparse kernels stay within llvmpipe's loop budget at these sizes (every list length
 * and `d / 4`, and the list builders' scans).
 *
 * @param sizes Largest batch `rows`, features `n` and input width `d`.
 * @returns True when the sparse path may be used.
 * @example
 * ```ts
 * import { sparsePathFits } from "./sae_sparse_matmul.ts";
 * console.log(sparsePathFits({ rows: 4096, n: 2048, d: 512 })); // true
 * ```
 */
export function sparsePathFits(sizes: { rows: number; n: number; d: number }): boolean {
  const { rows, n, d } = sizes;
  return rows < LOOP_CAP && n < LOOP_CAP && (d + 4) / 4 < LOOP_CAP && 2 * Math.ceil((rows + n) / 256) < LOOP_CAP;
}

/** Epilogue of {@linkcode sparseRowsMatmul}. */
export type SparseEpilogue = "store" | "decode" | "decodeBias";

/** Vec4 columns per lane for `c4` vec4 columns: as few blocks of `8 · V ≤ 8 · MAX_V` as cover them. */
function perLane(c4: number): number {
  const blocks = Math.ceil(c4 / (LANES * MAX_V));
  return Math.ceil(c4 / (LANES * blocks));
}

function rowsCode(ep: SparseEpilogue, csc: boolean, V: number, mode: KernelMode): string {
  const w = operandWgsl(mode);
  const vs = Array.from({ length: V }, (_, v) => v);
  // the feature lists' starts are offset by the member's total: only they bind `totals`
  const o = csc ? 6 : 5;
  const out = ep === "store"
    ? `@group(0) @binding(${o}) var<storage, read_write> out: array<vec4f>;`
    : `@group(0) @binding(${o}) ${w.decl("tx", "read")};
@group(0) @binding(${o + 1}) ${w.decl("og", "write")};${
      ep === "decodeBias" ? `\n@group(0) @binding(${o + 2}) var<storage, read> bdec: array<vec4f>;` : ""
    }`;
  const uBinding = o + { store: 1, decode: 2, decodeBias: 3 }[ep];
  const fields = w.fields(ep === "store" ? ["op"] : ["op", "tx", "og"]);
  const tail = vs.map((v) => {
    const col = `c${v}`, acc = `acc${v}`;
    if (ep === "store") return `if (${col} < u.c4) { out[(u.base + z * u.stride) / 4u + r * u.c4 + ${col}] = ${acc}; }`;
    const bias = ep === "decodeBias" ? ` + bdec[(u.base + z * u.stride) / 4u + cl${v}]` : "";
    const x = w.load("tx", { x: `cl${v}`, y: "r", layer: "0" });
    return `if (${col} < u.c4) { ${
      w.store("og", { x: col, y: "r", layer: "z" }, `u.scale * (${acc}${bias} - ${x})`)
    } }`;
  });
  return `
struct U { rows: u32, n: u32, cap: u32, c4: u32, base: u32, stride: u32, scale: f32, sharedOp: u32${fields} }
@group(0) @binding(0) ${w.decl("op", "read")};
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> val: array<f32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
@group(0) @binding(4) var<storage, read> starts: array<u32>;
${csc ? "@group(0) @binding(5) var<storage, read> totals: array<u32>;" : ""}
${out}
@group(0) @binding(${uBinding}) var<uniform> u: U;

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) li: vec3u) {
  let z = wg.z;
  let r = wg.y;
  let lo = select(z, 0u, u.sharedOp == 1u);
  let li0 = z * (u.rows + u.n) + ${csc ? "u.rows + " : ""}r;
  let cnt = counts[li0];
  let e0 = z * u.cap + starts[li0]${csc ? " - totals[z]" : ""};
  ${vs.map((v) => `let c${v} = (wg.x * ${V}u + ${v}u) * ${LANES}u + li.x;`).join("\n  ")}
  ${vs.map((v) => `let cl${v} = min(c${v}, u.c4 - 1u);`).join("\n  ")}
  ${vs.map((v) => `var acc${v} = vec4f(0.0);`).join("\n  ")}
  for (var e = 0u; e < cnt; e++) {
    let k = idx[e0 + e];
    let a = vec4f(val[e0 + e]);
    ${vs.map((v) => `acc${v} = fma(a, ${w.load("op", { x: `cl${v}`, y: "k", layer: "lo" })}, acc${v});`).join("\n    ")}
  }
  ${tail.join("\n  ")}
}`;
}

const ROWS = programsByMode((mode, key): Program => {
  const [ep, csc, v] = key.split("/");
  return {
    name: "sae_sparse_rows",
    key: modeKey(mode, key),
    code: () => rowsCode(ep as SparseEpilogue, csc === "csc", Number(v), mode),
  };
});

/** Arguments of {@linkcode sparseRowsMatmul}. */
export interface SparseRowsArgs {
  /** `Op [K, N]` per member (or shared, one layer): `D̂` for the row lists, `G` or `X_e` for the feature lists. */
  op: MatrixOperand;
  /** The lists (built this step) and which: `"rows"` (CSR, output rows = batch rows) or `"features"` (CSC). */
  codes: SparseCodes;
  lists: "rows" | "features";
  /** Values per entry: the codes (default) or, for the feature lists, `codes.dp` (the encoder gradient). */
  values?: "codes" | "dp";
  /** Batch rows and features in use, output columns `N` (a multiple of 4) and members. */
  rows: number;
  n: number;
  cols: number;
  members: number;
  /**
   * `store`: the output buffer (`out[base + z·stride + r·N + col]`); `decode`: `X` (shared operand) and
   * the output `G`; `decodeBias`: also `b_dec` at `base + z·stride` of a buffer.
   */
  outputs: readonly (MatrixOperand | Binding)[];
  base?: number;
  stride?: number;
  /** `decode`: factor on `acc − X`. */
  scale?: number;
  /** Runs only when the gate lets it (`sparseGate(…, "sparse")`). */
  gate?: DispatchGate;
}

/**
 * Record `acc = Σ val · Op[idx]` over each row's or feature's list, with its epilogue.
 *
 * @param gpu The context.
 * @param epilogue `store`, `decode` or `decodeBias`.
 * @param args Operand, lists, sizes and outputs.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * sparseRowsMatmul(gpu, "store", { op: g, codes, lists: "features", rows, n, cols: d, members, outputs: [gd], stride: n * d });
 * ```
 */
export function sparseRowsMatmul(gpu: Gpu, epilogue: SparseEpilogue, args: SparseRowsArgs): void {
  const { op, codes, rows, n, cols, members } = args;
  if (cols % 4 !== 0 || op.cols < cols) {
    throw new RangeError(`Cannot run sae_sparse_rows: ${cols} columns (a multiple of 4, at most ${op.cols})`);
  }
  const csc = args.lists === "features";
  const c4 = cols / 4, V = perLane(c4);
  const matrices = args.outputs.filter((o): o is MatrixOperand => isOperand(o));
  const mode = commonMode("sae_sparse_rows", [op, ...matrices]);
  const prog = ROWS(mode, `${epilogue}/${csc ? "csc" : "csr"}/${V}`);
  const u = new ArrayBuffer(32);
  new Uint32Array(u).set([rows, n, codes.capacity, c4, args.base ?? 0, args.stride ?? 0]);
  new Float32Array(u)[6] = args.scale ?? 1;
  new Uint32Array(u)[7] = op.layers === 1 ? 1 : 0;
  const idx = csc ? codes.colIdx : codes.rowIdx;
  const val = csc ? (args.values === "dp" ? codes.dp : codes.colVal) : codes.rowVal;
  const workgroups = [Math.ceil(c4 / (LANES * V)), csc ? n : rows, members];
  gpu.dispatch(prog, {
    bindings: [
      bindingOf(op),
      idx,
      val,
      codes.counts,
      codes.starts,
      ...(csc ? [codes.totals] : []),
      ...args.outputs.map((o) => isOperand(o) ? bindingOf(o) : o),
    ],
    uniforms: withOperandSizes(u, [op, ...matrices]),
    workgroups,
    ...gatedBy(args.gate, workgroups),
  });
}

const CODE_GRAD = programsByMode((mode, key): Program => {
  const w = operandWgsl(mode);
  const weighted = key === "w";
  const qs = Array.from({ length: ENTRIES }, (_, q) => q);
  return {
    name: "sae_sparse_code_grad",
    key: modeKey(mode, `e${ENTRIES}${key}`),
    code: () => `
struct U { rows: u32, n: u32, d4: u32, cap: u32, scale: f32${w.fields(["tg", "tdh"])} }
@group(0) @binding(0) ${w.decl("tg", "read")};
@group(0) @binding(1) ${w.decl("tdh", "read")};
@group(0) @binding(2) var<storage, read> colIdx: array<u32>;
@group(0) @binding(3) var<storage, read> colVal: array<f32>;
@group(0) @binding(4) var<storage, read> colFeat: array<u32>;
@group(0) @binding(5) var<storage, read> totals: array<u32>;
@group(0) @binding(6) var<storage, read> alphas: array<f32>;
@group(0) @binding(7) var<storage, read_write> dp: array<f32>;
${weighted ? "@group(0) @binding(8) var<storage, read> wts: array<f32>;" : ""}
@group(0) @binding(${weighted ? 9 : 8}) var<uniform> u: U;

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) li: vec3u) {
  let z = wg.z;
  let first = (wg.y * nwg.x + wg.x) * ${LANES * ENTRIES}u;
  let total = totals[z];
  let last = max(total, 1u) - 1u;
  let e0 = z * u.cap;
  ${
      qs.map((q) =>
        `let ent${q} = first + ${q * LANES}u + li.x;
  let at${q} = e0 + min(ent${q}, last);
  let b${q} = colIdx[at${q}];
  let j${q} = colFeat[at${q}];
  var acc${q} = 0.0;`
      ).join("\n  ")
    }
  // a workgroup past the member's entries loops zero times
  let steps = select(0u, u.d4, first < total);
  for (var i4 = 0u; i4 < steps; i4++) {
    ${
      qs.map((q) =>
        `acc${q} += dot(${w.load("tg", { x: "i4", y: `b${q}`, layer: "z" })}, ${
          w.load("tdh", { x: "i4", y: `j${q}`, layer: "z" })
        });`
      ).join("\n    ")
    }
  }
  let alpha = alphas[z] * u.scale;
  ${
      qs.map((q) =>
        `if (ent${q} < total) {
    dp[e0 + ent${q}] = select(0.0, acc${q} + alpha${weighted ? ` * wts[z * u.n + j${q}]` : ""}, colVal[at${q}] > 0.0);
  }`
      ).join("\n  ")
    }
}`,
  };
});

/**
 * Record `∂P` at every CSC entry into `codes.dp` (sparse path only: gate it).
 *
 * @param gpu The context.
 * @param inputs `G [B, d]` and `D̂ [n, d]` (one mode), the lists, α per member and optionally a
 *   weight per feature `[Z·n]` on α (the decoder-norm penalty).
 * @param out Sizes in use (`d` the columns of `G`) and the gate.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * sparseCodeGrad(gpu, { g, dh, codes, alphas }, { rows, n, d, members, gate: sparseGate(gpu, codes, "sparse", 32) });
 * ```
 */
export function sparseCodeGrad(
  gpu: Gpu,
  inputs: { g: MatrixOperand; dh: MatrixOperand; codes: SparseCodes; alphas: Binding; weights?: Binding },
  out: { rows: number; n: number; d: number; members: number; gate?: DispatchGate },
): void {
  const { g, dh, codes } = inputs;
  const prog = CODE_GRAD(commonMode("sae_sparse_code_grad", [g, dh]), inputs.weights ? "w" : "");
  const u = new ArrayBuffer(20);
  new Uint32Array(u).set([out.rows, out.n, out.d / 4, codes.capacity]);
  new Float32Array(u)[4] = 1 / out.rows;
  const need = Math.ceil(codes.capacity / SPARSE_CODE_GRAD_ENTRIES);
  const workgroups = [Math.min(need, 65535), Math.ceil(need / 65535), out.members];
  gpu.dispatch(prog, {
    bindings: [
      bindingOf(g),
      bindingOf(dh),
      codes.colIdx,
      codes.colVal,
      codes.colFeat,
      codes.totals,
      inputs.alphas,
      codes.dp,
      ...(inputs.weights ? [inputs.weights] : []),
    ],
    uniforms: withOperandSizes(u, [g, dh]),
    workgroups,
    ...gatedBy(out.gate, workgroups),
  });
}

/** CSC entries one workgroup of {@linkcode sparseCodeGrad} takes (the gate's `perEntry`). */
export const SPARSE_CODE_GRAD_ENTRIES = LANES * ENTRIES;

function isOperand(o: unknown): o is MatrixOperand {
  return o instanceof MatrixTexture || o instanceof MatrixBuffer;
}
