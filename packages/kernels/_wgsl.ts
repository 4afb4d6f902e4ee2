/**
 * WGSL snippets shared by several kernels: workgroup reductions and the frames of kernels that run
 * one invocation per output item, or per (item, SAE member).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import { bindOperands, dispatchLinear, GRID_ARGS, LINEAR_ID, type Operand, type Uniforms } from "./_util.ts";

/**
 * WGSL of a workgroup sum: a `var<workgroup> part: array<f32, wg>` scratch and
 * `fn total(v: f32, l: u32) -> f32`, which every invocation of the workgroup must call with its
 * value `v` and its `local_invocation_index` `l`; each gets the sum of all `wg` values (a binary
 * tree, so the order of additions is the same on every backend). `wg` must be a power of two.
 *
 * @param wg The workgroup size.
 * @returns WGSL declarations for module scope.
 * @example
 * ```ts
 * import { workgroupSum } from "./_wgsl.ts";
 * const code = `${workgroupSum(64)}
 * @compute @workgroup_size(64)
 * fn main(@builtin(local_invocation_index) lid: u32) { _ = total(1.0, lid); }`;
 * console.log(code.includes("fn total(v: f32, l: u32) -> f32")); // true
 * ```
 */
export function workgroupSum(wg: number): string {
  if (!Number.isInteger(Math.log2(wg))) {
    throw new RangeError(`Cannot build a workgroup sum: ${wg} is not a power of two`);
  }
  return `var<workgroup> part: array<f32, ${wg}>;

fn total(v: f32, l: u32) -> f32 {
  part[l] = v;
  workgroupBarrier();
  for (var k = ${wg / 2}u; k > 0u; k >>= 1u) {
    if (l < k) { part[l] += part[l + k]; }
    workgroupBarrier();
  }
  let t = part[0];
  workgroupBarrier();
  return t;
}`;
}

/**
 * How a row kernel reduces a row: `"workgroup"`, one workgroup per row whose invocations share
 * the row and meet in {@linkcode workgroupSum}'s tree (what a discrete GPU prefers); `"serial"`,
 * one invocation per row that walks the same strided partial sums and the same tree by itself,
 * with no barrier. Both add the same numbers in the same order, so their results are bit-identical;
 * on CPU software adapters, where every barrier switches all of a workgroup's invocations,
 * `"serial"` is many times faster.
 */
export type RowMode = "workgroup" | "serial";

/** One sum of a {@linkcode rowFrame}: the `let` it defines and the term added per element `i`. */
export interface RowSum {
  /** Name of the `let` holding the row's total. */
  name: string;
  /** WGSL expression of the element index `i` (and of the `pre` statements). */
  term: string;
}

/** The WGSL pieces of a row kernel in a {@linkcode RowMode}; see {@linkcode rowFrame}. */
export interface RowFrame {
  /** Module-scope declarations (the workgroup scratch or the serial tree). */
  decls: string;
  /** Statements opening `main`: `let row = …;` and the return past `rows` (a uniform `u.rows`). */
  row: string;
  /** Opening of a loop over the row's elements `i < n` that this invocation handles (close with `}`). */
  each: (n: string) => string;
  /** Condition of the invocation that writes per-row values once. */
  leader: string;
  /** Statements defining each sum's `let` from the row's elements `i < n`, `pre` run before the terms. */
  sums: (n: string, terms: readonly RowSum[], pre?: string) => string;
  /** Workgroups to dispatch for `rows` rows (a {@linkcode grid} count). */
  groups: (rows: number) => number;
}

/**
 * The frame of a row kernel (reductions over the last dimension, such as LayerNorm) in either
 * {@linkcode RowMode}, so one kernel body serves both; `main` must declare {@linkcode GRID_ARGS}.
 *
 * @param mode `"workgroup"` or `"serial"`.
 * @param wg The workgroup size (a power of two); in `"serial"` mode also the number of strided partials.
 * @returns The frame's pieces.
 * @example
 * ```ts
 * import { rowFrame } from "./_wgsl.ts";
 * const f = rowFrame("serial", 64);
 * console.log(f.sums("u.width", [{ name: "s", term: "x[i]" }]).includes("serialTotal(&s_p)")); // true
 * ```
 */
export function rowFrame(mode: RowMode, wg: number): RowFrame {
  if (mode === "workgroup") {
    return {
      decls: workgroupSum(wg),
      row: "let row = wid.y * nwg.x + wid.x;\n  if (row >= u.rows) { return; }",
      each: (n) => `for (var i = lid; i < ${n}; i += ${wg}u) {`,
      leader: "lid == 0u",
      sums: (n, terms, pre = "") =>
        `${terms.map((t) => `var ${t.name}_s = 0.0;`).join(" ")}
  for (var i = lid; i < ${n}; i += ${wg}u) { ${pre} ${terms.map((t) => `${t.name}_s += ${t.term};`).join(" ")} }
  ${terms.map((t) => `let ${t.name} = total(${t.name}_s, lid);`).join("\n  ")}`,
      groups: (rows) => rows,
    };
  }
  if (!Number.isInteger(Math.log2(wg))) {
    throw new RangeError(`Cannot build a serial row sum: ${wg} is not a power of two`);
  }
  return {
    decls: `fn serialTotal(p: ptr<function, array<f32, ${wg}>>) -> f32 {
  for (var k = ${wg / 2}u; k > 0u; k >>= 1u) {
    for (var l = 0u; l < k; l++) { (*p)[l] += (*p)[l + k]; }
  }
  return (*p)[0];
}`,
    row: `let row = ${LINEAR_ID(wg)};\n  if (row >= u.rows) { return; }`,
    each: (n) => `for (var i = 0u; i < ${n}; i++) {`,
    leader: "true",
    sums: (n, terms, pre = "") =>
      `${terms.map((t) => `var ${t.name}_p: array<f32, ${wg}>;`).join(" ")}
  for (var l = 0u; l < ${wg}u; l++) {
    ${terms.map((t) => `var ${t.name}_s = 0.0;`).join(" ")}
    for (var i = l; i < ${n}; i += ${wg}u) { ${pre} ${terms.map((t) => `${t.name}_s += ${t.term};`).join(" ")} }
    ${terms.map((t) => `${t.name}_p[l] = ${t.name}_s;`).join(" ")}
  }
  ${terms.map((t) => `let ${t.name} = serialTotal(&${t.name}_p);`).join("\n  ")}`,
    groups: (rows) => Math.ceil(rows / wg),
  };
}

/**
 * The {@linkcode RowMode} for rows of `n` elements per invocation loop: `"serial"` on CPU software
 * adapters while each invocation's loops stay well inside llvmpipe's 65,535 iterations (rows of up
 * to 4096 elements), `"workgroup"` otherwise.
 *
 * @param gpu The GPU context.
 * @param n Elements per row, as the kernel loops over them.
 * @returns The mode.
 * @example
 * ```ts ignore
 * const mode = rowMode(gpu, width / 4);
 * ```
 */
export function rowMode(gpu: Gpu, n: number): RowMode {
  return gpu.isSoftware && n <= SERIAL_ROW_MAX ? "serial" : "workgroup";
}

/**
 * Check a kernel's `mode` option.
 *
 * @param kernel The kernel's name, for the message.
 * @param mode The option's value.
 * @returns The mode, or `undefined` when not given.
 * @throws {TypeError} For anything but `"workgroup"` or `"serial"`.
 * @example
 * ```ts
 * import { checkRowMode } from "./_wgsl.ts";
 * console.log(checkRowMode("layerNorm", "serial")); // "serial"
 * ```
 */
export function checkRowMode(kernel: string, mode: unknown): RowMode | undefined {
  if (mode === undefined || mode === "workgroup" || mode === "serial") return mode;
  throw new TypeError(`Cannot run ${kernel}: mode must be "workgroup" or "serial", got ${String(mode)}`);
}

/** Longest row (in loop elements) a `"serial"` row kernel takes: 4 passes of 4096 plus the trees stay far under 65,535. */
export const SERIAL_ROW_MAX = 4096;

/** A storage buffer of a {@linkcode perItemProgram}: name, access and element type. */
export type ItemBuffer = readonly [name: string, access: "read" | "read_write", type: "f32" | "u32" | "i32"];

/** What a {@linkcode perItemProgram} is made of. */
export interface PerItemSpec {
  /** Pipeline name. */
  name: string;
  /** Compile-time facts beyond the workgroup size, for the cache key. */
  key?: string;
  /** Workgroup size. */
  wg: number;
  /** Storage buffers, bound in order from binding 0. */
  buffers: readonly ItemBuffer[];
  /** Uniform fields after the leading `n: u32` (the item count), e.g. `"cols: u32, alpha: f32"`. */
  uniforms?: string;
  /** Module-scope WGSL placed before `main` (helper functions). */
  helpers?: string;
  /** WGSL run for item `i < u.n`. */
  body: string;
}

/**
 * A kernel with one invocation per item over a 2-D grid (dispatch it with `dispatchLinear`):
 * declares the buffers, `struct U { n: u32, … }` as the last binding, and `main`, which computes the
 * item id `i`, returns for `i ≥ u.n`, then runs `body`.
 *
 * @param spec Name, workgroup size, buffers, uniform fields and body.
 * @returns The program.
 * @example
 * ```ts
 * import { perItemProgram } from "./_wgsl.ts";
 * const p = perItemProgram({
 *   name: "double",
 *   wg: 64,
 *   buffers: [["x", "read", "f32"], ["y", "read_write", "f32"]],
 *   body: "y[i] = 2.0 * x[i];",
 * });
 * console.log(p.key, p.code().includes("var<uniform> u: U;")); // wg64 true
 * ```
 */
export function perItemProgram(spec: PerItemSpec): Program {
  const declarations = spec.buffers.map(([name, access, type], b) =>
    `@group(0) @binding(${b}) var<storage, ${access}> ${name}: array<${type}>;`
  ).join("\n");
  return {
    name: spec.name,
    key: spec.key === undefined ? `wg${spec.wg}` : `wg${spec.wg}|${spec.key}`,
    code: () => perItemCode(spec, { declarations, bindings: spec.buffers.length }),
  };
}

/** What {@linkcode dispatchPerItem} runs: a {@linkcode perItemProgram} over operands that may share buffers. */
export interface PerItemOperandsSpec {
  /** Pipeline name (and the kernel named in errors). */
  name: string;
  /** Workgroup size. */
  wg: number;
  /** Operands, bound in order; tensors that share a buffer get one binding (see `bindOperands`). */
  operands: readonly Operand[];
  /** WGSL element type per operand name. Default `f32`. */
  elementType?: (name: string) => string;
  /** Uniform fields after the leading `n: u32` (the item count). */
  uniforms?: string;
  /** WGSL run for item `i < u.n`; `$name` stands for the storage array of operand `name`. */
  body: string;
}

/**
 * Record a kernel with one invocation per item, as {@linkcode perItemProgram} makes, over operands
 * that may alias (an in-place update binds their buffer once, read-write).
 *
 * @param gpu The GPU context.
 * @param spec Name, workgroup size, operands, uniform fields and body.
 * @param run The uniforms (the item count first) and the item count.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * dispatchPerItem(gpu, {
 *   name: "double",
 *   wg: 64,
 *   operands: [{ name: "x", tensor: x, access: "read" }, { name: "y", tensor: x, access: "write" }],
 *   body: "$y[i] = 2.0 * $x[i];",
 * }, { uniforms: new Uniforms().u32(x.size), count: x.size });
 * ```
 */
export function dispatchPerItem(
  gpu: Gpu,
  spec: PerItemOperandsSpec,
  run: { uniforms: Uniforms; count: number },
): void {
  const bound = bindOperands(spec.name, spec.operands, { elementType: spec.elementType });
  const body = spec.body.replace(/\$(\w+)/g, (_, name) => bound.ref(name));
  const program: Program = {
    name: spec.name,
    key: `wg${spec.wg}|${bound.key}`,
    code: () => perItemCode({ ...spec, body }, { declarations: bound.declarations, bindings: bound.buffers.length }),
  };
  dispatchLinear(gpu, program, { bindings: bound.buffers, uniforms: run.uniforms, count: run.count, wg: spec.wg });
}

function perItemCode(
  spec: { wg: number; uniforms?: string; helpers?: string; body: string },
  storage: { declarations: string; bindings: number },
): string {
  const fields = spec.uniforms ? `n: u32, ${spec.uniforms}` : "n: u32";
  return `
${storage.declarations}
struct U { ${fields} }
@group(0) @binding(${storage.bindings}) var<uniform> u: U;
${spec.helpers ?? ""}
@compute @workgroup_size(${spec.wg})
fn main(${GRID_ARGS}) {
  let i = ${LINEAR_ID(spec.wg)};
  if (i >= u.n) { return; }
  ${spec.body}
}`;
}

/** What a {@linkcode perMemberProgram} is made of. */
export interface PerMemberSpec {
  /** Pipeline name. */
  name: string;
  /** Compile-time facts, for the cache key. Default `"v1"`. */
  key?: string;
  /** Fields of `struct U`, e.g. `"rows: u32, n: u32"`. */
  uniforms: string;
  /** Binding declarations in binding order, e.g. `"var tc: texture_2d_array<f32>"`; `u` is bound after them. */
  bindings: readonly string[];
  /** The item variable (`g.x`) and the WGSL count it must stay below, e.g. `["b", "u.rows"]`. */
  item: readonly [name: string, count: string];
  /** Module-scope WGSL placed before `main` (helper functions). */
  helpers?: string;
  /** WGSL run for an item below the count; `z` is the member (`g.y`). */
  body: string;
}

/** Workgroup size of every {@linkcode perMemberProgram}. */
export const PER_MEMBER_WG = 64;

/**
 * A kernel of the SAE trainer with one invocation per (item, member): `g.x` is the item,
 * `g.y` the member `z`, workgroups of {@linkcode PER_MEMBER_WG} along x (dispatch it with
 * {@linkcode dispatchMembers}); `main` returns for items past the count, then runs `body`.
 *
 * @param spec Name, uniform fields, bindings, item, helpers and body.
 * @returns The program.
 * @example
 * ```ts
 * import { perMemberProgram } from "./_wgsl.ts";
 * const p = perMemberProgram({
 *   name: "zero_rows",
 *   uniforms: "rows: u32",
 *   bindings: ["var<storage, read_write> y: array<f32>"],
 *   item: ["b", "u.rows"],
 *   body: "y[z * u.rows + b] = 0.0;",
 * });
 * console.log(p.code().includes("if (b >= u.rows) { return; }")); // true
 * ```
 */
export function perMemberProgram(spec: PerMemberSpec): Program {
  const [item, count] = spec.item;
  const code = `struct U { ${spec.uniforms} }
${spec.bindings.map((b, k) => `@group(0) @binding(${k}) ${b};`).join("\n")}
@group(0) @binding(${spec.bindings.length}) var<uniform> u: U;
${spec.helpers ?? ""}
@compute @workgroup_size(${PER_MEMBER_WG})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let ${item} = g.x;
  let z = g.y;
  if (${item} >= ${count}) { return; }
  ${spec.body}
}`;
  return { name: spec.name, key: spec.key ?? "v1", code: () => code };
}

/**
 * Dispatch a {@linkcode perMemberProgram} over `items` items of each of `members` members.
 *
 * @param gpu The context.
 * @param program The program.
 * @param run Bindings, uniform bytes, the item count and the member count.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * dispatchMembers(gpu, program, { bindings: [stats], uniforms: new Uint32Array([rows]), items: rows, members });
 * ```
 */
export function dispatchMembers(
  gpu: Gpu,
  program: Program,
  run: {
    bindings: readonly Binding[];
    uniforms: ArrayBufferView | ArrayBuffer;
    items: number;
    members: number;
    gate?: DispatchGate;
  },
): void {
  const workgroups = [Math.ceil(run.items / PER_MEMBER_WG), run.members, 1];
  gpu.dispatch(program, {
    bindings: run.bindings,
    uniforms: run.uniforms,
    workgroups,
    ...gatedBy(run.gate, workgroups),
  });
}

/**
 * A dispatch that runs or not as the GPU decides: given the workgroups it would run, it records
 * whatever sets them (or zeros) into an indirect buffer and returns where (`sae_sparse_codes.ts`).
 */
export type DispatchGate = (workgroups: readonly number[]) => { buffer: GPUBuffer; offset: number };

/**
 * The `indirect` option of a gated dispatch (none without a gate).
 *
 * @param gate The gate, if any.
 * @param workgroups The workgroups the dispatch runs when the gate lets it.
 * @returns `{ indirect }` or `{}`.
 * @example
 * ```ts
 * import { gatedBy } from "./_wgsl.ts";
 * console.log(gatedBy(undefined, [4, 1, 1])); // {}
 * ```
 */
export function gatedBy(
  gate: DispatchGate | undefined,
  workgroups: readonly number[],
): { indirect?: { buffer: GPUBuffer; offset: number } } {
  return gate ? { indirect: gate(workgroups) } : {};
}
