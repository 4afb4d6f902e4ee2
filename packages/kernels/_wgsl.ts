/**
 * WGSL snippets shared by several kernels: workgroup reductions and the frame of kernels that run
 * one invocation per output item.
 *
 * @module
 */
import type { Program } from "@saelab/gpu";
import { GRID_ARGS, LINEAR_ID } from "./_util.ts";

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
  const fields = spec.uniforms ? `n: u32, ${spec.uniforms}` : "n: u32";
  return {
    name: spec.name,
    key: spec.key === undefined ? `wg${spec.wg}` : `wg${spec.wg}|${spec.key}`,
    code: () => `
${
      spec.buffers.map(([name, access, type], b) =>
        `@group(0) @binding(${b}) var<storage, ${access}> ${name}: array<${type}>;`
      ).join("\n")
    }
struct U { ${fields} }
@group(0) @binding(${spec.buffers.length}) var<uniform> u: U;
@compute @workgroup_size(${spec.wg})
fn main(${GRID_ARGS}) {
  let i = ${LINEAR_ID(spec.wg)};
  if (i >= u.n) { return; }
  ${spec.body}
}`,
  };
}
