/**
 * The GPU context: device acquisition, tensors, a buffer pool, a pipeline
 * cache and one pending command encoder into which every dispatch of a step
 * is recorded. Work is submitted only when a result is read (or on
 * {@linkcode Gpu.flush}), so a training loop never waits on the GPU.
 *
 * @module
 */
import { GpuError } from "./errors.ts";
import { BufferPool } from "./pool.ts";
import { byteSize, type DType, type HostArray, Tensor } from "./tensor.ts";

/** Options for {@linkcode createGpu}. */
export interface GpuOptions {
  /** Power preference passed to `requestAdapter`. Default: `"high-performance"`. */
  powerPreference?: GPUPowerPreference;
  /** Use this adapter instead of requesting one. */
  adapter?: GPUAdapter;
  /** The `navigator`-like object to take `gpu` from. Default: `globalThis.navigator`. */
  navigator?: { gpu?: GPU };
  /** Label of the device (shows in error messages). Default: `"saelab"`. */
  label?: string;
  /** Submit the pending encoder after this many dispatches. Default: 256. */
  maxPendingDispatches?: number;
}

/** A compute program: compile-time facts only. Shapes go into uniforms. */
export interface Program {
  /** Kernel name, used in labels and error messages (`"matmul"`). */
  name: string;
  /** Cache key: everything the WGSL text depends on (dtype, tile sizes, flags). */
  key: string;
  /** Builds the WGSL source; called once per key. */
  code: () => string;
  /** Entry point. Default: `"main"`. */
  entryPoint?: string;
}

/** A binding of a dispatch: a tensor, a raw buffer or any binding resource. */
export type Binding = Tensor | GPUBuffer | GPUBindingResource;

/** Run-time data of one dispatch. */
export interface DispatchOptions {
  /** Resources bound at `@group(0) @binding(0..n-1)`, in order. */
  bindings: readonly Binding[];
  /**
   * Uniform data bound after the other bindings (`@binding(n)`), if any.
   * Its byte length is padded to 16.
   */
  uniforms?: ArrayBufferView | ArrayBuffer;
  /** Workgroup counts `[x, y?, z?]`. */
  workgroups: readonly number[];
  /**
   * Take the workgroup counts from the GPU instead: three u32 at `offset` bytes of `buffer` (a buffer
   * with `INDIRECT` usage), written by earlier work; `workgroups` is still checked and may be 0 to skip.
   */
  indirect?: { buffer: GPUBuffer; offset: number };
}

const MAX_WORKGROUPS = 65535;

/** What to do about a missing WebGPU or adapter, where it happens. */
interface Advice {
  noWebGpu: string;
  noAdapter: string;
}

const DENO_ADVICE: Advice = {
  noWebGpu: "navigator.gpu is missing, this runtime has no WebGPU. " +
    "Use Deno 2 (WebGPU is built in) or a browser with WebGPU enabled.",
  noAdapter: "no WebGPU adapter was found. Without a GPU, " +
    "install Mesa's software adapter (Debian: `apt-get install mesa-vulkan-drivers " +
    "libgl1-mesa-dri`), or choose a backend with DENO_WEBGPU_BACKEND=vulkan|gl.",
};

const BROWSER_ADVICE: Advice = {
  noWebGpu: "this browser has no WebGPU (navigator.gpu is missing). Open the page in a browser with WebGPU " +
    "(Chrome or Edge 113+ on Windows, macOS or ChromeOS; Safari 26+), over https or from localhost (WebGPU " +
    "needs a secure context); in Chrome or Chromium elsewhere, enable it with the --enable-unsafe-webgpu " +
    "command-line flag or at chrome://flags/#enable-unsafe-webgpu.",
  noAdapter: "the browser has WebGPU but gave no adapter (no usable GPU, or WebGPU is blocked for it). " +
    "In Chrome or Chromium, start it with --enable-unsafe-webgpu (on Linux also --enable-features=Vulkan) or " +
    "enable chrome://flags/#enable-unsafe-webgpu, and see chrome://gpu for why WebGPU is off; or use another " +
    "browser with WebGPU.",
};

/** In a page or worker rather than Deno: there is no `Deno` global. */
function inBrowser(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno === "undefined";
}

/**
 * Request an adapter and device.
 *
 * @param options Adapter and batching options.
 * @returns A ready {@linkcode Gpu}.
 * @throws {GpuError} When WebGPU or an adapter is missing; the message says how to get one (in Deno: Mesa's
 *   software adapter; in a browser: a browser with WebGPU, or Chrome's `--enable-unsafe-webgpu`).
 * @example Run on whatever adapter this machine has
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * const gpu = await createGpu();
 * const t = gpu.upload(new Float32Array([1, 2, 3]), [3]);
 * console.log(await t.read());
 * gpu.destroy();
 * ```
 */
export async function createGpu(options: GpuOptions = {}): Promise<Gpu> {
  let adapter = options.adapter ?? null;
  if (!adapter) {
    const nav = options.navigator ?? (globalThis.navigator as { gpu?: GPU } | undefined);
    const advice = inBrowser() ? BROWSER_ADVICE : DENO_ADVICE;
    if (!nav?.gpu) throw new GpuError(`Cannot create a GPU context: ${advice.noWebGpu}`);
    adapter = await nav.gpu.requestAdapter({
      powerPreference: options.powerPreference ?? "high-performance",
    });
    if (!adapter) throw new GpuError(`Cannot create a GPU context: ${advice.noAdapter}`);
  }
  const wanted: Record<string, number> = {};
  for (
    const name of [
      "maxStorageBufferBindingSize",
      "maxBufferSize",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxComputeWorkgroupSizeY",
      "maxStorageBuffersPerShaderStage",
      "maxTextureDimension2D",
      "maxTextureArrayLayers",
      "maxStorageTexturesPerShaderStage",
    ] as const
  ) wanted[name] = adapter.limits[name];
  const features: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  const device = await adapter.requestDevice({
    label: options.label ?? "saelab",
    requiredLimits: wanted,
    requiredFeatures: features,
  });
  return new Gpu(adapter, device, options.maxPendingDispatches ?? 256);
}

/** A device with a tensor allocator, pipeline cache and batched dispatch. */
export class Gpu {
  /** The adapter the device came from. */
  readonly adapter: GPUAdapter;
  /** The WebGPU device; callers may use it directly. */
  readonly device: GPUDevice;
  /** Buffer pool; tensors return their buffers here on dispose. */
  readonly pool: BufferPool;
  /** True for a CPU software adapter (llvmpipe, lavapipe, SwiftShader). */
  readonly isSoftware: boolean;
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pending = 0;
  #maxPending: number;
  #afterSubmit: GPUBuffer[] = [];
  #errors: string[] = [];
  #lost: string | null = null;
  #lastKernel = "";
  #destroyed = false;

  constructor(adapter: GPUAdapter, device: GPUDevice, maxPendingDispatches = 256) {
    this.adapter = adapter;
    this.device = device;
    this.#maxPending = maxPendingDispatches;
    this.pool = new BufferPool(device);
    const info = adapter.info ?? ({} as GPUAdapterInfo);
    const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.device ?? ""} ${info.description ?? ""}`
      .toLowerCase();
    this.isSoftware = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
      /llvmpipe|lavapipe|swiftshader|software/.test(text);
    device.addEventListener("uncapturederror", (event) => {
      const e = (event as GPUUncapturedErrorEvent).error;
      this.#errors.push(`${e.message} (last kernel recorded: ${this.#lastKernel || "none"})`);
    });
    device.lost.then((info) => {
      if (!this.#destroyed) this.#lost = `${info.reason}: ${info.message}`;
    });
  }

  /** The device limits that bound tensor sizes and workgroups. */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Largest tensor, in bytes, that a kernel can bind. */
  get maxTensorBytes(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
  }

  /**
   * Copy host data into a new tensor.
   *
   * @param data Values, row-major.
   * @param shape Dimensions; their product must equal `data.length`.
   * @returns The tensor.
   */
  upload<A extends HostArray>(data: A, shape: readonly number[], label = "upload"): Tensor<DTypeOf<A>> {
    const dtype = dtypeOf(data) as DTypeOf<A>;
    const size = checkShape(shape, label);
    if (size !== data.length) {
      throw new RangeError(
        `Cannot upload ${label}: shape [${shape.join(", ")}] holds ${size} values but the data has ${data.length}`,
      );
    }
    const t = this.empty(shape, dtype, label);
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(t.buffer, 0, data as unknown as ArrayBufferView<ArrayBuffer>);
    }
    return t;
  }

  /** A new tensor filled with zeros. */
  zeros<D extends DType = "f32">(shape: readonly number[], dtype: D = "f32" as D, label = "zeros"): Tensor<D> {
    const t = this.empty(shape, dtype, label);
    this.encoder().clearBuffer(t.buffer);
    return t;
  }

  /** A new tensor whose contents are undefined (a kernel will write all of it). */
  empty<D extends DType = "f32">(shape: readonly number[], dtype: D = "f32" as D, label = "tensor"): Tensor<D> {
    this.#check();
    const size = checkShape(shape, label);
    const bytes = byteSize(size, dtype);
    if (bytes > this.maxTensorBytes) {
      throw new RangeError(
        `Cannot allocate ${label} [${shape.join(", ")}] (${dtype}): ${bytes} bytes exceed the device's ` +
          `largest bindable buffer of ${this.maxTensorBytes} bytes (maxStorageBufferBindingSize); ` +
          `split the work into smaller batches`,
      );
    }
    const buffer = this.pool.acquire(bytes, label);
    return new Tensor(this, buffer, shape, dtype, label);
  }

  /** Get (compiling once) the pipeline of a program. */
  pipeline(program: Program): GPUComputePipeline {
    const key = `${program.name}|${program.key}`;
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: program.name, code: program.code() });
      p = this.device.createComputePipeline({
        label: program.name,
        layout: "auto",
        compute: { module, entryPoint: program.entryPoint ?? "main" },
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /** Number of compiled pipelines (one per distinct program key). */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /** Record one dispatch into the pending command encoder. */
  dispatch(program: Program, options: DispatchOptions): void {
    this.#check();
    const pipeline = this.pipeline(program);
    const entries: GPUBindGroupEntry[] = options.bindings.map((b, i) => ({
      binding: i,
      resource: toResource(b),
    }));
    if (options.uniforms !== undefined) {
      const src = options.uniforms instanceof ArrayBuffer
        ? new Uint8Array(options.uniforms)
        : new Uint8Array(options.uniforms.buffer, options.uniforms.byteOffset, options.uniforms.byteLength);
      const size = Math.max(16, Math.ceil(src.byteLength / 16) * 16);
      const ubuf = this.device.createBuffer({
        label: `${program.name}.uniforms`,
        size,
        usage: GPUBufferUsage.UNIFORM,
        mappedAtCreation: true,
      });
      new Uint8Array(ubuf.getMappedRange()).set(src);
      ubuf.unmap();
      this.#afterSubmit.push(ubuf);
      entries.push({ binding: entries.length, resource: { buffer: ubuf } });
    }
    const [x, y = 1, z = 1] = options.workgroups;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > MAX_WORKGROUPS) {
        throw new RangeError(
          `Cannot dispatch ${program.name}: workgroup count ${n} is outside 0..${MAX_WORKGROUPS}`,
        );
      }
    }
    this.#lastKernel = program.name;
    if (x === 0 || y === 0 || z === 0) return;
    const group = this.device.createBindGroup({
      label: program.name,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.encoder().beginComputePass({ label: program.name });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    if (options.indirect) pass.dispatchWorkgroupsIndirect(options.indirect.buffer, options.indirect.offset);
    else pass.dispatchWorkgroups(x, y, z);
    pass.end();
    if (++this.#pending >= this.#maxPending) this.flush();
  }

  /** The pending command encoder (created on demand). */
  encoder(): GPUCommandEncoder {
    this.#check();
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder({ label: "saelab.step" });
    return this.#encoder;
  }

  /** Submit the pending encoder, if any; buffers freed since are returned to the pool. */
  flush(): void {
    if (this.#encoder) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#pending = 0;
    }
    for (const b of this.#afterSubmit) b.destroy();
    this.#afterSubmit = [];
    this.pool.release();
  }

  /**
   * Submit pending work, wait for it and throw any validation error or
   * device loss seen since the last check.
   */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /** Throw a {@linkcode GpuError} if the device was lost or a command failed. */
  throwIfFailed(): void {
    if (this.#lost) throw new GpuError(`The GPU device was lost (${this.#lost})`);
    if (this.#errors.length > 0) {
      const errors = this.#errors;
      this.#errors = [];
      throw new GpuError(`WebGPU reported ${errors.length} error(s): ${errors.join("; ")}`);
    }
  }

  /** Copy a buffer range to the host. Flushes pending work first. */
  async readBuffer(buffer: GPUBuffer, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.#check();
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const staging = this.device.createBuffer({
      label: "saelab.readback",
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      if (byteLength > 0) this.encoder().copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
      this.flush();
      await staging.mapAsync(GPUMapMode.READ);
      this.throwIfFailed();
      return staging.getMappedRange(0, size).slice(0, byteLength);
    } finally {
      staging.destroy();
    }
  }

  /** Release every pooled buffer and the device. */
  destroy(): void {
    if (this.#destroyed) return;
    try {
      this.flush();
    } catch {
      // the device may already be gone
    }
    this.#destroyed = true;
    this.pool.destroy();
    this.#pipelines.clear();
    this.device.destroy();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /** @internal Called by tensors: their buffer returns to the pool after the next submit. */
  recycle(buffer: GPUBuffer): void {
    if (this.#destroyed) {
      buffer.destroy();
      return;
    }
    this.pool.recycle(buffer);
  }

  #check(): void {
    if (this.#destroyed) throw new GpuError("This GPU context was destroyed");
    if (this.#lost) throw new GpuError(`The GPU device was lost (${this.#lost})`);
  }
}

type DTypeOf<A> = A extends Float32Array ? "f32" : A extends Int32Array ? "i32" : "u32";

function dtypeOf(data: HostArray): DType {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  throw new TypeError("Cannot upload: data must be a Float32Array, Int32Array or Uint32Array");
}

function checkShape(shape: readonly number[], label: string): number {
  if (!Array.isArray(shape)) throw new TypeError(`Cannot create ${label}: shape must be an array`);
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot create ${label}: shape [${shape.join(", ")}] has a dimension that is not a whole number ≥ 0`,
      );
    }
    size *= d;
  }
  return size;
}

function toResource(b: Binding): GPUBindingResource {
  if (b instanceof Tensor) return { buffer: b.buffer };
  if (typeof GPUBuffer !== "undefined" && b instanceof GPUBuffer) return { buffer: b };
  return b as GPUBindingResource;
}
