/**
 * The byte-level alphabet of GPT-2 style BPE: every byte 0–255 is shown as one
 * printable character, so that a token can be written as a plain string.
 * Printable Latin-1 bytes stand for themselves; the others (controls, space,
 * soft hyphen, …) are moved to U+0100 and up, in byte order.
 *
 * @module
 */

function buildByteToChar(): string[] {
  const chars = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return chars;
}

/**
 * The character that stands for each byte: `BYTE_TO_CHAR[0x20] === "Ġ"`.
 *
 * @example
 * ```ts
 * import { BYTE_TO_CHAR, tokenBytes, toByteLevel } from "./bytes.ts";
 * console.log(BYTE_TO_CHAR.length, toByteLevel("a"), tokenBytes("a")); // 256 "a" Uint8Array [97]
 * ```
 */
export const BYTE_TO_CHAR: readonly string[] = Object.freeze(buildByteToChar());

/** Highest character code used by the alphabet (U+0143). */
const MAX_ALPHABET_CODE = 0x143;

/** `CHAR_TO_BYTE[code]` is the byte that character `code` stands for, or -1. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(MAX_ALPHABET_CODE + 1).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => table[c.charCodeAt(0)] = b);
  return table;
})();

/**
 * The bytes a byte-level token string stands for, or `null` when one of its
 * characters is outside the byte alphabet (an added token such as `"  "`).
 *
 * @param token A token as written in `tokenizer.json` (`"Ġworld"`).
 * @returns Its bytes, or `null`.
 * @example
 * ```ts
 * import { BYTE_TO_CHAR, tokenBytes, toByteLevel } from "./bytes.ts";
 * console.log(tokenBytes("Ġhi")); // Uint8Array [32, 104, 105]
 * console.log(tokenBytes(toByteLevel("\n")), BYTE_TO_CHAR[10]); // Uint8Array [10] "Ċ"
 * ```
 */
export function tokenBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const b = code <= MAX_ALPHABET_CODE ? CHAR_TO_BYTE[code] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/**
 * The byte-level form of a string: its UTF-8 bytes, each shown as its alphabet character.
 *
 * @param text Any string (lone surrogates become U+FFFD, as `TextEncoder` does).
 * @returns The byte-level string (`" world"` → `"Ġworld"`).
 * @example
 * ```ts
 * import { BYTE_TO_CHAR, tokenBytes, toByteLevel } from "./bytes.ts";
 * console.log(toByteLevel(" héllo")); // "ĠhÃ©llo"
 * console.log(BYTE_TO_CHAR[0x20], tokenBytes("Ġ")); // "Ġ" Uint8Array [32]
 * ```
 */
export function toByteLevel(text: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
