/**
 * Vocabulary-sized matrices (`embed_in`, `embed_out`, `[V, D]`) held as row
 * parts: a part must fit one storage binding, and on software adapters parts
 * are kept small enough that the unembedding's output fits the texture matmul
 * (a `[N, V]` product over the whole vocabulary would fall back to a slower kernel).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { embedding, matmul } from "@saelab/kernels";

/** Rows `first … first + weight.shape[0] − 1` of a `[V, D]` matrix. */
export interface VocabPart {
  first: number;
  weight: Tensor<"f32">;
}

/** Most vocabulary rows per part on a software adapter. */
const SOFTWARE_ROWS = 16384;

/**
 * Upload a `[vocab, width]` matrix as balanced row parts.
 *
 * @param gpu The GPU context.
 * @param data Row-major values.
 * @param options `shape` `[vocab, width]`, buffer `label`, `maxRows` per part (default: see the module doc).
 * @returns The parts, in row order.
 */
export function uploadVocab(
  gpu: Gpu,
  data: Float32Array,
  options: { shape: readonly number[]; label: string; maxRows?: number },
): VocabPart[] {
  const [vocab, width] = options.shape;
  const wanted = options.maxRows ?? (gpu.isSoftware ? SOFTWARE_ROWS : vocab);
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw new RangeError(`Cannot load the model: vocabPartRows ${wanted} must be a whole number ≥ 1`);
  }
  const limit = Math.max(1, Math.min(vocab, Math.floor(gpu.maxTensorBytes / (4 * width)), wanted));
  const count = Math.ceil(vocab / limit);
  const rows = Math.ceil(vocab / count);
  const parts: VocabPart[] = [];
  for (let first = 0; first < vocab; first += rows) {
    const n = Math.min(rows, vocab - first);
    const slice = data.subarray(first * width, (first + n) * width);
    parts.push({
      first,
      weight: gpu.upload(slice, [n, width], count > 1 ? `${options.label}[${first}:]` : options.label),
    });
  }
  return parts;
}

/**
 * Embedding lookup over a matrix held in parts.
 *
 * @param gpu The GPU context.
 * @param tokens `[B, T]` ids.
 * @param parts The embedding matrix.
 * @returns `[B, T, D]`; the caller owns it.
 */
export function embedTokens(gpu: Gpu, tokens: Tensor<"i32">, parts: readonly VocabPart[]): Tensor<"f32"> {
  const y = embedding(gpu, tokens, parts[0].weight); // the first part also zeroes rows of other parts
  for (const p of parts.slice(1)) embedding(gpu, tokens, p.weight, { out: y, firstRow: p.first });
  return y;
}

/**
 * `out [N, V] = x [N, D] · Wᵀ` over a matrix held in parts.
 *
 * @param gpu The GPU context.
 * @param x `[N, D]`.
 * @param parts The unembedding matrix.
 * @param out `[N, V]`.
 */
export function unembedInto(gpu: Gpu, x: Tensor<"f32">, parts: readonly VocabPart[], out: Tensor<"f32">): void {
  if (parts.length === 1) {
    matmul(gpu, x, parts[0].weight, { transposeB: true, out });
    return;
  }
  const [rows, vocab] = out.shape;
  for (const { first, weight } of parts) {
    const n = weight.shape[0];
    const part = matmul(gpu, x, weight, { transposeB: true }); // [N, n]
    const enc = gpu.encoder();
    for (let r = 0; r < rows; r++) {
      enc.copyBufferToBuffer(part.buffer, r * n * 4, out.buffer, (r * vocab + first) * 4, n * 4);
    }
    part.dispose();
  }
}
