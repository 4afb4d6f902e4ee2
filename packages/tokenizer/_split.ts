/**
 * The scanner behind the ByteLevel pre-tokenizer's split: GPT-2's pattern
 *
 * ```
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * ```
 *
 * as a hand-written scanner (no regex engine in the loop). `\s` means the
 * Unicode White_Space property, as in the Oniguruma engine that Hugging Face's
 * tokenizers use (it includes U+0085 and excludes U+FEFF, unlike JavaScript's `\s`).
 *
 * @module
 */

const LETTER = 1, NUMBER = 2, SPACE = 3, OTHER = 4;

const IS_LETTER = /^\p{L}$/u;
const IS_NUMBER = /^\p{N}$/u;

function isWhiteSpace(cp: number): boolean {
  return (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0 || cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f ||
    cp === 0x3000;
}

function classify(cp: number): number {
  if (isWhiteSpace(cp)) return SPACE;
  const s = String.fromCodePoint(cp);
  if (IS_LETTER.test(s)) return LETTER;
  if (IS_NUMBER.test(s)) return NUMBER;
  return OTHER;
}

/** Classes of BMP code points, filled on first use (0 = not yet known). */
const BMP_CLASS = new Uint8Array(0x10000);
const ASTRAL_CLASS = new Map<number, number>();

function classOf(cp: number): number {
  if (cp < 0x10000) {
    let c = BMP_CLASS[cp];
    if (c === 0) BMP_CLASS[cp] = c = classify(cp);
    return c;
  }
  let c = ASTRAL_CLASS.get(cp);
  if (c === undefined) ASTRAL_CLASS.set(cp, c = classify(cp));
  return c;
}

/** Class of the code point at `i` (its width is 2 when `text[i]` is a high surrogate). */
function classAt(text: string, i: number): number {
  const u = text.charCodeAt(i);
  return u >= 0xd800 && u <= 0xdbff ? classOf(text.codePointAt(i)!) : classOf(u);
}

/** End of the run of code points that share the class of the one at `i`. */
function runEnd(text: string, i: number): number {
  const cls = classAt(text, i), end = text.length;
  while (i < end) {
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (classOf(text.codePointAt(i)!) !== cls) return i;
      i += 2;
    } else {
      if (classOf(u) !== cls) return i;
      i++;
    }
  }
  return end;
}

/**
 * End of the pre-token that starts at `start` (the pattern's leftmost match there).
 *
 * @param text A well-formed string; matches end at its end at the latest.
 * @param start Where the pre-token starts (`start < text.length`).
 * @returns The index just after the pre-token.
 */
export function preTokenEnd(text: string, start: number): number {
  const end = text.length;
  const u = text.charCodeAt(start);
  if (u === 0x27 && start + 1 < end) { // contractions: 's 't 'm 'd 're 've 'll
    const v = text.charCodeAt(start + 1);
    if (v === 0x73 || v === 0x74 || v === 0x6d || v === 0x64) return start + 2;
    if (start + 2 < end) {
      const w = text.charCodeAt(start + 2);
      if ((w === 0x65 && (v === 0x72 || v === 0x76)) || (v === 0x6c && w === 0x6c)) return start + 3;
    }
  }
  // An optional leading space goes with letters, numbers or other symbols that follow it.
  if (u === 0x20 && start + 1 < end && classAt(text, start + 1) !== SPACE) return runEnd(text, start + 1);
  if (classAt(text, start) !== SPACE) return runEnd(text, start);
  const stop = runEnd(text, start);
  // `\s+(?!\S)` leaves the last space to the word that follows; a lone space falls through to `\s+`.
  if (stop < end && stop - start >= 2) return stop - 1;
  return stop;
}
