/**
 * Rotary position embedding, rotate-half convention (GPT-NeoX, Llama): in each
 * head vector the first `rotaryDims` entries are split into halves `a`, `b`
 * and rotated pairwise, `a' = a·cos θ − b·sin θ`, `b' = b·cos θ + a·sin θ`, with
 * `θ_i = position · base^(−2i / rotaryDims)`; the other entries pass through.
 *
 * The input is `[B, T, C]`; each token's `C` values are consecutive vectors
 * of `headSize`. Of every `every` consecutive vectors the first `rotate` are
 * rotated: a plain query tensor is `rotate 1, every 1`, GPT-NeoX's fused
 * per-head `[q | k | v]` is `rotate 2, every 3`. `inverse` rotates by −θ (the
 * backward pass of the rotation).
 *
 * Bindings: `x`, `y` (or one read-write buffer in place), uniforms
 * `{ total, seq, vectors, headSize, rotaryDims, rotate, every, offset, logBase, sign }`.
 * In place, one invocation per rotated pair; otherwise one per (token, vector,
 * k < headSize − rotaryDims/2), owning a rotated pair or copied entries. Either
 * way an invocation reads only what it writes. Workgroup size 256.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, fmtShape, grid, GRID_ARGS, LINEAR_ID, outTensor, Uniforms } from "./_util.ts";

/** Options of {@linkcode rotary}. */
export interface RotaryOptions {
  /** Length of each head vector. */
  headSize: number;
  /** Leading entries of each vector that rotate; even, at most `headSize`. */
  rotaryDims: number;
  /** θ base. Default 10000. */
  base?: number;
  /** Of every `every` consecutive vectors, rotate the first `rotate`. Default 1. */
  rotate?: number;
  /** Period of the rotated/passed-through vector pattern. Default 1. */
  every?: number;
  /** Position of the first token. Default 0. */
  positionOffset?: number;
  /** Rotate by −θ instead of θ. Default false. */
  inverse?: boolean;
  /** Write here (shape of `x`; may be `x`) instead of a new tensor. */
  out?: Tensor<"f32">;
}

const WG = 256;

/**
 * In place, invocations cover only the rotated pairs: (token, rotated vector, k < rotaryDims/2).
 * Out of place, they cover every entry: (token, vector, k < headSize − rotaryDims/2), each
 * owning one rotated pair or one or two copied entries.
 */
function program(inPlace: boolean): Program {
  const src = inPlace ? "y" : "x";
  return {
    name: "rotary",
    key: inPlace ? "inplace" : "copy",
    code: () => `
${
      inPlace
        ? "@group(0) @binding(0) var<storage, read_write> y: array<f32>;"
        : `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;`
    }
struct U { total: u32, seq: u32, vectors: u32, headSize: u32, rotaryDims: u32, rotate: u32, every: u32,
  offset: u32, logBase: f32, sign: f32 }
@group(0) @binding(${inPlace ? 1 : 2}) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let id = ${LINEAR_ID(WG)};
  if (id >= u.total) { return; }
  let half = u.rotaryDims / 2u;
${
      inPlace
        ? `  let rotated = (u.vectors / u.every) * u.rotate;
  let k = id % half;
  let r = (id / half) % rotated;
  let token = id / (half * rotated);
  let vec = (r / u.rotate) * u.every + r % u.rotate;`
        : `  let per = u.headSize - half;
  let k = id % per;
  let vec = (id / per) % u.vectors;
  let token = id / (per * u.vectors);`
    }
  let o = (token * u.vectors + vec) * u.headSize;
${
      inPlace ? "" : `  if (k >= half || vec % u.every >= u.rotate) {
    // copied: entry k + half of a rotated vector, or entries k and k + per of another vector
    let j = select(k + half, k, vec % u.every >= u.rotate);
    y[o + j] = x[o + j];
    if (vec % u.every >= u.rotate && k < half) { y[o + k + per] = x[o + k + per]; }
    return;
  }`
    }
  let pos = f32(token % u.seq + u.offset);
  let theta = pos * exp(-f32(2u * k) / f32(u.rotaryDims) * u.logBase);
  let c = cos(theta);
  let s = u.sign * sin(theta);
  let a = ${src}[o + k];
  let b = ${src}[o + k + half];
  y[o + k] = a * c - b * s;
  y[o + k + half] = b * c + a * s;
}`,
  };
}

/**
 * Apply rotary position embedding to `x` `[B, T, C]`.
 *
 * @param gpu The GPU context.
 * @param x Input `[B, T, C]` with `C` a multiple of `headSize · every`.
 * @param options Head size, rotary width, base, the rotated-vector pattern, `out` (may be `x`).
 * @returns The rotated tensor, shaped like `x`.
 * @throws {RangeError} When the sizes do not fit together.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { rotary } from "@saelab/kernels";
 * const gpu = await createGpu();
 * // one sequence of 2 tokens, one head of 4 with 2 rotary dims
 * const x = gpu.upload(new Float32Array([1, 0, 5, 6, 1, 0, 5, 6]), [1, 2, 4]);
 * console.log(await rotary(gpu, x, { headSize: 4, rotaryDims: 2 }).read());
 * // ≈ [1, 0, 5, 6, cos 1, sin 1, 5, 6]
 * ```
 */
export function rotary(gpu: Gpu, x: Tensor<"f32">, options: RotaryOptions): Tensor<"f32"> {
  const k = "rotary";
  checkTensor(gpu, k, "x", x, { rank: 3 });
  const [, seq, width] = x.shape;
  const headSize = checkNumber(k, "headSize", options?.headSize, { integer: true });
  const rotaryDims = checkNumber(k, "rotaryDims", options.rotaryDims, { integer: true });
  const rotate = checkNumber(k, "rotate", options.rotate ?? 1, { integer: true });
  const every = checkNumber(k, "every", options.every ?? 1, { integer: true });
  const offset = checkNumber(k, "positionOffset", options.positionOffset ?? 0, { integer: true });
  const base = checkNumber(k, "base", options.base ?? 10000);
  if (headSize < 1 || width % (headSize * Math.max(every, 1)) !== 0) {
    throw new RangeError(
      `Cannot run ${k}: x ${fmtShape(x.shape)} does not hold whole groups of ${every} vectors of headSize ${headSize}`,
    );
  }
  if (rotaryDims < 0 || rotaryDims % 2 !== 0 || rotaryDims > headSize) {
    throw new RangeError(
      `Cannot run ${k}: rotaryDims ${rotaryDims} must be even and between 0 and headSize ${headSize}`,
    );
  }
  if (every < 1 || rotate < 0 || rotate > every) {
    throw new RangeError(`Cannot run ${k}: rotate ${rotate} must be between 0 and every ${every} (≥ 1)`);
  }
  if (offset < 0 || base <= 0) throw new RangeError(`Cannot run ${k}: positionOffset ≥ 0 and base > 0 are required`);
  const y = outTensor(gpu, k, options.out, x.shape);
  const inPlace = y.buffer === x.buffer;
  const vectors = width / headSize;
  const tokens = x.size / width;
  const total = inPlace
    ? tokens * (vectors / every) * rotate * (rotaryDims / 2)
    : tokens * vectors * (headSize - rotaryDims / 2);
  const u = new Uniforms().u32(total).u32(seq).u32(vectors).u32(headSize).u32(rotaryDims).u32(rotate).u32(every)
    .u32(offset).f32(Math.log(base)).f32(options.inverse ? -1 : 1);
  gpu.dispatch(program(inPlace), {
    bindings: inPlace ? [y] : [x, y],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(total / WG)),
  });
  return y;
}
