/**
 * Two tasks that small models perform, so a demo on the project's own model
 * has signal:
 *
 * - **repeat** (induction): a random sequence of words is shown, then begun
 *   again; the model should continue it with the word that followed last
 *   time. The counterfactual changes that word in the first copy.
 * - **phrase**: a fixed two-word phrase (`United` → `States`); the
 *   counterfactual swaps the first word for another phrase's.
 *
 * Check what the model does with `runTask` and `summarizeTask` before
 * patching: a task the model does not perform has nothing to find.
 *
 * @module
 */
import { seeded } from "./_random.ts";
import { endOfText, pickDistinct, singleToken, type TextCodec } from "./_text.ts";
import type { PatchTask, PromptPair } from "./task.ts";

/** Options of {@linkcode repeatTask}. */
export interface RepeatOptions {
  /** Pairs. Default 32. */
  pairs?: number;
  /** Words in the sequence before it starts again. Default 8. */
  length?: number;
  /** Words of the second copy shown before the prediction. Default 3. */
  shown?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** Token put first. Default: the tokenizer's `<|endoftext|>`, when it has one. */
  bos?: number | null;
}

/**
 * Words of the vocabulary that are one token with a leading space: ` [a-z]{3,}`, in id order.
 *
 * @param codec The tokenizer.
 * @param limit Most words (the lowest ids: the most frequent merges). Default 2000.
 * @returns Token ids.
 * @example
 * ```ts ignore
 * const words = wordTokens(await Tokenizer.fromFile("fixtures/models/sotu-neox/tokenizer.json"));
 * ```
 */
export function wordTokens(codec: TextCodec, limit = 2000): number[] {
  const out: number[] = [];
  for (let id = 0; id < codec.vocabSize && out.length < limit; id++) {
    let text: string;
    try {
      text = codec.decode([id]);
    } catch {
      continue;
    }
    if (/^ [a-z]{3,}$/.test(text) && singleToken(codec, text) === id) out.push(id);
  }
  return out;
}

/**
 * The repeat (induction) task: `w1 … wn w1 … wk` → `w(k+1)`; the counterfactual replaces `w(k+1)`.
 *
 * @param codec The model's tokenizer.
 * @param options Pairs, sequence length, words shown again, seed, leading token.
 * @returns The task; answers are the clean and the counterfactual next word.
 * @throws {RangeError} When the tokenizer has too few single-token words.
 * @example
 * ```ts ignore
 * const task = repeatTask(tokenizer, { pairs: 32, seed: 0 });
 * ```
 */
export function repeatTask(codec: TextCodec, options: RepeatOptions = {}): PatchTask {
  const n = options.length ?? 8, k = options.shown ?? 3, count = options.pairs ?? 32;
  if (!(Number.isInteger(n) && Number.isInteger(k) && k >= 1 && k < n)) {
    throw new RangeError(`Cannot make the repeat task: shown ${k} must be a whole number in 1..${n - 1}`);
  }
  const words = wordTokens(codec);
  if (words.length < n + 1) throw new RangeError(`Cannot make the repeat task: only ${words.length} word tokens`);
  const bos = options.bos === undefined ? endOfText(codec) : options.bos ?? undefined;
  const rand = seeded(options.seed ?? 0);
  const pairs: PromptPair[] = [];
  for (let i = 0; i < count; i++) {
    const seq = pickDistinct(words, n + 1, rand);
    const alt = seq.pop()!;
    const head = bos !== undefined ? [bos] : [];
    const clean = [...head, ...seq, ...seq.slice(0, k)];
    const counterfactual = [...clean];
    counterfactual[head.length + k] = alt;
    pairs.push({
      clean,
      counterfactual,
      answers: { clean: seq[k], counterfactual: alt },
      text: {
        clean: codec.decode(clean.slice(head.length)),
        counterfactual: codec.decode(counterfactual.slice(head.length)),
      },
    });
  }
  return { name: "repeat", description: "continue a word sequence the way it went before (induction)", pairs };
}

/** Two-word phrases: the first word strongly predicts the second. */
// deno-fmt-ignore
export const PHRASES: readonly [string, string][] = [
  ["United", "States"], ["Soviet", "Union"], ["health", "care"], ["Middle", "East"], ["Supreme", "Court"],
  ["Social", "Security"], ["World", "War"], ["New", "York"], ["interest", "rates"], ["civil", "rights"],
  ["armed", "forces"], ["nuclear", "weapons"], ["foreign", "policy"], ["human", "rights"], ["minimum", "wage"],
  ["law", "enforcement"], ["climate", "change"], ["national", "security"], ["balanced", "budget"],
  ["prime", "minister"], ["real", "estate"], ["high", "school"], ["young", "people"], ["public", "schools"],
  ["natural", "resources"], ["Federal", "Reserve"], ["Great", "Britain"], ["trade", "deficit"],
  ["federal", "government"], ["tax", "cuts"], ["economic", "growth"], ["American", "people"],
];

/**
 * Short frames the phrase follows (each ends before the first word): every token is work for each patched
 * run. Only the frames of the most common token length are used, so all prompts run as one batch.
 */
export const PHRASE_FRAMES: readonly string[] = ["And the", "For the", "Of the", "In the", "To the", "On the"];

/**
 * The phrase task: `frame + a` → `b` for a phrase `a b`; the counterfactual uses another phrase's first word.
 *
 * @param codec The model's tokenizer.
 * @param options Pairs, seed, leading token.
 * @returns The task; phrases whose words are not single tokens with a leading space are left out.
 * @throws {RangeError} When fewer than two phrases remain.
 * @example
 * ```ts ignore
 * const task = phraseTask(tokenizer, { pairs: 32 });
 * ```
 */
export function phraseTask(
  codec: TextCodec,
  options: { pairs?: number; seed?: number; bos?: number | null } = {},
): PatchTask {
  const usable = PHRASES.flatMap(([a, b]) => {
    const ia = singleToken(codec, " " + a), ib = singleToken(codec, " " + b);
    return ia !== undefined && ib !== undefined ? [{ a, b, ia, ib }] : [];
  });
  if (usable.length < 2) {
    throw new RangeError(`Cannot make the phrase task: ${usable.length} phrases are single tokens`);
  }
  const bos = options.bos === undefined ? endOfText(codec) : options.bos ?? undefined;
  const lengths = PHRASE_FRAMES.map((f) => codec.encode(f).length);
  const common = lengths.reduce((best, n) => (count(lengths, n) > count(lengths, best) ? n : best), lengths[0]);
  const frames = PHRASE_FRAMES.filter((_, i) => lengths[i] === common);
  const rand = seeded(options.seed ?? 0);
  const pairs: PromptPair[] = [];
  for (let i = 0; i < (options.pairs ?? 32); i++) {
    const [p, q] = pickDistinct(usable, 2, rand);
    if (p.ib === q.ib) continue;
    const frame = frames[Math.floor(rand() * frames.length)];
    const head = [...(bos !== undefined ? [bos] : []), ...codec.encode(frame)];
    pairs.push({
      clean: [...head, p.ia],
      counterfactual: [...head, q.ia],
      answers: { clean: p.ib, counterfactual: q.ib },
      text: { clean: `${frame} ${p.a}`, counterfactual: `${frame} ${q.a}` },
    });
  }
  return { name: "phrase", description: "complete a two-word phrase from its first word", pairs };
}

function count(values: number[], v: number): number {
  return values.filter((x) => x === v).length;
}
