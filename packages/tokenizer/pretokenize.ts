/**
 * {@linkcode preTokenize}: the ByteLevel pre-tokenizer's split (GPT-2's pattern) on its own.
 *
 * @module
 */
import { preTokenEnd } from "./_split.ts";

/**
 * Splits text the way the ByteLevel pre-tokenizer does (GPT-2's pattern), before
 * any byte-level mapping.
 *
 * @param text The text (lone surrogates are read as U+FFFD).
 * @param options `addPrefixSpace` prepends a space when the text does not start with one; `useRegex: false`
 *   keeps the text whole.
 * @returns The pre-tokens; joined they give the text (with the prefix space, if added).
 * @example
 * ```ts
 * import { preTokenize } from "./pretokenize.ts";
 * console.log(preTokenize("Hello world's  end!")); // ["Hello", " world", "'s", " ", " end", "!"]
 * ```
 */
export function preTokenize(text: string, options: { addPrefixSpace?: boolean; useRegex?: boolean } = {}): string[] {
  let s = text.isWellFormed() ? text : text.toWellFormed();
  if (options.addPrefixSpace && s.length > 0 && s.charCodeAt(0) !== 0x20) s = " " + s;
  if (options.useRegex === false) return s.length > 0 ? [s] : [];
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    const j = preTokenEnd(s, i);
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}
