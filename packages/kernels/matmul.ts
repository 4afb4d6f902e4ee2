/**
 * Matrix multiply with optional transposes and a fused epilogue:
 *
 *   C[m, n] = relu?( alpha · op(A) · op(B) + bias[n] + (accumulate ? C : 0) )
 *
 * where op(A) is A [m, k] or, with `transposeA`, the transpose of A stored
 * [k, m]; likewise op(B) is B [k, n] or B stored [n, k] with `transposeB`.
 *
 * Three kernels compute it (programs keyed by compile-time facts only, shapes
 * in uniforms):
 * - `naive`: one invocation per output, storage buffers (`_matmul_naive.ts`);
 * - `tiled`: register-blocked with workgroup-memory tiles, storage buffers —
 *   what a discrete GPU prefers (`_matmul_tiled.ts`);
 * - `texture`: operands staged into cached `rgba32float` textures and read
 *   with `textureLoad` — over ten times the storage-tiled kernel on CPU software
 *   adapters (`_matmul_texture.ts`, `_matmul_stage.ts`, `_matmul_unstage.ts`).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { FLAG_ACCUMULATE, FLAG_BIAS, FLAG_RELU, type MatmulProblem } from "./_matmul_common.ts";
import { matmulNaive } from "./_matmul_naive.ts";
import { matmulTexture, textureFits } from "./_matmul_texture.ts";
import { matmulTiled } from "./_matmul_tiled.ts";
import { checkTensor, fmtShape, outTensor } from "./_util.ts";

export { releaseMatmulTextures } from "./_matmul_stage.ts";

/**
 * Which kernel runs a matmul. `"auto"` picks `"texture"` on software
 * adapters (`gpu.isSoftware`) and `"tiled"` elsewhere. `"texture"` falls back
 * to `"tiled"` when k is 0, when an operand or the product is too wide for a
 * texture (more than 4·`maxTextureDimension2D` columns after wrapping tall
 * matrices), or when WGSL lacks read-only storage textures.
 */
export type MatmulVariant = "auto" | "naive" | "tiled" | "texture";

/** Options of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Use A transposed: `a` is stored [k, m]. Default false. */
  transposeA?: boolean;
  /** Use B transposed: `b` is stored [n, k]. Default false. */
  transposeB?: boolean;
  /** Added to every row of the result: shape [n] (or [1, n]). */
  bias?: Tensor<"f32">;
  /** Apply `max(x, 0)` last (after bias and accumulation). Default false. */
  relu?: boolean;
  /**
   * Write the result here ([m, n], f32) instead of a new tensor, so training
   * loops can reuse one buffer. Must not share its buffer with `a`, `b` or `bias`.
   */
  out?: Tensor<"f32">;
  /** Scale of the product (not of bias or of the accumulated values). Default 1. */
  alpha?: number;
  /**
   * Add the result into `out` (gradient accumulation): `out = alpha·op(A)·op(B) + bias + out`,
   * ReLU (if any) applied to the sum. Requires `out`. Default false.
   */
  accumulate?: boolean;
  /** Kernel choice. Default `"auto"`. */
  variant?: MatmulVariant;
}

const VARIANTS: readonly MatmulVariant[] = ["auto", "naive", "tiled", "texture"];

/**
 * C = op(A)·op(B) with optional bias, ReLU, scaling and accumulation.
 * The work is recorded into the pending command encoder; nothing waits on the GPU.
 *
 * @param gpu The GPU context.
 * @param a Left operand: [m, k], or [k, m] with `transposeA`.
 * @param b Right operand: [k, n], or [n, k] with `transposeB`.
 * @param options Transposes, epilogue (`bias`, `relu`, `alpha`, `accumulate`), `out` and `variant`.
 * @returns The result [m, n] (`options.out` when given).
 * @throws {RangeError} When ranks or shapes do not match (the message names them).
 * @throws {TypeError} For tensors of another dtype or context, disposed tensors, or bad options.
 * @example Project a batch onto a dictionary and apply its encoder bias and ReLU
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { matmul } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]); // [B, D]
 * const w = gpu.upload(new Float32Array([1, 0, 0, 1, 1, 1]), [2, 3]); // [F, D]
 * const bias = gpu.upload(new Float32Array([0, -10]), [2]); // [F]
 * const f = matmul(gpu, x, w, { transposeB: true, bias, relu: true }); // [B, F]
 * console.log(await f.read()); // Float32Array [1, 0, 4, 5]
 * gpu.destroy();
 * ```
 */
export function matmul(gpu: Gpu, a: Tensor<"f32">, b: Tensor<"f32">, options: MatmulOptions = {}): Tensor<"f32"> {
  const { problem, variant } = plan(gpu, a, b, options);
  if (problem.m === 0 || problem.n === 0) return problem.c as Tensor<"f32">;
  if (variant === "naive") matmulNaive(gpu, problem);
  else if (variant === "tiled") matmulTiled(gpu, problem);
  else matmulTexture(gpu, problem);
  return problem.c as Tensor<"f32">;
}

/**
 * The kernel {@linkcode matmul} would run for these arguments (after `"auto"`
 * and any fallback), without running it.
 *
 * @param gpu The GPU context.
 * @param a Left operand.
 * @param b Right operand.
 * @param options The options that would be passed to {@linkcode matmul} (`out` is not needed).
 * @returns `"naive"`, `"tiled"` or `"texture"`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { matmulVariant } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const a = gpu.zeros([64, 32]), b = gpu.zeros([32, 16]);
 * console.log(matmulVariant(gpu, a, b)); // "texture" on a software adapter
 * ```
 */
export function matmulVariant(
  gpu: Gpu,
  a: Tensor<"f32">,
  b: Tensor<"f32">,
  options: MatmulOptions = {},
): Exclude<MatmulVariant, "auto"> {
  const dims = checkOperands(gpu, a, b, options);
  return resolveVariant(gpu, { ...dims, a, b }, options.variant ?? "auto");
}

interface Dims {
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
}

function checkOperands(gpu: Gpu, a: Tensor, b: Tensor, options: MatmulOptions): Dims {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot run matmul: options must be an object");
  }
  checkTensor(gpu, "matmul", "a", a, { rank: 2 });
  checkTensor(gpu, "matmul", "b", b, { rank: 2 });
  const transposeA = flag(options.transposeA, "transposeA");
  const transposeB = flag(options.transposeB, "transposeB");
  const [m, ka] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (ka !== kb) {
    throw new RangeError(
      `Cannot run matmul: inner dimensions ${ka} and ${kb} differ (a ${fmtShape(a.shape)}${
        transposeA ? " transposed" : ""
      }, b ${fmtShape(b.shape)}${transposeB ? " transposed" : ""})`,
    );
  }
  return { m, n, k: ka, transposeA, transposeB };
}

function plan(
  gpu: Gpu,
  a: Tensor,
  b: Tensor,
  options: MatmulOptions,
): { problem: MatmulProblem; variant: Exclude<MatmulVariant, "auto"> } {
  const dims = checkOperands(gpu, a, b, options);
  const { m, n } = dims;
  let flags = 0;
  const bias = options.bias;
  if (bias !== undefined) {
    checkTensor(gpu, "matmul", "bias", bias);
    const ok = (bias.rank === 1 && bias.shape[0] === n) ||
      (bias.rank === 2 && bias.shape[0] === 1 && bias.shape[1] === n);
    if (!ok) {
      throw new RangeError(
        `Cannot run matmul: bias has shape ${fmtShape(bias.shape)} but the result [${m}, ${n}] has ${n} columns`,
      );
    }
    flags |= FLAG_BIAS;
  }
  if (flag(options.relu, "relu")) flags |= FLAG_RELU;
  if (flag(options.accumulate, "accumulate")) {
    if (options.out === undefined) throw new TypeError("Cannot run matmul: accumulate needs an out tensor to add into");
    flags |= FLAG_ACCUMULATE;
  }
  const alpha = options.alpha ?? 1;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new TypeError(`Cannot run matmul: alpha must be a finite number, got ${String(alpha)}`);
  }
  const c = outTensor(gpu, "matmul", options.out, [m, n]);
  for (const [name, t] of [["a", a], ["b", b], ["bias", bias]] as const) {
    if (t !== undefined && options.out !== undefined && t.buffer === c.buffer) {
      throw new RangeError(`Cannot run matmul: out shares its buffer with ${name}; write to a separate tensor`);
    }
  }
  const problem: MatmulProblem = { ...dims, a, b, bias, c, alpha, flags };
  return { problem, variant: resolveVariant(gpu, problem, options.variant ?? "auto") };
}

function resolveVariant(
  gpu: Gpu,
  pr: Dims & { a: Tensor; b: Tensor },
  variant: MatmulVariant,
): Exclude<MatmulVariant, "auto"> {
  if (!VARIANTS.includes(variant)) {
    throw new TypeError(`Cannot run matmul: unknown variant "${variant}", expected one of ${VARIANTS.join(", ")}`);
  }
  if (variant === "naive" || variant === "tiled") return variant;
  const textureOk = pr.k > 0 && textureFits(gpu, pr);
  if (variant === "texture") return textureOk ? "texture" : "tiled";
  return gpu.isSoftware && textureOk ? "texture" : "tiled";
}

function flag(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new TypeError(`Cannot run matmul: ${name} must be a boolean, got ${typeof v}`);
  return v;
}
