/**
 * Elementwise "map" programs: one WGSL body applied to every element of
 * equally sized f32 operands, either one `f32` per step (`"scalar"`) or four
 * at a time through `vec4<f32>` loads (`"vec4"`, the faster variant on the
 * software adapter). Operands that share a buffer (in-place updates) are bound
 * once, read-write, since WebGPU forbids binding one buffer as both read-only
 * and writable storage in a dispatch.
 *
 * Bindings: one storage buffer per distinct operand buffer, then the uniforms
 * `{ n: u32, <params>: f32 }`. Workgroup size and units per invocation come
 * from {@linkcode MAP_VARIANTS} (scalar: 256 × 1 f32; vec4: 256 × 4 vec4s, chosen
 * with `bench/elementwise_bench.ts`); each invocation handles `per` consecutive units.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { bindOperands, type BoundOperands, grid, GRID_ARGS, LINEAR_ID, Uniforms } from "./_util.ts";

/** How an elementwise kernel walks its data. */
export type MapVariant = "scalar" | "vec4";

/** Compile-time shape of each variant: lanes per unit, workgroup size, units per invocation. */
export const MAP_VARIANTS: Record<MapVariant, { width: number; wg: number; per: number }> = {
  scalar: { width: 1, wg: 256, per: 1 },
  vec4: { width: 4, wg: 256, per: 4 },
};

/** One operand of a map: its name in the body and whether the body reads it, writes it or both. */
export interface MapOperand {
  name: string;
  access: "read" | "write" | "readwrite";
}

/** A map kernel: operands, f32 uniform parameters and a WGSL body. */
export interface MapSpec {
  /** Kernel name (labels, errors). */
  name: string;
  /** Operands; every tensor must have the same number of elements. */
  operands: readonly MapOperand[];
  /** Names of f32 uniforms, readable in the body as `u.<name>`. */
  params?: readonly string[];
  /**
   * WGSL statements on one unit. Each operand is a `var` of type `T` (`f32` or `vec4<f32>`),
   * loaded before the body when read and stored after it when written. `Z` is `T(0)`.
   */
  body: string;
}

/** Run-time data of one map dispatch. */
export interface MapRun {
  /** A tensor per operand name. */
  tensors: Record<string, Tensor>;
  /** A value per parameter name. */
  params?: Record<string, number>;
  /** Variant; default `"vec4"` when every buffer can be read as whole `vec4`s. */
  variant?: MapVariant;
  /** Override the variant's workgroup size and units per invocation (benchmarks sweep these). */
  tuning?: { wg: number; per: number };
}

/** True when every buffer holds whole `vec4`s covering `size` elements. */
export function canVec4(tensors: readonly Tensor[], size: number): boolean {
  const need = Math.ceil(size / 4) * 16;
  return tensors.every((t) => t.buffer.size >= need && t.buffer.size % 16 === 0);
}

/** Record one map dispatch. All operand tensors must already have been checked for equal sizes. */
export function runMap(gpu: Gpu, spec: MapSpec, run: MapRun): void {
  const tensors = spec.operands.map((o) => run.tensors[o.name]);
  const size = tensors[0].size;
  const variant = run.variant ?? (canVec4(tensors, size) ? "vec4" : "scalar");
  if (variant === "vec4" && !canVec4(tensors, size)) {
    throw new RangeError(`Cannot run ${spec.name} as vec4: a buffer is not a whole number of vec4s`);
  }
  const operands = spec.operands.map((o, i) => ({ ...o, tensor: tensors[i] }));
  // the body works on private copies named like the operands; storage arrays get a prefix
  const bound = bindOperands(spec.name, operands, { elementType: () => "T", prefix: "buf_" });
  const { width } = MAP_VARIANTS[variant];
  const { wg, per } = run.tuning ?? MAP_VARIANTS[variant];
  const units = Math.ceil(size / width);
  const program: Program = {
    name: spec.name,
    key: `${variant}|wg${wg}|per${per}|${bound.key}`,
    code: () => mapCode(spec, bound, { width, wg, per }),
  };
  const u = new Uniforms().u32(units);
  for (const p of spec.params ?? []) u.f32(run.params?.[p] ?? NaN);
  gpu.dispatch(program, {
    bindings: bound.buffers,
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(units / (wg * per))),
  });
}

function mapCode(spec: MapSpec, bound: BoundOperands, shape: { width: number; wg: number; per: number }): string {
  const { width, wg, per } = shape;
  const fields = ["n: u32", ...(spec.params ?? []).map((p) => `${p}: f32`)];
  const buf = bound.ref;
  const loads = spec.operands.map((o) =>
    o.access === "write" ? `var ${o.name}: T;` : `var ${o.name} = ${buf(o.name)}[i];`
  );
  const stores = spec.operands.flatMap((o) => o.access === "read" ? [] : [`${buf(o.name)}[i] = ${o.name};`]);
  return `
alias T = ${width === 4 ? "vec4<f32>" : "f32"};
const Z = T(0.0);
${bound.declarations}
struct U { ${fields.join(", ")} }
@group(0) @binding(${bound.buffers.length}) var<uniform> u: U;
@compute @workgroup_size(${wg})
fn main(${GRID_ARGS}) {
  let base = ${LINEAR_ID(wg)} * ${per}u;
  for (var k = 0u; k < ${per}u; k++) {
    let i = base + k;
    if (i >= u.n) { return; }
    ${loads.join("\n    ")}
    ${spec.body}
    ${stores.join("\n    ")}
  }
}`;
}
