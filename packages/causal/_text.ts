/**
 * Tokenizer helpers shared by the text tasks.
 *
 * @module
 */

/** What the tasks need from a tokenizer (`@saelab/tokenizer`'s `Tokenizer` has it). */
export interface TextCodec {
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Text → token ids. */
  encode(text: string): number[];
  /** Token ids → text. */
  decode(ids: ArrayLike<number>): string;
  /** Id of a token string (added tokens such as `<|endoftext|>` included). */
  tokenToId?(token: string): number | undefined;
}

/** The id of `text` when it encodes to exactly one token, else undefined. */
export function singleToken(codec: TextCodec, text: string): number | undefined {
  const ids = codec.encode(text);
  return ids.length === 1 ? ids[0] : undefined;
}

/** The end-of-text token id put first in every prompt, when the tokenizer has one. */
export function endOfText(codec: TextCodec): number | undefined {
  return codec.tokenToId?.("<|endoftext|>");
}

/** Distinct picks from a list. */
export function pickDistinct<T>(items: readonly T[], n: number, rand: () => number): T[] {
  if (items.length < n) throw new RangeError(`Cannot pick ${n} distinct items from ${items.length}`);
  const out: T[] = [];
  while (out.length < n) {
    const x = items[Math.floor(rand() * items.length)];
    if (!out.includes(x)) out.push(x);
  }
  return out;
}
