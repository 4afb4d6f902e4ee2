/**
 * `sae_code_grad`: the gradient at the pre-activations, computed only where a
 * code fired. `∂P[b, j] = (G[b, :]·D̂[j, :] + α_z/B)` where `C[b, j] > 0`, else 0
 * (`G` the scaled reconstruction error, `D̂` the normalised decoder rows); with per-feature weights `w`
 * (the decoder-norm penalty: `w_zj = ‖D_j‖`, `D̂` then the raw rows), `α_z·w_zj/B`.
 *
 * For each tile of rows (the decoder stage's k-list tiles, 8 or 16 rows), the
 * features that fired in it come from that k-list (`_k_lists.ts`). An
 * invocation takes 16 of those features and accumulates rows × 16 dot products
 * over d, four components per texel fetch: one fetch of G per row (shared by
 * the 8 lanes of a workgroup) and 16 of D̂ — with 16 rows, 32 fetches per 1024
 * multiply-adds, the ratio of the dense 16 × 16 matmul. Workgroups past a tile's list length loop zero
 * times, so the cost follows the number of firing codes. Results are written
 * into a zeroed buffer `∂P [Z][B, n]`, then copied into the operand the
 * encoder-gradient matmul reads. `G`, `D̂` and `C` are textures or storage
 * buffers (`sae_operands.ts`), one builder for both.
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import type { KList } from "./sae_k_lists.ts";
import { type DispatchGate, gatedBy } from "./_wgsl.ts";
import { bindingOf, commonMode, type KernelMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

const FEATS = 16, LANES = 8;
const XYZW = ["x", "y", "z", "w"];

function code(ROWS: number, mode: KernelMode, weighted: boolean): string {
  const w = operandWgsl(mode);
  const rows = Array.from({ length: ROWS }, (_, r) => r);
  const feats = Array.from({ length: FEATS }, (_, q) => q);
  const accs = rows.flatMap((r) => Array.from({ length: FEATS / 4 }, (_, v) => `var acc${r}_${v} = vec4f(0.0);`));
  const body = [
    ...rows.map((r) => `let g${r} = ${w.load("tg", { x: "i4", y: `min(rb + ${r}u, u.rows - 1u)`, layer: "z" })};`),
    ...feats.flatMap((q) => [
      `let e${q} = ${w.load("tdh", { x: "i4", y: `j${q}`, layer: "z" })};`,
      ...rows.map((r) => `acc${r}_${q >> 2}.${XYZW[q & 3]} += dot(g${r}, e${q});`),
    ]),
  ];
  const tail = rows.flatMap((r) =>
    feats.map((q) =>
      `if (f0 + ${q}u < cnt && rb + ${r}u < u.rows) {
    if (${w.load("tc", { x: `j${q} / 4u`, y: `rb + ${r}u`, layer: "z" })}[j${q} % 4u] > 0.0) {
      out[z * u.rows * u.n + (rb + ${r}u) * u.n + j${q}] = acc${r}_${q >> 2}.${XYZW[q & 3]} + alpha${
        weighted ? ` * wts[z * u.n + j${q}]` : ""
      };
    }
  }`
    )
  );
  return `
struct U { rows: u32, n: u32, d: u32, listStride: u32, listTiles: u32, scale: f32${w.fields(["tg", "tdh", "tc"])} }
@group(0) @binding(0) ${w.decl("tg", "read")};
@group(0) @binding(1) ${w.decl("tdh", "read")};
@group(0) @binding(2) ${w.decl("tc", "read")};
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> klist: array<u32>;
@group(0) @binding(5) var<storage, read> kcount: array<u32>;
@group(0) @binding(6) var<storage, read> alphas: array<f32>;
${weighted ? "@group(0) @binding(7) var<storage, read> wts: array<f32>;" : ""}
@group(0) @binding(${weighted ? 8 : 7}) var<uniform> u: U;

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) li: vec3u) {
  let z = wg.z;
  let rb = wg.y * ${ROWS}u;
  let lt = z * u.listTiles + wg.y;
  let cnt = kcount[lt];
  let f0 = (wg.x * ${LANES}u + li.x) * ${FEATS}u;
  let last = max(cnt, 1u) - 1u;
  ${feats.map((q) => `let j${q} = klist[lt * u.listStride + min(f0 + ${q}u, last)];`).join("\n  ")}
  let alpha = alphas[z] * u.scale;
  ${accs.join("\n  ")}
  // a workgroup past the end of its tile's list loops zero times (a masked branch would not skip)
  let steps = select(0u, u.d / 4u, wg.x * ${LANES * FEATS}u < cnt);
  for (var i4 = 0u; i4 < steps; i4++) {
    ${body.join("\n    ")}
  }
  ${tail.join("\n  ")}
}`;
}

const PROGRAMS = programsByMode((mode, key): Program => ({
  name: "sae_code_grad",
  key: modeKey(mode, `r${key}f${FEATS}l${LANES}`),
  code: () => code(Number.parseInt(key), mode, key.endsWith("w")),
}));

/**
 * Record `∂P` into `out` (which must hold zeros: only firing codes are written).
 *
 * @param gpu The context.
 * @param inputs `G [B, d]`, `D̂ [n, d]`, `C [B, n]` operands (one mode), the decoder k-list, α per member, and
 *   optionally a weight per feature `[Z·n]` on α (the decoder-norm penalty: `α_z · w_zj / B`).
 * @param out The output buffer `[Z][rows, n]` and sizes.
 * @returns Nothing; the dispatches are recorded.
 * @example
 * ```ts ignore
 * codeGradSparse(gpu, { g, dh, c, list, alphas }, { dp, rows, n, d, members });
 * ```
 */
export function codeGradSparse(
  gpu: Gpu,
  inputs: { g: MatrixOperand; dh: MatrixOperand; c: MatrixOperand; list: KList; alphas: Binding; weights?: Binding },
  out: { dp: Binding; rows: number; n: number; d: number; members: number; gate?: DispatchGate },
): void {
  const { list } = inputs;
  const ROWS = list.tm;
  if (ROWS % 4 !== 0 || ROWS > 16) {
    throw new RangeError(`Cannot run sae_code_grad: k-list tiles of ${ROWS} rows (need a multiple of 4, at most 16)`);
  }
  const { g, dh, c } = inputs;
  const prog = PROGRAMS(commonMode("sae_code_grad", [g, dh, c]), `${ROWS}${inputs.weights ? "w" : ""}`);
  const u = new ArrayBuffer(24);
  new Uint32Array(u).set([out.rows, out.n, out.d, list.stride, list.tiles]);
  new Float32Array(u)[5] = 1 / out.rows;
  const workgroups = [Math.ceil(out.n / (LANES * FEATS)), Math.ceil(out.rows / ROWS), out.members];
  gpu.dispatch(prog, {
    bindings: [
      bindingOf(g),
      bindingOf(dh),
      bindingOf(c),
      out.dp,
      list.indices,
      list.counts,
      inputs.alphas,
      ...(inputs.weights ? [inputs.weights] : []),
    ],
    uniforms: withOperandSizes(u, [g, dh, c]),
    workgroups,
    ...gatedBy(out.gate, workgroups),
  });
}
