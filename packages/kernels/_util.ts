/**
 * Argument checks, output allocation, uniform packing and 2-D dispatch grids
 * shared by the kernels of this package.
 *
 * @module
 */
import { type Binding, type DType, type Gpu, type Program, Tensor } from "@saelab/gpu";

/** Most workgroups along one dispatch dimension (WebGPU's default limit). */
export const MAX_GROUPS_X = 65535;

/** `[a, b]` → `"[a, b]"`, for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Requirements on a tensor argument. */
export interface TensorSpec {
  /** Required rank. */
  rank?: number;
  /** Allowed dtypes. Default: `["f32"]`. */
  dtypes?: readonly DType[];
}

/**
 * Check that `t` is a live tensor of this context with the right rank and dtype.
 *
 * @returns `t`, typed.
 */
export function checkTensor<D extends DType = "f32">(
  gpu: Gpu,
  kernel: string,
  name: string,
  t: unknown,
  spec: TensorSpec = {},
): Tensor<D> {
  if (!(t instanceof Tensor)) {
    throw new TypeError(`Cannot run ${kernel}: ${name} must be a Tensor, got ${describe(t)}`);
  }
  if (t.disposed) throw new TypeError(`Cannot run ${kernel}: ${name} (${t.label}) was disposed`);
  if (t.gpu !== gpu) throw new TypeError(`Cannot run ${kernel}: ${name} belongs to another GPU context`);
  const dtypes = spec.dtypes ?? ["f32"];
  if (!dtypes.includes(t.dtype)) {
    throw new TypeError(
      `Cannot run ${kernel}: ${name} ${fmtShape(t.shape)} has dtype ${t.dtype}, expected ${dtypes.join(" or ")}`,
    );
  }
  if (spec.rank !== undefined && t.rank !== spec.rank) {
    throw new RangeError(
      `Cannot run ${kernel}: ${name} must have rank ${spec.rank}, got shape ${fmtShape(t.shape)}`,
    );
  }
  return t as Tensor<D>;
}

/**
 * Read a checked tensor as rows of its last dimension, `[..., width]`.
 *
 * @returns `width` and the number of `rows` (0 when `width` is 0).
 * @throws {RangeError} When the tensor has no dimension.
 */
export function checkRows(kernel: string, [name, t]: [string, Tensor]): { rows: number; width: number } {
  if (t.rank < 1) throw new RangeError(`Cannot run ${kernel}: ${name} must have at least one dimension, got []`);
  const width = t.shape[t.rank - 1];
  return { rows: width === 0 ? 0 : t.size / width, width };
}

/** Throw a RangeError unless `a` and `b` have equal shapes. */
export function checkSameShape(kernel: string, names: [string, string], a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(
      `Cannot run ${kernel}: ${names[0]} ${fmtShape(a.shape)} and ${names[1]} ${fmtShape(b.shape)} differ in shape`,
    );
  }
}

/**
 * The output tensor of a kernel: `out` after checking its shape and dtype, or a new one.
 *
 * @returns A tensor of `shape` and `dtype`.
 */
export function outTensor<D extends DType = "f32">(
  gpu: Gpu,
  kernel: string,
  out: Tensor | undefined,
  shape: readonly number[],
  options: { dtype?: D; name?: string } = {},
): Tensor<D> {
  const dtype = options.dtype ?? ("f32" as D);
  const name = options.name ?? "out";
  if (out === undefined) return gpu.empty(shape, dtype, `${kernel}.${name}`);
  const t = checkTensor<D>(gpu, kernel, name, out, { dtypes: [dtype] });
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(
      `Cannot run ${kernel}: ${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`,
    );
  }
  return t;
}

/** Check a finite number option. */
export function checkNumber(kernel: string, name: string, value: unknown, options: { integer?: boolean } = {}): number {
  if (typeof value !== "number" || !Number.isFinite(value) || (options.integer && !Number.isInteger(value))) {
    throw new TypeError(
      `Cannot run ${kernel}: ${name} must be a finite ${options.integer ? "integer" : "number"}, got ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Packs 4-byte uniform fields in declaration order (`u32`, `i32` and `f32` only). */
export class Uniforms {
  #view = new DataView(new ArrayBuffer(64));
  #offset = 0;

  /** Append a `u32`. */
  u32(v: number): this {
    this.#grow();
    this.#view.setUint32(this.#offset, v >>> 0, true);
    this.#offset += 4;
    return this;
  }

  /** Append an `f32`. */
  f32(v: number): this {
    this.#grow();
    this.#view.setFloat32(this.#offset, v, true);
    this.#offset += 4;
    return this;
  }

  /** The packed bytes. */
  bytes(): Uint8Array {
    return new Uint8Array(this.#view.buffer, 0, Math.max(4, this.#offset));
  }

  #grow(): void {
    if (this.#offset + 4 <= this.#view.byteLength) return;
    const next = new Uint8Array(this.#view.byteLength * 2);
    next.set(new Uint8Array(this.#view.buffer));
    this.#view = new DataView(next.buffer);
  }
}

/**
 * Spread `groups` workgroups over x and y so that neither exceeds `maxX`;
 * kernels recover the linear id with {@linkcode LINEAR_ID} and skip ids past their count.
 *
 * @returns `[x, y]` with `x·y ≥ groups`.
 */
export function grid(groups: number, maxX = MAX_GROUPS_X): [number, number] {
  if (groups <= 0) return [0, 1];
  const x = Math.min(groups, maxX);
  return [x, Math.ceil(groups / x)];
}

/** WGSL builtins every kernel of this package declares on `main` for {@linkcode LINEAR_ID}. */
export const GRID_ARGS = "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, " +
  "@builtin(local_invocation_index) lid: u32";

/** WGSL expression of the linear invocation id under a 2-D {@linkcode grid} for workgroup size `wg`. */
export function LINEAR_ID(wg: number): string {
  return `((wid.y * nwg.x + wid.x) * ${wg}u + lid)`;
}

/**
 * Dispatch `program` with one invocation per item (`count` of them, workgroup size `wg`)
 * over a 2-D {@linkcode grid}; the kernel must skip ids ≥ `count`.
 */
export function dispatchLinear(
  gpu: Gpu,
  program: Program,
  options: { bindings: readonly Binding[]; uniforms: Uniforms; count: number; wg: number },
): void {
  gpu.dispatch(program, {
    bindings: options.bindings,
    uniforms: options.uniforms.bytes(),
    workgroups: grid(Math.ceil(options.count / options.wg)),
  });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "an object";
  return typeof v === "number" || typeof v === "string" ? `${typeof v} ${String(v)}` : typeof v;
}

/** A tensor bound to a kernel, with how the kernel uses it. */
export interface Operand {
  name: string;
  tensor: Tensor;
  access: "read" | "write" | "readwrite";
}

/** Storage bindings for operands that may share buffers (see {@linkcode bindOperands}). */
export interface BoundOperands {
  /** One buffer per binding, in binding order. */
  buffers: GPUBuffer[];
  /** WGSL declarations `@group(0) @binding(k) var<storage, …> name: array<type>;`. */
  declarations: string;
  /** The WGSL variable that holds an operand. */
  ref: (name: string) => string;
  /** Cache-key part describing which operands share a binding. */
  key: string;
}

/**
 * Bind operands that may alias (an in-place update): tensors sharing a buffer get one binding,
 * read-write when any of them is written, since WebGPU forbids binding one buffer as read-only
 * and writable storage in a dispatch. Two written operands may not share a buffer.
 *
 * @param options `elementType`: WGSL element type per operand name (default `f32`);
 * `prefix`: put before operand names to name the storage arrays (default none).
 */
export function bindOperands(
  kernel: string,
  operands: readonly Operand[],
  options: { elementType?: (name: string) => string; prefix?: string } = {},
): BoundOperands {
  const { elementType = () => "f32", prefix = "" } = options;
  const buffers: GPUBuffer[] = [];
  const slot = operands.map((o) => {
    const k = buffers.indexOf(o.tensor.buffer);
    return k < 0 ? buffers.push(o.tensor.buffer) - 1 : k;
  });
  operands.forEach((o, i) => {
    const j = slot.indexOf(slot[i]);
    if (j < i && o.access !== "read" && operands[j].access !== "read") {
      throw new RangeError(`Cannot run ${kernel}: ${operands[j].name} and ${o.name} are the same tensor`);
    }
  });
  const declarations = buffers.map((_, b) => {
    const first = operands[slot.indexOf(b)];
    const writes = operands.some((o, i) => slot[i] === b && o.access !== "read");
    return `@group(0) @binding(${b}) var<storage, ${writes ? "read_write" : "read"}> ${prefix}${first.name}: array<${
      elementType(first.name)
    }>;`;
  }).join("\n");
  const names = new Map(operands.map((o, i) => [o.name, prefix + operands[slot.indexOf(slot[i])].name]));
  return { buffers, declarations, ref: (name) => names.get(name)!, key: slot.join(",") };
}
