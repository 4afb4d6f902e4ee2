/**
 * Staging of matmul operands into `rgba32float` textures, for the texture
 * variant. A stored matrix [rows, cols] becomes texels of four consecutive
 * columns: texel (x, y) of row `y` holds columns 4x..4x+3, zero past `cols`.
 * Rows beyond H (a power of two, see {@linkcode wrapShift}) wrap into
 * side-by-side blocks: row r lives at y = r mod H, x offset ⌊r / H⌋ · ⌈cols/4⌉.
 *
 * Staging is a plain `copyBufferToTexture` when rows are 256-byte aligned
 * (cols a multiple of 64) and no zero rows are needed; otherwise a compute
 * pass (`matmul_pack`, 64 invocations, one texel each) writes the texels.
 *
 * Textures are cached per size and slot for the life of the context, so a
 * training loop reuses them every step. Reusing one right away is safe: the
 * queue orders the next copy after the previous kernel's reads.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { MAX_GROUPS } from "./_matmul_common.ts";

/** Bytes of cached textures kept per context before older sizes are evicted. */
const BUDGET_BYTES = 512 * 2 ** 20;

interface Cache {
  textures: Map<string, GPUTexture>;
  bytes: number;
}

const caches = new WeakMap<Gpu, Cache>();

/**
 * Shift that maps a stored row to its wrapped block: H = 2^shift, half the
 * largest power of two within the texture limit, so that a texture of H rows
 * can be allocated one row taller (see {@linkcode cachedTexture}).
 */
export function wrapShift(gpu: Gpu): number {
  return Math.floor(Math.log2(gpu.limits.maxTextureDimension2D)) - 1;
}

/**
 * The smallest size ≥ x that is not a power of two (within `max`). llvmpipe
 * compiles a separate shader variant for power-of-two texture sizes, so
 * allocating only other sizes keeps one compiled variant per pipeline.
 */
function notPowerOfTwo(x: number, max: number): number {
  let y = x;
  while (y < max && (y & (y - 1)) === 0) y++;
  return y;
}

/** Texture extent of `rows` rows of `texels` texels after wrapping, or null when it does not fit. */
export function wrappedExtent(gpu: Gpu, rows: number, texels: number): [number, number] | null {
  const h = 2 ** wrapShift(gpu);
  const blocks = Math.ceil(rows / h);
  const width = texels * blocks, height = Math.min(rows, h);
  if (width === 0 || height === 0 || width > gpu.limits.maxTextureDimension2D) return null;
  return [width, height];
}

/** Texture extent of a stored [rows, cols] matrix, or null when it does not fit. */
export function stagedExtent(gpu: Gpu, rows: number, cols: number): [number, number] | null {
  return wrappedExtent(gpu, rows, Math.ceil(cols / 4));
}

const PACK_WG = 64;

function packProgram(shift: number): Program {
  return {
    name: "matmul_pack",
    key: `shift=${shift}`,
    code: () => `
struct Pack { rows: u32, cols: u32, cols4: u32, texels: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<uniform> u: Pack;

@compute @workgroup_size(${PACK_WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = (wg.y * ${MAX_GROUPS}u + wg.x) * ${PACK_WG}u + li;
  if (t >= u.texels) { return; }
  let y = t / u.cols4;
  let x = t % u.cols4;
  var v = vec4f(0.0);
  if (y < u.rows) {
    let base = y * u.cols + x * 4u;
    let left = u.cols - x * 4u;
    v.x = src[base];
    if (left > 1u) { v.y = src[base + 1u]; }
    if (left > 2u) { v.z = src[base + 2u]; }
    if (left > 3u) { v.w = src[base + 3u]; }
  }
  textureStore(dst, vec2u(x + (y >> ${shift}u) * u.cols4, y & ${2 ** shift - 1}u), v);
}
`,
  };
}

const packPrograms = new Map<number, Program>();

/**
 * A cached `rgba32float` texture of this size for `slot` (created on first
 * use; the least recently used are evicted past the budget, except `keep`).
 */
export function cachedTexture(
  gpu: Gpu,
  width: number,
  height: number,
  options: { slot: string; keep: Set<GPUTexture> },
): GPUTexture {
  const { slot, keep } = options;
  let cache = caches.get(gpu);
  if (!cache) caches.set(gpu, cache = { textures: new Map(), bytes: 0 });
  const max = gpu.limits.maxTextureDimension2D;
  const w = notPowerOfTwo(width, max), h = notPowerOfTwo(height, max);
  const key = `${w}x${h}/${slot}`;
  let tex = cache.textures.get(key);
  if (tex) {
    // most recently used last
    cache.textures.delete(key);
    cache.textures.set(key, tex);
    keep.add(tex);
    return tex;
  }
  const bytes = w * h * 16;
  if (cache.bytes + bytes > BUDGET_BYTES) {
    gpu.flush(); // recorded commands may still use the textures about to go
    for (const [k, t] of cache.textures) {
      if (cache.bytes + bytes <= BUDGET_BYTES) break;
      if (keep.has(t)) continue;
      t.destroy();
      cache.textures.delete(k);
      cache.bytes -= t.width * t.height * 16;
    }
  }
  tex = gpu.device.createTexture({
    label: `matmul.${slot}[${w}x${h}]`,
    size: [w, h],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST |
      GPUTextureUsage.COPY_SRC,
  });
  cache.textures.set(key, tex);
  cache.bytes += bytes;
  keep.add(tex);
  return tex;
}

/**
 * Record the staging of a stored matrix [rows, cols] into a cached texture.
 *
 * @param t The tensor holding the matrix, row-major.
 * @param options `rows`/`cols` of the stored matrix, `padRows` to make the
 *   row count a multiple of 4 with zero rows, `slot` to keep operands of one
 *   call apart, `keep` textures not to evict.
 * @returns The texture and the texels per stored row (`cols4`).
 */
export function stage(
  gpu: Gpu,
  t: Tensor,
  options: { rows: number; cols: number; padRows: boolean; slot: string; keep: Set<GPUTexture> },
): { texture: GPUTexture; cols4: number } {
  const { cols } = options;
  const rows = options.padRows ? Math.ceil(options.rows / 4) * 4 : options.rows;
  const extent = stagedExtent(gpu, rows, cols);
  if (!extent) throw new RangeError(`Cannot stage a [${rows}, ${cols}] matrix into a texture: it is too large`);
  const tex = cachedTexture(gpu, extent[0], extent[1], options);
  const cols4 = Math.ceil(cols / 4);
  const shift = wrapShift(gpu), h = 2 ** shift;
  if (cols % 64 === 0 && rows === options.rows) {
    const enc = gpu.encoder();
    for (let r0 = 0; r0 < rows; r0 += h) {
      const n = Math.min(h, rows - r0);
      enc.copyBufferToTexture(
        { buffer: t.buffer, offset: r0 * cols * 4, bytesPerRow: cols * 4, rowsPerImage: n },
        { texture: tex, origin: [(r0 / h) * cols4, 0] },
        [cols4, n],
      );
    }
  } else {
    let prog = packPrograms.get(shift);
    if (!prog) packPrograms.set(shift, prog = packProgram(shift));
    const texels = rows * cols4;
    const groups = Math.ceil(texels / PACK_WG);
    gpu.dispatch(prog, {
      bindings: [t, tex.createView({ label: tex.label })],
      uniforms: new Uint32Array([options.rows, cols, cols4, texels]),
      workgroups: [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS)],
    });
  }
  return { texture: tex, cols4 };
}

/**
 * Destroy the textures cached for a context's texture-variant matmuls
 * (they are otherwise kept for reuse until the context is destroyed).
 *
 * @param gpu The context.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { releaseMatmulTextures } from "@saelab/kernels";
 * const gpu = await createGpu();
 * releaseMatmulTextures(gpu);
 * ```
 */
export function releaseMatmulTextures(gpu: Gpu): void {
  const cache = caches.get(gpu);
  if (!cache) return;
  gpu.flush();
  for (const t of cache.textures.values()) t.destroy();
  caches.delete(gpu);
}

/** Number of textures cached for a context (for tests). */
export function cachedTextureCount(gpu: Gpu): number {
  return caches.get(gpu)?.textures.size ?? 0;
}
