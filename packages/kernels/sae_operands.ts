/**
 * Operands of the SAE training kernels, held either in `rgba32float`
 * 2D-array textures ({@linkcode MatrixTexture}, what CPU software adapters
 * read fastest) or in storage buffers ({@linkcode MatrixBuffer}, the usual
 * fast path of real GPUs, bounded by `maxStorageBufferBindingSize` rather
 * than by texture sizes and layer counts).
 *
 * Both hold `layers` matrices `[rows, cols]` (cols a multiple of 4) with the
 * same layout: texel or vec4 `(x, y)` of layer `z` holds columns `4x..4x+3` of
 * row `y` of matrix `z`; in a buffer it is vec4 `(z·rows + y)·cols/4 + x`. A
 * kernel's WGSL is built once per mode by {@linkcode operandWgsl}, whose loads
 * and stores are `textureLoad`/`textureStore` or array indexing; a storage
 * operand's rows and vec4s per row travel as uniform fields `<name>_r` and
 * `<name>_c4`, appended after the kernel's own fields.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { MatrixTexture } from "./sae_textures.ts";

/** Where the SAE trainer keeps its matmul operands. */
export type OperandMode = "texture" | "storage";

/** A requested operand mode: `"auto"` is `"texture"` on software adapters, `"storage"` elsewhere. */
export type OperandChoice = "auto" | OperandMode;

/**
 * The operand mode the SAE trainer uses for a request, mirroring `matmul`'s `"auto"`:
 * textures on CPU software adapters (`gpu.isSoftware`), storage buffers elsewhere.
 *
 * @param gpu The context (only `isSoftware` is read).
 * @param choice The request. Default `"auto"`.
 * @returns `"texture"` or `"storage"`.
 * @example
 * ```ts
 * import { saeOperandMode } from "@saelab/kernels";
 * console.log(saeOperandMode({ isSoftware: true })); // "texture"
 * console.log(saeOperandMode({ isSoftware: false })); // "storage"
 * console.log(saeOperandMode({ isSoftware: true }, "storage")); // "storage"
 * ```
 */
export function saeOperandMode(gpu: Pick<Gpu, "isSoftware">, choice: OperandChoice = "auto"): OperandMode {
  if (choice === "texture" || choice === "storage") return choice;
  if (choice !== "auto") {
    throw new TypeError(`Cannot choose SAE operands: unknown mode "${choice}", expected auto, texture or storage`);
  }
  return gpu.isSoftware ? "texture" : "storage";
}

/**
 * A storage buffer holding `layers` matrices of `[rows, cols]` floats, laid out as a
 * {@linkcode MatrixTexture}'s layers.
 * @example
 * ```ts ignore
 * const t = new MatrixBuffer(gpu, [members, rows, cols], "sae.c"); t.write(gpu, data, 0);
 * ```
 */
export class MatrixBuffer {
  /** Always `"storage"`. */
  readonly mode = "storage" as const;
  /** The buffer, `[layers · rows · cols]` floats. */
  readonly tensor: Tensor<"f32">;
  /** Rows per layer. */
  readonly rows: number;
  /** Floats per row (a multiple of 4). */
  readonly cols: number;
  /** Layers (matrices). */
  readonly layers: number;

  /**
   * @param gpu The context whose device allocates it.
   * @param shape `[layers, rows, cols]`.
   * @param label Label used in errors.
   */
  constructor(gpu: Gpu, shape: readonly [number, number, number], label: string) {
    const [layers, rows, cols] = shape;
    if (cols % 4 !== 0) throw new RangeError(`Cannot create buffer ${label}: ${cols} columns is not a multiple of 4`);
    this.rows = rows;
    this.cols = cols;
    this.layers = layers;
    this.tensor = gpu.zeros([layers * rows * cols], "f32", label);
  }

  /** The binding of the whole buffer. */
  get binding(): Tensor<"f32"> {
    return this.tensor;
  }

  /**
   * Copy host rows into one layer. Pending work is submitted first, so
   * commands recorded earlier still see the previous contents.
   *
   * @param data `[rows, cols]` values.
   * @param layer Target layer.
   */
  write(gpu: Gpu, data: Float32Array, layer = 0): void {
    const size = this.rows * this.cols;
    if (data.length !== size || layer < 0 || layer >= this.layers) {
      throw new RangeError(
        `Cannot write ${this.tensor.label}: ${data.length} values for layer ${layer} of ${this.layers} ` +
          `[${this.rows}, ${this.cols}] layers`,
      );
    }
    gpu.flush();
    gpu.device.queue.writeBuffer(this.tensor.buffer, layer * size * 4, data as Float32Array<ArrayBuffer>);
  }

  /**
   * Copy one layer back to the host (submits pending work and waits).
   *
   * @param layer Layer to read.
   * @returns `[rows, cols]` values.
   */
  async read(gpu: Gpu, layer = 0): Promise<Float32Array> {
    const size = this.rows * this.cols * 4;
    return new Float32Array(await gpu.readBuffer(this.tensor.buffer, size, layer * size));
  }

  /** Free the buffer. */
  destroy(): void {
    this.tensor.dispose();
  }
}

/** A matrix operand of the SAE kernels in either mode. */
export type MatrixOperand = MatrixTexture | MatrixBuffer;

/**
 * Allocate a matrix operand in the given mode.
 *
 * @param gpu The context.
 * @param mode `"texture"` or `"storage"`.
 * @param spec `shape` `[layers, rows, cols]` and `label`.
 * @returns A {@linkcode MatrixTexture} or a zeroed {@linkcode MatrixBuffer}.
 * @example
 * ```ts ignore
 * const c = createMatrix(gpu, "storage", { shape: [members, rows, n], label: "sae.c" });
 * ```
 */
export function createMatrix(
  gpu: Gpu,
  mode: OperandMode,
  spec: { shape: readonly [number, number, number]; label: string },
): MatrixOperand {
  return mode === "storage"
    ? new MatrixBuffer(gpu, spec.shape, spec.label)
    : new MatrixTexture(gpu, spec.shape, spec.label);
}

/** The mode of an operand. */
export function modeOf(t: MatrixOperand): OperandMode {
  return t instanceof MatrixBuffer ? "storage" : "texture";
}

/** What a kernel binds for an operand. */
export function bindingOf(t: MatrixOperand): GPUBindingResource | Tensor<"f32"> {
  return t instanceof MatrixBuffer ? t.binding : t.view;
}

/**
 * The one mode of a kernel's operands.
 *
 * @param kernel Kernel name, for the error.
 * @param operands The kernel's matrix operands.
 * @returns Their common mode.
 */
export function commonMode(kernel: string, operands: readonly MatrixOperand[]): OperandMode {
  const mode = modeOf(operands[0]);
  if (operands.some((t) => modeOf(t) !== mode)) {
    throw new TypeError(`Cannot run ${kernel}: its operands mix textures and storage buffers`);
  }
  return mode;
}

/** WGSL of matrix operands in one mode. */
export interface OperandWgsl {
  /** The mode. */
  readonly mode: OperandMode;
  /** A binding declaration (without attributes) of operand `name`, read or written. */
  decl(name: string, access: "read" | "write"): string;
  /** The vec4f at texel `(x, y)` of `layer`. */
  load(name: string, at: { x: string; y: string; layer: string }): string;
  /** A statement storing `value` at texel `(x, y)` of `layer`. */
  store(name: string, at: { x: string; y: string; layer: string }, value: string): string;
  /** Uniform fields for the operands' sizes (storage: `, <name>_r: u32, <name>_c4: u32` each; texture: none). */
  fields(names: readonly string[]): string;
}

const TEXTURE_WGSL: OperandWgsl = {
  mode: "texture",
  decl: (name, access) =>
    access === "read"
      ? `var ${name}: texture_2d_array<f32>`
      : `var ${name}: texture_storage_2d_array<rgba32float, write>`,
  load: (name, at) => `textureLoad(${name}, vec2u(${at.x}, ${at.y}), ${at.layer}, 0)`,
  store: (name, at, value) => `textureStore(${name}, vec2u(${at.x}, ${at.y}), ${at.layer}, ${value});`,
  fields: () => "",
};

const index = (name: string, at: { x: string; y: string; layer: string }) =>
  `${name}[((${at.layer}) * u.${name}_r + (${at.y})) * u.${name}_c4 + (${at.x})]`;

const STORAGE_WGSL: OperandWgsl = {
  mode: "storage",
  decl: (name, access) => `var<storage, ${access === "read" ? "read" : "read_write"}> ${name}: array<vec4f>`,
  load: index,
  store: (name, at, value) => `${index(name, at)} = ${value};`,
  fields: (names) => names.map((n) => `, ${n}_r: u32, ${n}_c4: u32`).join(""),
};

/**
 * The WGSL builders of one operand mode.
 *
 * @param mode `"texture"` or `"storage"`.
 * @returns Declarations, loads, stores and size fields.
 * @example
 * ```ts
 * import { operandWgsl } from "./sae_operands.ts";
 * console.log(operandWgsl("storage").load("tc", { x: "j4", y: "b", layer: "z" }));
 * // tc[((z) * u.tc_r + (b)) * u.tc_c4 + (j4)]
 * ```
 */
export function operandWgsl(mode: OperandMode): OperandWgsl {
  return mode === "storage" ? STORAGE_WGSL : TEXTURE_WGSL;
}

/**
 * Uniform bytes with the sizes of storage operands appended (texture mode: `base` unchanged).
 *
 * @param base The kernel's own uniform fields (4 bytes each).
 * @param operands The operands named in {@linkcode OperandWgsl.fields}, in that order.
 * @returns The bytes to dispatch with.
 */
export function withOperandSizes(
  base: ArrayBuffer | Uint32Array,
  operands: readonly MatrixOperand[],
): ArrayBuffer | Uint32Array {
  if (operands.length === 0 || modeOf(operands[0]) === "texture") return base;
  const head = base instanceof ArrayBuffer
    ? new Uint8Array(base)
    : new Uint8Array(base.buffer, base.byteOffset, base.byteLength);
  const out = new ArrayBuffer(head.byteLength + operands.length * 8);
  new Uint8Array(out).set(head);
  const w = new Uint32Array(out, head.byteLength);
  operands.forEach((t, i) => w.set([t.rows, t.cols / 4], 2 * i));
  return out;
}

/** A program cache keyed by operand mode (and any other compile-time fact). */
export function programsByMode<P>(
  build: (mode: OperandMode, key: string) => P,
): (mode: OperandMode, key?: string) => P {
  const cache = new Map<string, P>();
  return (mode, key = "") => {
    const k = `${mode}/${key}`;
    let p = cache.get(k);
    if (!p) cache.set(k, p = build(mode, key));
    return p;
  };
}
