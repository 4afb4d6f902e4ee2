/**
 * A tensor: a GPU buffer with a shape and a dtype.
 *
 * @module
 */
import type { Gpu } from "./gpu.ts";

/** Element types a tensor can hold. */
export type DType = "f32" | "i32" | "u32";

/** Host arrays that can be uploaded. */
export type HostArray = Float32Array | Int32Array | Uint32Array;

/** The host array type that holds a dtype. */
export type HostArrayOf<D extends DType> = D extends "f32" ? Float32Array
  : D extends "i32" ? Int32Array
  : Uint32Array;

/** Bytes taken by `size` elements of `dtype`. */
export function byteSize(size: number, _dtype: DType): number {
  return size * 4;
}

/** A GPU buffer with a row-major shape. Dispose it (or `using`) when done. */
export class Tensor<D extends DType = DType> {
  /** The context that allocated this tensor. */
  readonly gpu: Gpu;
  /** The storage buffer (may be larger than the tensor: pooled size classes). */
  readonly buffer: GPUBuffer;
  /** Dimensions, row-major. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Number of elements. */
  readonly size: number;
  /** Label used in errors. */
  readonly label: string;
  #disposed = false;

  constructor(gpu: Gpu, buffer: GPUBuffer, shape: readonly number[], dtype: D, label: string) {
    this.gpu = gpu;
    this.buffer = buffer;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
    this.label = label;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Size in bytes of the tensor's data. */
  get byteLength(): number {
    return byteSize(this.size, this.dtype);
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Copy the values to the host (submits pending work).
   *
   * @returns The values, row-major.
   */
  async read(): Promise<HostArrayOf<D>> {
    this.#check("read");
    const bytes = await this.gpu.readBuffer(this.buffer, this.byteLength);
    switch (this.dtype) {
      case "f32":
        return new Float32Array(bytes) as HostArrayOf<D>;
      case "i32":
        return new Int32Array(bytes) as HostArrayOf<D>;
      default:
        return new Uint32Array(bytes) as HostArrayOf<D>;
    }
  }

  /** A tensor over the same buffer with another shape of equal size (not owning the buffer). */
  reshape(shape: readonly number[]): Tensor<D> {
    this.#check("reshape");
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== this.size) {
      throw new RangeError(
        `Cannot reshape ${this.label} from [${this.shape.join(", ")}] to [${shape.join(", ")}]: sizes differ`,
      );
    }
    return new View(this.gpu, this.buffer, shape, this.dtype, this.label);
  }

  /** Return the buffer to the pool. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.gpu.recycle(this.buffer);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #check(what: string): void {
    if (this.#disposed) throw new TypeError(`Cannot ${what} ${this.label}: the tensor was disposed`);
  }
}

/** A reshaped view: disposing it does not free the shared buffer. */
class View<D extends DType> extends Tensor<D> {
  override dispose(): void {}
}
