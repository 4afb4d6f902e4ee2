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
