/**
 * Token batches: validation against a model and packing into one `Int32Array`.
 *
 * @module
 */
import type { NeoxConfig } from "./config.ts";

/** A batch of token id sequences of equal length, `[B][T]`. */
export type TokenBatch = readonly ArrayLike<number>[];

/** A validated batch. */
export interface PackedTokens {
  /** Ids, row-major `[B, T]`. */
  data: Int32Array;
  /** Sequences. */
  batch: number;
  /** Tokens per sequence. */
  seq: number;
}

/**
 * Check a batch against a model and pack it.
 *
 * @param config The model configuration (vocabulary, longest context).
 * @param ids `[B][T]` token ids.
 * @returns The packed ids.
 * @throws {RangeError} For an empty batch, empty or ragged sequences, a context longer than
 *   `max_position_embeddings`, or an id that is not a whole number in `0 … vocab−1`.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { type PackedTokens, packTokens, type TokenBatch } from "./tokens.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const batch: TokenBatch = [[1, 2], [3, 4]];
 * const packed: PackedTokens = packTokens(c, batch);
 * console.log(packed.data, packed.batch, packed.seq); // Int32Array [1, 2, 3, 4] 2 2
 * ```
 */
export function packTokens(config: NeoxConfig, ids: TokenBatch): PackedTokens {
  if (!Array.isArray(ids)) throw new TypeError("Cannot run the model: ids must be an array of sequences [B][T]");
  const batch = ids.length;
  if (batch === 0) throw new RangeError("Cannot run the model: the batch is empty (no sequences)");
  const seq = ids[0]?.length ?? 0;
  if (seq === 0) throw new RangeError("Cannot run the model: sequence 0 is empty");
  if (seq > config.maxPositions) {
    throw new RangeError(
      `Cannot run the model: the context of ${seq} tokens is longer than max_position_embeddings (${config.maxPositions})`,
    );
  }
  const data = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    const row = ids[b];
    if (row?.length !== seq) {
      throw new RangeError(
        `Cannot run the model: sequence ${b} has ${row?.length ?? "no"} tokens but sequence 0 has ${seq}; ` +
          "sequences of a batch must have equal length",
      );
    }
    for (let t = 0; t < seq; t++) {
      const id = row[t];
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw new RangeError(
          `Cannot run the model: token id ${id} at sequence ${b}, position ${t} is outside the vocabulary ` +
            `(0 … ${config.vocabSize - 1})`,
        );
      }
      data[b * seq + t] = id;
    }
  }
  return { data, batch, seq };
}
