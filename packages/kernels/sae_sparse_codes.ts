/**
 * Firing lists of the SAE codes, built on the GPU every step, and the gates that send a training step
 * down the sparse or the dense path without the host ever reading a count.
 *
 * From the codes `C [B, n]` and `Cᵀ [n, B]` (operands, one layer per member) {@linkcode buildSparseCodes}
 * records:
 * 1. `sae_sparse_count`: per row b the number of non-zero codes, per feature j the number of rows
 *    where it is non-zero (one invocation per row or feature; each scans its row of `C` or `Cᵀ`, so
 *    n / 4 or B / 4 loop iterations).
 * 2. `sae_sparse_scan`: one workgroup per member turns the counts into start offsets and the member's
 *    total of non-zero codes.
 * 3. `sae_sparse_fill` (gated, sparse only): the row lists (CSR: feature and value of each non-zero,
 *    features increasing) and the feature lists (CSC: row, value and feature, rows increasing), each
 *    entry at its start + rank — deterministic, no atomics.
 *
 * The lists live in fixed-capacity buffers of `capacity` entries per member. A step takes the sparse
 * path when every member's total is at most `limit` (≤ capacity): {@linkcode sparseGate} returns a
 * `DispatchGate` (`sae_sparse_gate.ts`) whose dispatches record `sae_sparse_arm`, one invocation that reads the
 * totals and writes the dispatch's workgroups, or zeros, into an indirect buffer (a step that repeats
 * the previous step's gated dispatches at its batch size arms them all in one dispatch right after the
 * scan, so a step adds three small dispatches, not one per gated dispatch). Dense-path dispatches
 * run when some total is over the limit (the capacity would overflow, or the codes are too dense for
 * the sparse kernels to win), sparse ones otherwise; so an overflow never loses a code, it falls back.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { armPlanned, beginGates, GATE_SLOTS, type GateLog, newGateLog, sparseGate } from "./sae_sparse_gate.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

/** Firing lists of the codes of one group, and its gate state. */
export interface SparseCodes {
  /** `[Z][rows + n]` non-zero counts: rows first, then features. */
  counts: Tensor<"u32">;
  /** `[Z][rows + n]` exclusive prefix sums of `counts` (feature starts offset by the member's total). */
  starts: Tensor<"u32">;
  /** `[Z]` non-zero codes per member. */
  totals: Tensor<"u32">;
  /** CSR `[Z][capacity]`: feature of each entry, rows one after another. */
  rowIdx: Tensor<"u32">;
  /** CSR `[Z][capacity]`: the code of each entry. */
  rowVal: Tensor<"f32">;
  /** CSC `[Z][capacity]`: row of each entry, features one after another. */
  colIdx: Tensor<"u32">;
  /** CSC `[Z][capacity]`: the code of each entry. */
  colVal: Tensor<"f32">;
  /** CSC `[Z][capacity]`: feature of each entry. */
  colFeat: Tensor<"u32">;
  /** CSC `[Z][capacity]`: the pre-activation gradient `∂P` of each entry (`sae_sparse_matmul.ts`). */
  dp: Tensor<"f32">;
  /** Indirect workgroup counts, `GATE_SLOTS` slots of 4 u32 (x, y, z, sparse?). */
  args: GPUBuffer;
  /** Entries per member. */
  capacity: number;
  /** A step is sparse when every member has at most this many non-zero codes. */
  limit: number;
  /** Largest rows, features and members the lists were sized for. */
  rows: number;
  n: number;
  members: number;
  /** Gate bookkeeping (see {@linkcode sparseGate}). */
  gates: GateLog;
}

/**
 * Allocate the lists of a group.
 *
 * @param gpu The context.
 * @param sizes Largest batch `rows`, features `n`, `members`, entries per member `capacity`, and the
 *   sparse path's `limit` on each member's non-zero codes (default the capacity).
 * @param label Label prefix.
 * @returns Zeroed lists.
 * @example
 * ```ts ignore
 * const codes = allocSparseCodes(gpu, { rows: 4096, n: 2048, members: 1, capacity: 1 << 20 }, "sae.sparse");
 * ```
 */
export function allocSparseCodes(
  gpu: Gpu,
  sizes: { rows: number; n: number; members: number; capacity: number; limit?: number },
  label: string,
): SparseCodes {
  const { rows, n, members, capacity } = sizes;
  const limit = Math.min(sizes.limit ?? capacity, capacity);
  const entries = members * capacity;
  const args = gpu.device.createBuffer({
    label: `${label}.args`,
    size: GATE_SLOTS * 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.INDIRECT | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  return {
    counts: gpu.zeros([members * (rows + n)], "u32", `${label}.counts`),
    starts: gpu.zeros([members * (rows + n)], "u32", `${label}.starts`),
    totals: gpu.zeros([members], "u32", `${label}.totals`),
    rowIdx: gpu.zeros([entries], "u32", `${label}.row_idx`),
    rowVal: gpu.zeros([entries], "f32", `${label}.row_val`),
    colIdx: gpu.zeros([entries], "u32", `${label}.col_idx`),
    colVal: gpu.zeros([entries], "f32", `${label}.col_val`),
    colFeat: gpu.zeros([entries], "u32", `${label}.col_feat`),
    dp: gpu.zeros([entries], "f32", `${label}.dp`),
    args,
    capacity,
    limit,
    rows,
    n,
    members,
    gates: newGateLog(),
  };
}

/**
 * Free the buffers of {@linkcode allocSparseCodes}.
 *
 * @param codes The lists.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * disposeSparseCodes(codes);
 * ```
 */
export function disposeSparseCodes(codes: SparseCodes): void {
  const { counts, starts, totals, rowIdx, rowVal, colIdx, colVal, colFeat, dp } = codes;
  for (const t of [counts, starts, totals, rowIdx, rowVal, colIdx, colVal, colFeat, dp]) t.dispose();
  codes.args.destroy();
}

/** WGSL: number of non-zero components of `v`. */
const NONZERO = "dot(select(vec4u(0u), vec4u(1u), v != vec4f(0.0)), vec4u(1u))";

/** Count (`fill` false) or list (`fill` true) the non-zero codes of each row of `C` and each row of `Cᵀ`. */
function scanProgram(mode: Parameters<typeof operandWgsl>[0], fill: boolean): Program {
  const w = operandWgsl(mode);
  const rowLoad = w.load("tc", { x: "q", y: "i", layer: "z" });
  const colLoad = w.load("tct", { x: "q", y: "j", layer: "z" });
  const append = (idx: string, val: string, extra = "") =>
    [0, 1, 2, 3].map((c) =>
      `if (v[${c}] != 0.0) { if (p < u.cap) { ${idx}[e0 + p] = 4u * q + ${c}u; ${val}[e0 + p] = v[${c}];${extra} } p++; }`
    ).join("\n      ");
  const body = fill
    ? `let L = u.rows + u.n;
  let e0 = z * u.cap;
  if (i < u.rows) {
    var p = starts[z * L + i];
    for (var q = 0u; q < u.n / 4u; q++) {
      let v = ${rowLoad};
      ${append("rowIdx", "rowVal")}
    }
  } else {
    let j = i - u.rows;
    var p = starts[z * L + i] - totals[z];
    for (var q = 0u; q < u.rows / 4u; q++) {
      let v = ${colLoad};
      ${append("colIdx", "colVal", " colFeat[e0 + p] = j;")}
    }
  }`
    : `var c = 0u;
  if (i < u.rows) {
    for (var q = 0u; q < u.n / 4u; q++) { let v = ${rowLoad}; c += ${NONZERO}; }
  } else {
    let j = i - u.rows;
    for (var q = 0u; q < u.rows / 4u; q++) { let v = ${colLoad}; c += ${NONZERO}; }
  }
  counts[z * (u.rows + u.n) + i] = c;`;
  const lists = fill
    ? [
      "var<storage, read> starts: array<u32>",
      "var<storage, read> totals: array<u32>",
      "var<storage, read_write> rowIdx: array<u32>",
      "var<storage, read_write> rowVal: array<f32>",
      "var<storage, read_write> colIdx: array<u32>",
      "var<storage, read_write> colVal: array<f32>",
      "var<storage, read_write> colFeat: array<u32>",
    ]
    : ["var<storage, read_write> counts: array<u32>"];
  return perMemberProgram({
    name: fill ? "sae_sparse_fill" : "sae_sparse_count",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, cap: u32${w.fields(["tc", "tct"])}`,
    bindings: [w.decl("tc", "read"), w.decl("tct", "read"), ...lists],
    item: ["i", "u.rows + u.n"],
    body,
  });
}

const COUNT = programsByMode((mode) => scanProgram(mode, false));
const FILL = programsByMode((mode) => scanProgram(mode, true));

const SCAN_WG = 256;
const SCAN: Program = {
  name: "sae_sparse_scan",
  key: `wg${SCAN_WG}`,
  code: () =>
    `struct U { len: u32, rows: u32 }
@group(0) @binding(0) var<storage, read> counts: array<u32>;
@group(0) @binding(1) var<storage, read_write> starts: array<u32>;
@group(0) @binding(2) var<storage, read_write> totals: array<u32>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> part: array<u32, ${SCAN_WG}>;
@compute @workgroup_size(${SCAN_WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let z = wg.y;
  let chunk = (u.len + ${SCAN_WG - 1}u) / ${SCAN_WG}u;
  let lo = min(t * chunk, u.len);
  let hi = min(lo + chunk, u.len);
  let base = z * u.len;
  var s = 0u;
  for (var k = lo; k < hi; k++) { s += counts[base + k]; }
  part[t] = s;
  workgroupBarrier();
  for (var off = 1u; off < ${SCAN_WG}u; off <<= 1u) {
    let v = select(0u, part[(t + ${SCAN_WG}u - off) % ${SCAN_WG}u], t >= off);
    workgroupBarrier();
    part[t] += v;
    workgroupBarrier();
  }
  var run = part[t] - s;
  for (var k = lo; k < hi; k++) {
    if (k == u.rows) { totals[z] = run; }
    starts[base + k] = run;
    run += counts[base + k];
  }
}`,
};

/**
 * Record the counts, offsets and (when the step is sparse) the lists of the codes.
 *
 * @param gpu The context.
 * @param operands The codes `c [B, n]` and their transpose `ct [n, B]` (one mode).
 * @param out The lists and the sizes in use.
 * @returns Nothing; the dispatches are recorded.
 * @example
 * ```ts ignore
 * buildSparseCodes(gpu, { c, ct }, { codes, rows, n, members });
 * ```
 */
export function buildSparseCodes(
  gpu: Gpu,
  operands: { c: MatrixOperand; ct: MatrixOperand },
  out: { codes: SparseCodes; rows: number; n: number; members: number },
): void {
  const { codes, rows, n, members } = out;
  if (rows > codes.rows || n !== codes.n || members > codes.members || rows % 4 !== 0 || n % 4 !== 0) {
    throw new RangeError(
      `Cannot build firing lists of ${members} × [${rows}, ${n}] codes: they were sized for ` +
        `${codes.members} × [${codes.rows}, ${codes.n}] (rows and features multiples of 4)`,
    );
  }
  const { c, ct } = operands;
  const mode = commonMode("sae_sparse_count", [c, ct]);
  const uniforms = withOperandSizes(new Uint32Array([rows, n, codes.capacity]), [c, ct]);
  const items = rows + n;
  beginGates(codes.gates, rows);
  dispatchMembers(gpu, COUNT(mode), {
    bindings: [bindingOf(c), bindingOf(ct), codes.counts],
    uniforms,
    items,
    members,
  });
  gpu.dispatch(SCAN, {
    bindings: [codes.counts, codes.starts, codes.totals],
    uniforms: new Uint32Array([items, rows]),
    workgroups: [1, members, 1],
  });
  armPlanned(gpu, codes);
  const { starts, totals, rowIdx, rowVal, colIdx, colVal, colFeat } = codes;
  dispatchMembers(gpu, FILL(mode), {
    bindings: [bindingOf(c), bindingOf(ct), starts, totals, rowIdx, rowVal, colIdx, colVal, colFeat],
    uniforms,
    items,
    members,
    gate: sparseGate(gpu, codes, "sparse"),
  });
}
