/**
 * `sae_matmul`: the batched matmul of the SAE trainer with its fused epilogues.
 *
 * For every member z (dispatch dimension z) it computes
 * `acc[m, n] = Σ_k At[k, m] · Bt[k, n]`, both operands stored k-major in
 * `rgba32float` 2D-array textures or in storage buffers of the same layout
 * (texel or vec4 = 4 consecutive m or n of one k; layer z, or layer 0 when the
 * operand is shared by all members; `sae_operands.ts`). One WGSL builder
 * serves both modes. Each
 * invocation holds a 16 × 16 register tile and per k fetches 4 + 4 texels for
 * 256 multiply-adds; workgroup 8 × 8 (the lanes of one SIMD row share the
 * `At` texels). Tuned on llvmpipe by CPU time per kernel: 16 × 16 beat 8 × 8
 * by 1.3–1.6× on every stage of the paper's shape.
 *
 * Epilogues (compile-time):
 * - `store`: `out[base + z·stride + m·N + n] = acc` (storage buffer).
 * - `encode`: `C = ReLU(acc + bias)` (bias = row `biasRow` of `Bt`), written to
 *   operand `C [M, N]` and transposed to `Cᵀ [N, M]`; `fired[z·N + n] = step`
 *   where a feature fired. `encodeRaw` writes `acc + bias` to `C` only (TopK selects later).
 * - `decode`: `G = scale · (acc − X)` with `X` read from a shared operand, written
 *   to operand `G [M, N]`. `decodeBias` adds each member's decoder bias first,
 *   `G = scale · (acc + b_dec − X)`, `b_dec [N]` read at `base + z·stride` of a storage buffer.
 *
 * With a k-list (`list`), the k loop runs only over the k at which the tile's
 * rows of `At` are not all zero — codes and code gradients are sparse once an
 * SAE has trained. The list of each tile of TM rows comes from `sae_k_lists.ts`.
 * A loop with a data-dependent trip count really skips work on llvmpipe, where
 * a branch around the multiply-adds would only be masked (measured: an
 * all-zero and a dense `At` then cost the same).
 *
 * M and N must be multiples of 4; partial tiles are guarded.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { MatrixTexture } from "./sae_textures.ts";
import type { KList } from "./sae_k_lists.ts";
import { type DispatchGate, gatedBy } from "./_wgsl.ts";
import { bindingOf, commonMode, type KernelMode, MatrixBuffer, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, type OperandWgsl, operandWgsl, withOperandSizes } from "./sae_operand_wgsl.ts";

/** Register tile (rows m × columns n per invocation) and workgroup size (along n, m). */
export interface TileConfig {
  tm: number;
  tn: number;
  wx: number;
  wy: number;
}

/** The tile of large problems (tuned on llvmpipe). */
export const LARGE_TILE: TileConfig = Object.freeze({ tm: 16, tn: 16, wx: 8, wy: 8 });
/** The tile of small problems: they gain little from 16 × 16 and its shaders take longer to compile. */
export const SMALL_TILE: TileConfig = Object.freeze({ tm: 8, tn: 8, wx: 8, wy: 8 });

/**
 * The tile of large problems whose k loop follows a k-list. 8 × 32 tiles skip more (at 4% code
 * density an 8-row tile is active at a third of the k, a 16-row one at half) but cost 40% more
 * while codes are dense; measured over both regimes, 16 × 16 won.
 */
export const LARGE_LIST_TILE: TileConfig = Object.freeze({ tm: 16, tn: 16, wx: 8, wy: 8 });

/** * The tile for an `m × n` result: from 256 × 256 outputs on {@linkcode LARGE_TILE} (or
 * {@linkcode LARGE_LIST_TILE} for a k-list matmul), else {@linkcode SMALL_TILE}.
 *
 * @param m Rows of the product.
 * @param n Columns of the product.
 * @param options `list`: the product runs over k-lists.
 * @returns The register tile and workgroup shape.
 * @example
 * ```ts ignore
 * const tile = chooseTile(1024, 128, { list: true });
 * ```
 */
export function chooseTile(m: number, n: number, options: { list?: boolean } = {}): TileConfig {
  return m * n >= 65536 ? (options.list ? LARGE_LIST_TILE : LARGE_TILE) : SMALL_TILE;
}

/** What the kernel does with each accumulated tile. */
export type Epilogue = "store" | "encode" | "encodeRaw" | "decode" | "decodeBias";

const XYZW = ["x", "y", "z", "w"];

/** The matrix operands among each epilogue's outputs, in binding order. */
const OUTPUT_OPERANDS: Record<Epilogue, readonly string[]> = {
  store: [],
  encode: ["oc", "oct"],
  encodeRaw: ["oc"],
  decode: ["tx", "og"],
  decodeBias: ["tx", "og"],
};

function head(ep: Epilogue, list: boolean, w: OperandWgsl): string {
  const out = {
    store: `@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;`,
    encode: `@group(0) @binding(2) ${w.decl("oc", "write")};
@group(0) @binding(3) ${w.decl("oct", "write")};
@group(0) @binding(4) var<storage, read_write> fired: array<u32>;`,
    decode: `@group(0) @binding(2) ${w.decl("tx", "read")};
@group(0) @binding(3) ${w.decl("og", "write")};`,
    encodeRaw: `@group(0) @binding(2) ${w.decl("oc", "write")};`,
    decodeBias: `@group(0) @binding(2) ${w.decl("tx", "read")};
@group(0) @binding(3) ${w.decl("og", "write")};
@group(0) @binding(4) var<storage, read> bdec: array<vec4f>;`,
  };
  const n = { store: 3, encode: 5, encodeRaw: 3, decode: 4, decodeBias: 5 }[ep];
  const lists = list
    ? `@group(0) @binding(${n}) var<storage, read> klist: array<u32>;
@group(0) @binding(${n + 1}) var<storage, read> kcount: array<u32>;\n`
    : "";
  return `${out[ep]}\n${lists}@group(0) @binding(${n + (list ? 2 : 0)}) var<uniform> u: U;`;
}

/** WGSL of the epilogue, run after the k loop with `acc{r}_{j}` in scope. */
function tail(ep: Epilogue, { tm: TM, tn: TN }: TileConfig, w: OperandWgsl): string {
  const rows = Array.from({ length: TM }, (_, r) => r);
  const cols = Array.from({ length: TN / 4 }, (_, j) => j);
  const lines: string[] = [];
  if (ep === "store") {
    for (const r of rows) {
      lines.push(`if (m0 + ${r}u < u.m) {`);
      for (const j of cols) {
        lines.push(`  if (n4 + ${j}u < u.n / 4u) { out[ob + (m0 + ${r}u) * (u.n / 4u) + n4 + ${j}u] = acc${r}_${j}; }`);
      }
      lines.push(`}`);
    }
    return lines.join("\n  ");
  }
  // value tiles v{r}_{j}
  for (const r of rows) {
    for (const j of cols) {
      const a = `acc${r}_${j}`;
      const pos = { x: `n4 + ${j}u`, y: `min(m0 + ${r}u, u.m - 1u)`, layer: "0" };
      if (ep === "encode") lines.push(`let v${r}_${j} = max(${a} + bias${j}, vec4f(0.0));`);
      else if (ep === "encodeRaw") lines.push(`let v${r}_${j} = ${a} + bias${j};`);
      else if (ep === "decodeBias") {
        const bias = `bdec[(u.base + z * u.stride) / 4u + nb${j}]`;
        lines.push(`let v${r}_${j} = u.scale * (${a} + ${bias} - ${w.load("tx", pos)});`);
      } else lines.push(`let v${r}_${j} = u.scale * (${a} - ${w.load("tx", pos)});`);
    }
  }
  const direct = ep === "decode" || ep === "decodeBias" ? "og" : "oc";
  for (const r of rows) {
    for (const j of cols) {
      lines.push(
        `if (m0 + ${r}u < u.m && n4 + ${j}u < u.n / 4u) { ${
          w.store(direct, { x: `n4 + ${j}u`, y: `m0 + ${r}u`, layer: "z" }, `v${r}_${j}`)
        } }`,
      );
    }
  }
  if (ep !== "encode") return lines.join("\n  ");
  for (const j of cols) {
    for (let c = 0; c < 4; c++) {
      const col = `n0 + ${4 * j + c}u`;
      for (let q = 0; q < TM / 4; q++) {
        const texel = [0, 1, 2, 3].map((s) => `v${4 * q + s}_${j}.${XYZW[c]}`).join(", ");
        lines.push(
          `if (${col} < u.n && m0 / 4u + ${q}u < u.m / 4u) { ${
            w.store("oct", { x: `m0 / 4u + ${q}u`, y: col, layer: "z" }, `vec4f(${texel})`)
          } }`,
        );
      }
      const any = rows.map((r) => `v${r}_${j}.${XYZW[c]} > 0.0`).join(" || ");
      lines.push(`if (${col} < u.n && (${any})) { fired[z * u.n + ${col}] = u.step; }`);
    }
  }
  return lines.join("\n  ");
}

function program(ep: Epilogue, list: boolean, tile: TileConfig, mode: KernelMode): Program {
  const { tm: TM, tn: TN, wx: WX, wy: WY } = tile;
  const w = operandWgsl(mode);
  const rows = Array.from({ length: TM }, (_, r) => r);
  const cols = Array.from({ length: TN / 4 }, (_, j) => j);
  const accs = rows.flatMap((r) => cols.map((j) => `var acc${r}_${j} = vec4f(0.0);`));
  const loadA = Array.from(
    { length: TM / 4 },
    (_, q) => `let a${q} = ${w.load("ta", { x: `ma${q}`, y: "k", layer: "la" })};`,
  );
  const loadB = cols.map((j) => `let b${j} = ${w.load("tb", { x: `nb${j}`, y: "k", layer: "lb" })};`);
  const fma = rows.flatMap((r) =>
    cols.map((j) => `acc${r}_${j} = fma(vec4f(a${r >> 2}.${XYZW[r & 3]}), b${j}, acc${r}_${j});`)
  );
  const isEncode = ep === "encode" || ep === "encodeRaw";
  return {
    name: "sae_matmul",
    key: modeKey(mode, `${ep}${list ? "/list" : ""}/${TM}x${TN}/${WX}x${WY}`),
    code: () => `
struct U { m: u32, n: u32, k: u32, sharedA: u32, sharedB: u32, base: u32, stride: u32, biasRow: u32, step: u32, scale: f32, listStride: u32, listTiles: u32${
      w.fields(["ta", "tb", ...OUTPUT_OPERANDS[ep]])
    } }
@group(0) @binding(0) ${w.decl("ta", "read")};
@group(0) @binding(1) ${w.decl("tb", "read")};
${head(ep, list, w)}

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wg: vec3u) {
  let z = wg.z;
  let n4 = g.x * ${TN / 4}u;
  let n0 = n4 * 4u;
  let m0 = ${WY === 1 ? "wg" : "g"}.y * ${TM}u; // with one row of invocations, uniform over the workgroup
  if (n0 >= u.n || m0 >= u.m) { return; }
  let la = select(z, 0u, u.sharedA == 1u);
  let lb = select(z, 0u, u.sharedB == 1u);
  ${Array.from({ length: TM / 4 }, (_, q) => `let ma${q} = min(m0 / 4u + ${q}u, u.m / 4u - 1u);`).join("\n  ")}
  ${cols.map((j) => `let nb${j} = min(n4 + ${j}u, u.n / 4u - 1u);`).join("\n  ")}
  ${ep === "store" ? "let ob = (u.base + z * u.stride) / 4u;" : ""}
  ${
      isEncode
        ? cols.map((j) => `let bias${j} = ${w.load("tb", { x: `nb${j}`, y: "u.biasRow", layer: "lb" })};`).join("\n  ")
        : ""
    }
  ${accs.join("\n  ")}
  ${
      list
        ? `let lt = z * u.listTiles + m0 / ${TM}u;
  let kn = kcount[lt];
  for (var t = 0u; t < kn; t++) {
    let k = klist[lt * u.listStride + t];`
        : `for (var k = 0u; k < u.k; k++) {`
    }
    ${loadA.join("\n    ")}
    ${loadB.join("\n    ")}
    ${fma.join("\n    ")}
  }
  ${tail(ep, tile, w)}
}
`,
  };
}

const PROGRAMS = new Map<string, Program>();

/** Operands and outputs of one batched matmul. */
export interface TileMatmulArgs {
  /** `At [K, M]` per member (or shared). */
  a: MatrixOperand;
  /** `Bt [K, N]` per member (or shared). Must be in the mode of `a`. */
  b: MatrixOperand;
  /** Rows of the result. */
  m: number;
  /** Columns of the result. */
  n: number;
  /** Reduction length (rows of `a` and `b` used). */
  k: number;
  /**
   * Loop only over listed k: for tile `t = m0 / tm` of member z, the first `counts[z·tiles + t]`
   * entries of `indices[(z·tiles + t)·stride ..]` (see `sae_k_lists.ts`; built for this tile's `tm`).
   */
  list?: KList;
  /** Number of members (dispatch z). */
  members: number;
  /**
   * Extra bindings of the epilogue, in order (see the module doc). The matrices among them
   * (`C`, `Cᵀ`, `X`, `G`) are operands in the mode of `a`; with textures a bare view also works.
   */
  outputs: readonly (MatrixOperand | GPUBindingResource | GPUBuffer | Tensor)[];
  /** `store`: offset and per-member stride of the output; `decodeBias`: of `b_dec`; in floats (multiples of 4). */
  base?: number;
  /** See `base`. */
  stride?: number;
  /** Register tile and workgroup (default {@linkcode chooseTile}). */
  tile?: TileConfig;
  /** `encode`: row of `b` that holds the bias. */
  biasRow?: number;
  /** `encode`: step number written to `fired`. */
  step?: number;
  /** `decode`: factor on `acc − X`. */
  scale?: number;
  /** Runs only when the gate lets it (the dense path of a step that may go sparse: `sae_sparse_codes.ts`). */
  gate?: DispatchGate;
}

/**
 * Record one batched matmul with its epilogue, on texture or storage operands (those of `a`).
 *
 * @param gpu The context.
 * @param epilogue What to do with the result.
 * @param args Operands, sizes and outputs.
 * @returns Nothing; the dispatches are recorded.
 * @example
 * ```ts ignore
 * tileMatmul(gpu, "encode", { a: xt, b: w, m: rows, n, k: d, members, biasRow: d, step, outputs: [c.view, ct.view, fired] });
 * ```
 */
export function tileMatmul(gpu: Gpu, epilogue: Epilogue, args: TileMatmulArgs): void {
  const { a, b, m, n, k, members } = args;
  if (m % 4 !== 0 || n % 4 !== 0) {
    throw new RangeError(`Cannot run sae_matmul: sizes ${m} × ${n} must be multiples of 4`);
  }
  if (a.cols < m || b.cols < n || a.rows < k || b.rows < k) {
    throw new RangeError(
      `Cannot run sae_matmul: operands [${a.rows}, ${a.cols}] and [${b.rows}, ${b.cols}] do not cover ` +
        `k = ${k}, m = ${m}, n = ${n}`,
    );
  }
  const list = args.list;
  const tile = args.tile ?? chooseTile(m, n);
  if (list && list.tm !== tile.tm) {
    throw new RangeError(
      `Cannot run sae_matmul: a k-list built for ${list.tm}-row tiles used with ${tile.tm}-row tiles`,
    );
  }
  const mode = commonMode("sae_matmul", [a, b]);
  const slots = OUTPUT_OPERANDS[epilogue].length;
  const matrices = args.outputs.slice(0, slots).map((o, i) => {
    if (isOperand(o)) return o;
    if (mode === "storage") {
      throw new TypeError(
        `Cannot run sae_matmul ${epilogue}: output ${OUTPUT_OPERANDS[epilogue][i]} must be a matrix operand ` +
          `(storage mode needs its sizes)`,
      );
    }
    return null;
  });
  const known = matrices.filter((o): o is MatrixOperand => o !== null);
  commonMode("sae_matmul", [a, b, ...known]);
  const key = `${epilogue}/${!!list}/${tile.tm}x${tile.tn}/${tile.wx}x${tile.wy}/${mode}`;
  let prog = PROGRAMS.get(key);
  if (!prog) PROGRAMS.set(key, prog = program(epilogue, !!list, tile, mode));
  const u = new ArrayBuffer(48);
  const w = new Uint32Array(u);
  w.set([m, n, k, a.layers === 1 ? 1 : 0, b.layers === 1 ? 1 : 0, args.base ?? 0, args.stride ?? 0]);
  w[7] = args.biasRow ?? 0;
  w[8] = args.step ?? 0;
  new Float32Array(u)[9] = args.scale ?? 1;
  w[10] = list?.stride ?? 0;
  w[11] = list?.tiles ?? 0;
  const outputs = args.outputs.map((o) => (isOperand(o) ? bindingOf(o) : o));
  const workgroups = [Math.ceil(n / (tile.tn * tile.wx)), Math.ceil(m / (tile.tm * tile.wy)), members];
  gpu.dispatch(prog, {
    bindings: [bindingOf(a), bindingOf(b), ...outputs, ...(list ? [list.indices, list.counts] : [])],
    uniforms: withOperandSizes(u, [a, b, ...known]),
    workgroups,
    ...gatedBy(args.gate, workgroups),
  });
}

function isOperand(o: unknown): o is MatrixOperand {
  return o instanceof MatrixTexture || o instanceof MatrixBuffer;
}
