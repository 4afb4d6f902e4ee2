/**
 * Tokens as text for people: the bytes of a byte-level BPE token decoded as UTF-8 where they
 * form complete characters and written as `\xHH` where they do not (a token may hold half of a
 * multi-byte character), with control characters made visible.
 *
 * @module
 */

/** What {@linkcode tokenText} does with control characters. */
export interface TokenTextOptions {
  /**
   * `"escape"` (default): newline → `↵`, tab → `⇥`, carriage return → `\r`, other C0/C1 controls and
   * DEL → `\xHH`; `"keep"`: leave them as they are (for text that is read back by a program).
   */
  controls?: "escape" | "keep";
}

const hex = (b: number) => `\\x${b.toString(16).toUpperCase().padStart(2, "0")}`;

/** Length of the complete UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let n: number, min: number;
  if (b >= 0xc2 && b <= 0xdf) n = 2, min = 0x80;
  else if (b >= 0xe0 && b <= 0xef) n = 3, min = 0x800;
  else if (b >= 0xf0 && b <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  if (i + n > bytes.length) return 0;
  let cp = b & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

function escapeControls(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x0a) out += "↵";
    else if (c === 0x09) out += "⇥";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += hex(c);
    else out += ch;
  }
  return out;
}

/**
 * The display text of a token: given its bytes, every complete UTF-8 character is decoded and
 * every byte that is not part of one becomes `\xHH` (so `E2 80` of a split `—` reads `\xE2\x80`
 * instead of `�`); given a string (a token decoded earlier), only control characters are escaped.
 *
 * @param token The token's bytes (`Tokenizer.tokenBytes`) or its decoded text.
 * @param options Whether control characters are escaped (default) or kept.
 * @returns Text that shows every byte of the token.
 * @example
 * ```ts
 * import { tokenText } from "@saelab/tokenizer";
 * tokenText(new Uint8Array([0x20, 0xe2, 0x80])); // " \\xE2\\x80"
 * tokenText(new Uint8Array([0xe2, 0x80, 0x94])); // "—"
 * tokenText("a\nb\u0012"); // "a↵b\\x12"
 * ```
 */
export function tokenText(token: Uint8Array | string, options: TokenTextOptions = {}): string {
  let text = "";
  if (typeof token === "string") text = token;
  else {
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    for (let i = 0; i < token.length;) {
      const n = sequenceAt(token, i);
      if (n === 0) text += hex(token[i++]);
      else text += utf8.decode(token.subarray(i, i + n)), i += n;
    }
  }
  return options.controls === "keep" ? text : escapeControls(text);
}
