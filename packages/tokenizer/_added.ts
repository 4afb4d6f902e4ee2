/**
 * Added tokens (special tokens and extra vocabulary) found in text before BPE,
 * as Hugging Face's `AddedVocabulary` does: leftmost-longest, non-overlapping
 * matches; `single_word` drops a match touching a word character on either side;
 * `lstrip`/`rstrip` widen a match over the whitespace beside it.
 *
 * @module
 */

/** An added token as `tokenizer.json` writes it. */
export interface AddedToken {
  /** Its id. */
  id: number;
  /** The text it stands for. */
  content: string;
  /** Match only as a whole word. */
  single_word: boolean;
  /** Swallow whitespace on its left. */
  lstrip: boolean;
  /** Swallow whitespace on its right. */
  rstrip: boolean;
  /** Match against normalised text (true) or the raw input (false). */
  normalized: boolean;
  /** A special token (skipped by `decode(ids, { skipSpecialTokens: true })`). */
  special: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | null;
}

const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE_CHAR = /\p{White_Space}/u;

function isWordBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  const u = text.charCodeAt(i - 1);
  const cp = u >= 0xdc00 && u <= 0xdfff && i >= 2 ? text.codePointAt(i - 2)! : u;
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

function isWordAfter(text: string, i: number): boolean {
  return i < text.length && WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i)!));
}

/** Finds one set of added tokens (the raw or the normalised ones) in text. */
export class AddedTokenMatcher {
  #root: TrieNode = { next: new Map(), token: null };
  /** `firstUnit[u] === 1` when some token starts with UTF-16 unit `u`. */
  #firstUnit = new Uint8Array(0x10000);
  readonly empty: boolean;

  /**
   * @param tokens The tokens to find.
   * @param patternOf The text to search for each token (its normalised content, for normalised tokens).
   */
  constructor(tokens: readonly AddedToken[], patternOf: (t: AddedToken) => string) {
    let count = 0;
    for (const token of tokens) {
      const pattern = patternOf(token);
      if (pattern.length === 0) continue;
      let node = this.#root;
      for (let i = 0; i < pattern.length; i++) {
        const u = pattern.charCodeAt(i);
        let child = node.next.get(u);
        if (!child) node.next.set(u, child = { next: new Map(), token: null });
        node = child;
      }
      if (!node.token) node.token = token;
      this.#firstUnit[pattern.charCodeAt(0)] = 1;
      count++;
    }
    this.empty = count === 0;
  }

  /**
   * Calls `onMatch(start, stop, token)` for each match in `text`, left to right.
   *
   * @param text The text.
   * @param onMatch Receives each match's span (widened by `lstrip`/`rstrip`) and token.
   */
  find(text: string, onMatch: (start: number, stop: number, token: AddedToken) => void): void {
    const end = text.length;
    const first = this.#firstUnit;
    let done = 0; // end of the previous match
    let i = 0;
    while (i < end) {
      if (first[text.charCodeAt(i)] === 0) {
        i++;
        continue;
      }
      let node: TrieNode | undefined = this.#root;
      let best: AddedToken | null = null;
      let bestEnd = i;
      for (let j = i; j < end; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (!node) break;
        if (node.token) {
          best = node.token;
          bestEnd = j + 1;
        }
      }
      if (!best) {
        i++;
        continue;
      }
      let start = i;
      let stop = bestEnd;
      i = bestEnd;
      if (best.single_word && (isWordBefore(text, start) || isWordAfter(text, stop))) continue;
      if (best.lstrip) {
        while (start > done && SPACE_CHAR.test(text[start - 1])) start--;
      }
      if (best.rstrip) {
        while (stop < end && SPACE_CHAR.test(text[stop])) stop++;
        i = stop;
      }
      onMatch(start, stop, best);
      done = stop;
    }
  }
}
