/**
 * The nested-dictionary kernels of the Matryoshka SAE trainer (Bussmann et al. 2025). Its loss sums
 * one reconstruction error per dictionary prefix: level `i` reconstructs from the first `m_i`
 * features only. The trainer lays the `L` levels side by side along the columns, so that the
 * usual decode, code-gradient and decoder-gradient matmuls serve every level in one pass over
 * `L·d` columns:
 * - {@linkcode nestedExpand} writes `D̂_cat [n, L·d]`, block `i` of row `j` = `D̂_j` when
 *   `j < m_i`, else 0 (and, with every limit at `rows`, `X_cat` = `X` repeated `L` times); then
 *   `C D̂_cat` holds every level's reconstruction and `G_cat D̂_catᵀ` every feature's summed
 *   code gradient over the levels that contain it;
 * - {@linkcode nestedFold} sums the blocks of `∂D̂_cat = Cᵀ G_cat` back into `∂D̂ [n, d]`, block
 *   `i` counted for row `j` only when `j < m_i`.
 *
 * At most {@linkcode MAX_NESTED_LEVELS} levels. No workgroup memory.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

/** The most nested levels (the full dictionary included) the kernels take. */
export const MAX_NESTED_LEVELS = 8;

const HEAD = "rows: u32, d4: u32, levels: u32, pad: u32, lim: array<vec4u, 2>";
const LIMIT = "u.lim[i / 4u][i % 4u]";

const EXPAND = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_nested_expand",
    key: modeKey(mode),
    uniforms: `${HEAD}${w.fields(["src", "dst"])}`,
    bindings: [w.decl("src", "read"), w.decl("dst", "write")],
    item: ["e", "u.rows * u.d4 * u.levels"],
    body: `let c4 = e % u.d4;
  let r = (e / u.d4) % u.rows;
  let i = e / (u.d4 * u.rows);
  var v = vec4f(0.0);
  if (r < ${LIMIT}) { v = ${w.load("src", { x: "c4", y: "r", layer: "z" })}; }
  ${w.store("dst", { x: "i * u.d4 + c4", y: "r", layer: "z" }, "v")}`,
  });
});

const FOLD = perMemberProgram({
  name: "sae_nested_fold",
  uniforms: HEAD,
  bindings: ["var<storage, read> src: array<vec4f>", "var<storage, read_write> dst: array<vec4f>"],
  item: ["e", "u.rows * u.d4"],
  body: `let c4 = e % u.d4;
  let r = e / u.d4;
  let row = (z * u.rows + r) * u.d4 * u.levels;
  var acc = vec4f(0.0);
  for (var i = 0u; i < u.levels; i++) {
    if (r < ${LIMIT}) { acc += src[row + i * u.d4 + c4]; }
  }
  dst[(z * u.rows + r) * u.d4 + c4] = acc;`,
});

function uniforms(kernel: string, sizes: { rows: number; d: number; limits: readonly number[] }): ArrayBuffer {
  const { rows, d, limits } = sizes;
  if (d % 4 !== 0 || limits.length < 1 || limits.length > MAX_NESTED_LEVELS) {
    throw new RangeError(
      `Cannot run ${kernel}: d ${d} must be a multiple of 4 and the levels (${limits.length}) 1..${MAX_NESTED_LEVELS}`,
    );
  }
  if (!limits.every((m) => Number.isInteger(m) && m >= 0)) {
    throw new RangeError(`Cannot run ${kernel}: level limits ${limits.join(", ")} are not whole numbers ≥ 0`);
  }
  const u = new Uint32Array(12);
  u.set([rows, d / 4, limits.length, 0]);
  u.set(limits, 4);
  return u.buffer;
}

/**
 * Write the levels side by side: `dst[z][r][i·d + c] = src[z][r][c]` where `r < limits[i]`, else 0,
 * for `r < rows`, `c < d`, `i < limits.length`.
 *
 * @param gpu The context.
 * @param src The operand read, `[layers, ≥ rows, ≥ d]`.
 * @param out `dst` `[layers, ≥ rows, ≥ L·d]` (same mode as `src`), `rows`, `d` (a multiple of 4),
 *   the level `limits` (rows kept per level) and the `layers` written.
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} When `d` is not a multiple of 4 or the levels are not 1..{@linkcode MAX_NESTED_LEVELS}.
 * @example
 * ```ts ignore
 * nestedExpand(gpu, dh, { dst: dhCat, rows: n, d, limits: [n, 16, 32], layers: members });
 * ```
 */
export function nestedExpand(
  gpu: Gpu,
  src: MatrixOperand,
  out: { dst: MatrixOperand; rows: number; d: number; limits: readonly number[]; layers: number },
): void {
  const { dst, rows, d, limits } = out;
  if (dst.cols < limits.length * d || dst.rows < rows || src.cols < d || src.rows < rows) {
    throw new RangeError(
      `Cannot run sae_nested_expand: [${src.rows}, ${src.cols}] → [${dst.rows}, ${dst.cols}] does not hold ` +
        `${rows} rows of ${limits.length} × ${d} columns`,
    );
  }
  const u = uniforms("sae_nested_expand", out);
  dispatchMembers(gpu, EXPAND(commonMode("sae_nested_expand", [src, dst])), {
    bindings: [bindingOf(src), bindingOf(dst)],
    uniforms: withOperandSizes(u, [src, dst]),
    items: rows * (d / 4) * limits.length,
    members: out.layers,
  });
}

/**
 * Sum the levels back: `dst[z][r][c] = Σ_i [r < limits[i]] · src[z][r][i·d + c]` over storage
 * buffers `src [layers][rows][L·d]` and `dst [layers][rows][d]`.
 *
 * @param gpu The context.
 * @param src The side-by-side gradient.
 * @param out `dst`, `rows`, `d` (a multiple of 4), the level `limits` and the `layers`.
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} When `d` is not a multiple of 4 or the levels are not 1..{@linkcode MAX_NESTED_LEVELS}.
 * @example
 * ```ts ignore
 * nestedFold(gpu, gdCat, { dst: gd, rows: n, d, limits: [n, 16, 32], layers: members });
 * ```
 */
export function nestedFold(
  gpu: Gpu,
  src: Binding,
  out: { dst: Binding; rows: number; d: number; limits: readonly number[]; layers: number },
): void {
  dispatchMembers(gpu, FOLD, {
    bindings: [src, out.dst],
    uniforms: uniforms("sae_nested_fold", out),
    items: out.rows * (out.d / 4),
    members: out.layers,
  });
}
