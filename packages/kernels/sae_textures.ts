/**
 * Texture operands of the training kernels. On CPU software adapters a
 * `textureLoad` from an `rgba32float` texture fetches four floats per lane far
 * more cheaply than storage-buffer loads, so the trainer keeps every matmul
 * operand in 2D-array textures (one layer per sweep member) and its kernels
 * write their outputs straight into such textures.
 *
 * A matrix `[rows, cols]` is stored with texel `(x, y)` holding columns
 * `4x..4x+3` of row `y`, so `cols` must be a multiple of 4.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { textureLoadsSupported } from "./_matmul_texture.ts";

/**
 * The most textures one SAE kernel binds (the gated kind's selection: 5). Kernels read texture
 * operands as read-only storage textures only where the device allows this many storage textures
 * per shader stage (`maxStorageTexturesPerShaderStage`, 4 unless a device asks for more;
 * `createGpu` asks for the adapter's: 36 on llvmpipe through Vulkan, 4 on Chromium's SwiftShader).
 */
export const MAX_TEXTURE_OPERANDS = 5;

/**
 * How the SAE kernels read texture operands on this device: `"storage"` (read-only storage
 * textures, about 1.4× faster loads on llvmpipe) where WGSL has them and the device allows
 * {@linkcode MAX_TEXTURE_OPERANDS} storage textures per stage, else `"sampled"`.
 *
 * @param gpu The context (its device's limits are read).
 * @returns `"storage"` or `"sampled"`.
 * @example
 * ```ts ignore
 * console.log(textureReads(gpu)); // "storage" on llvmpipe through Vulkan
 * ```
 */
export function textureReads(gpu: Pick<Gpu, "limits">): "storage" | "sampled" {
  return textureLoadsSupported() && gpu.limits.maxStorageTexturesPerShaderStage >= MAX_TEXTURE_OPERANDS
    ? "storage"
    : "sampled";
}

/**
 * A 2D-array texture holding `layers` matrices of `[rows, cols]` floats.
 * @example
 * ```ts ignore
 * const t = new MatrixTexture(gpu, [members, rows, cols], "sae.c"); t.write(gpu, data, 0);
 * ```
 */
export class MatrixTexture {
  /** Always `"texture"` (see `MatrixBuffer` for storage operands). */
  readonly mode = "texture" as const;
  /** How kernels read it, fixed by its device ({@linkcode textureReads}). */
  readonly reads: "storage" | "sampled";
  /** The texture. */
  readonly texture: GPUTexture;
  /** Rows per layer. */
  readonly rows: number;
  /** Floats per row (a multiple of 4). */
  readonly cols: number;
  /** Layers (matrices). */
  readonly layers: number;
  #view: GPUTextureView | null = null;

  /**
   * @param gpu The context whose device allocates it.
   * @param shape `[layers, rows, cols]`.
   * @param label Label used in errors.
   */
  constructor(gpu: Gpu, shape: readonly [number, number, number], label: string) {
    const [layers, rows, cols] = shape;
    if (cols % 4 !== 0) throw new RangeError(`Cannot create texture ${label}: ${cols} columns is not a multiple of 4`);
    const lim = gpu.limits;
    if (cols / 4 > lim.maxTextureDimension2D || rows > lim.maxTextureDimension2D) {
      throw new RangeError(
        `Cannot create texture ${label} [${rows}, ${cols}]: it exceeds the device's texture size ` +
          `${lim.maxTextureDimension2D} (texels per side); use smaller batches or dictionaries`,
      );
    }
    if (layers > lim.maxTextureArrayLayers) {
      throw new RangeError(
        `Cannot create texture ${label}: ${layers} layers exceed the device's ${lim.maxTextureArrayLayers}; ` +
          `train fewer members per group`,
      );
    }
    this.rows = rows;
    this.cols = cols;
    this.layers = layers;
    this.reads = textureReads(gpu);
    this.texture = gpu.device.createTexture({
      label,
      // at least two layers: the GL backend treats a one-layer texture as 2D, not as an array
      size: [cols / 4, rows, Math.max(layers, 2)],
      format: "rgba32float",
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST |
        GPUTextureUsage.COPY_SRC,
    });
  }

  /** A `2d-array` view of every layer. */
  get view(): GPUTextureView {
    return this.#view ??= this.texture.createView({ label: this.texture.label, dimension: "2d-array" });
  }

  /**
   * Copy host rows into one layer. Pending work is submitted first, so
   * commands recorded earlier still see the previous contents.
   *
   * @param data `[rows, cols]` values.
   * @param layer Target layer.
   */
  write(gpu: Gpu, data: Float32Array, layer = 0): void {
    if (data.length !== this.rows * this.cols) {
      throw new RangeError(
        `Cannot write ${this.texture.label}: ${data.length} values for a [${this.rows}, ${this.cols}] layer`,
      );
    }
    gpu.flush();
    gpu.device.queue.writeTexture(
      { texture: this.texture, origin: [0, 0, layer] },
      data as Float32Array<ArrayBuffer>,
      { bytesPerRow: this.cols * 4, rowsPerImage: this.rows },
      [this.cols / 4, this.rows, 1],
    );
  }

  /**
   * Copy one layer back to the host (submits pending work and waits).
   *
   * @param layer Layer to read.
   * @returns `[rows, cols]` values.
   */
  async read(gpu: Gpu, layer = 0): Promise<Float32Array> {
    const rowBytes = Math.ceil((this.cols * 4) / 256) * 256;
    const staging = gpu.device.createBuffer({
      label: `${this.texture.label}.readback`,
      size: Math.max(4, rowBytes * this.rows),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      gpu.encoder().copyTextureToBuffer(
        { texture: this.texture, origin: [0, 0, layer] },
        { buffer: staging, bytesPerRow: rowBytes, rowsPerImage: this.rows },
        [this.cols / 4, this.rows, 1],
      );
      gpu.flush();
      await staging.mapAsync(GPUMapMode.READ);
      gpu.throwIfFailed();
      const raw = new Float32Array(staging.getMappedRange());
      const out = new Float32Array(this.rows * this.cols);
      for (let r = 0; r < this.rows; r++) {
        out.set(raw.subarray((r * rowBytes) / 4, (r * rowBytes) / 4 + this.cols), r * this.cols);
      }
      return out;
    } finally {
      staging.destroy();
    }
  }

  /** Free the texture. */
  destroy(): void {
    this.texture.destroy();
  }
}
