/**
 * Operands of the SAE training kernels, held either in `rgba32float`
 * 2D-array textures ({@linkcode MatrixTexture}, what CPU software adapters
 * read fastest) or in storage buffers ({@linkcode MatrixBuffer}, the usual
 * fast path of real GPUs, bounded by `maxStorageBufferBindingSize` rather
 * than by texture sizes and layer counts).
 *
 * Both hold `layers` matrices `[rows, cols]` (cols a multiple of 4) with the
 * same layout: texel or vec4 `(x, y)` of layer `z` holds columns `4x..4x+3` of
 * row `y` of matrix `z`; in a buffer it is vec4 `(z·rows + y)·cols/4 + x`. The
 * kernels' WGSL for either mode comes from the same builders (`sae_operand_wgsl.ts`).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { MatrixTexture } from "./sae_textures.ts";

/** Where the SAE trainer keeps its matmul operands. */
export type OperandMode = "texture" | "storage";

/**
 * How a kernel's WGSL reaches its operands: `"storage"` (buffers), `"texture"` (textures read as
 * read-only storage textures, which llvmpipe loads about 1.4× faster than sampled ones) or
 * `"sampled"` (textures read as sampled textures, where read-only storage textures are missing or
 * the device allows too few storage textures per stage). Textures take one of the two texture modes
 * when they are created ({@linkcode MatrixTexture.reads}).
 */
export type KernelMode = "texture" | "sampled" | "storage";

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

/**
 * The kernel mode of an operand: how kernels reading or writing it are compiled.
 *
 * @param t The operand.
 * @returns `"storage"` for a buffer; `"texture"` or `"sampled"` for a texture (its {@linkcode MatrixTexture.reads}).
 * @example
 * ```ts ignore
 * const prog = PROGRAMS(modeOf(at));
 * ```
 */
export function modeOf(t: MatrixOperand): KernelMode {
  if (t.mode === "storage") return "storage";
  return t.reads === "storage" ? "texture" : "sampled";
}

/**
 * What a kernel binds for an operand.
 *
 * @param t The operand.
 * @returns The texture's 2D-array view or the buffer's tensor.
 * @example
 * ```ts ignore
 * gpu.dispatch(prog, { bindings: [bindingOf(c), stats], workgroups });
 * ```
 */
export function bindingOf(t: MatrixOperand): GPUBindingResource | Tensor<"f32"> {
  return t.mode === "storage" ? t.binding : t.view;
}

/**
 * The one mode of a kernel's operands.
 *
 * @param kernel Kernel name, for the error.
 * @param operands The kernel's matrix operands.
 * @returns Their common mode.
 * @throws {TypeError} When textures and buffers are mixed.
 * @example
 * ```ts ignore
 * const mode = commonMode("sae_row_stats", [c, g]);
 * ```
 */
export function commonMode(kernel: string, operands: readonly MatrixOperand[]): KernelMode {
  const modes = operands.map(modeOf);
  if (modes.some((m) => m !== modes[0])) {
    const what = modes.includes("storage")
      ? "textures and storage buffers"
      : "textures read as storage textures and as sampled ones (made on devices with other limits)";
    throw new TypeError(`Cannot run ${kernel}: its operands mix ${what}`);
  }
  return modes[0];
}
