/**
 * Generation: greedy decoding or temperature sampling with a seeded generator.
 * Each step reruns the whole (sliding) context; there is no key/value cache.
 *
 * @module
 */
import type { Hooks } from "./hooks.ts";
import type { NeoxModel } from "./model.ts";
import { packTokens, type TokenBatch } from "./tokens.ts";
import { sampleToken } from "./sample.ts";
import { seededRandom } from "@saelab/core";

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** Tokens to add to each sequence. Default 16. */
  maxNewTokens?: number;
  /** 0 for greedy (argmax, lowest id on ties); otherwise sample from `softmax(logits / temperature)`. Default 0. */
  temperature?: number;
  /** Seed of the sampler. Default 0. */
  seed?: number;
  /** A sequence that produces this token stops (the token is kept). */
  stopToken?: number;
  /** Hooks applied at every step (steering); a `logits` hook sees `[B, 1, V]`. */
  hooks?: Hooks;
}

/**
 * Continue each prompt.
 *
 * @param model The model.
 * @param prompts Token ids `[B][T]` of equal length.
 * @param options Length, temperature, seed, stop token, hooks.
 * @returns The new tokens of each sequence; a stopped sequence is shorter.
 * @example
 * ```ts ignore
 * const out = await generate(model, [[1, 2, 3]], { maxNewTokens: 5 });
 * ```
 */
export async function generate(
  model: NeoxModel,
  prompts: TokenBatch,
  options: GenerateOptions = {},
): Promise<number[][]> {
  const { config } = model;
  const maxNew = options.maxNewTokens ?? 16;
  const temperature = options.temperature ?? 0;
  if (!Number.isInteger(maxNew) || maxNew < 0) {
    throw new RangeError(`Cannot generate: maxNewTokens ${maxNew} must be a whole number ≥ 0`);
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`Cannot generate: temperature ${temperature} must be a finite number ≥ 0`);
  }
  const packed = packTokens(config, prompts);
  const rand = seededRandom(options.seed ?? 0);
  const seqs = Array.from(
    { length: packed.batch },
    (_, b) => [...packed.data.subarray(b * packed.seq, (b + 1) * packed.seq)],
  );
  const out: number[][] = seqs.map(() => []);
  const done = seqs.map(() => false);
  for (let step = 0; step < maxNew && done.includes(false); step++) {
    const context = seqs.map((s) => s.slice(-config.maxPositions));
    const logits = await model.lastLogits(context, options.hooks); // [B, V]
    for (let b = 0; b < seqs.length; b++) {
      if (done[b]) {
        seqs[b].push(options.stopToken!); // keeps the batch rectangular; not part of the output
        continue;
      }
      const token = sampleToken(logits.subarray(b * config.vocabSize, (b + 1) * config.vocabSize), temperature, rand);
      seqs[b].push(token);
      out[b].push(token);
      if (token === options.stopToken) done[b] = true;
    }
  }
  return out;
}
