/**
 * NFC normalisation that remembers where each normalised character came from.
 *
 * The text is cut before every code unit that can neither combine with what
 * precedes it nor be reordered across (code points below U+0300, kana,
 * CJK ideographs, Hangul syllables); each piece is normalised on its own. A piece
 * that NFC leaves unchanged maps one to one; a piece that changes is cut further
 * where NFC allows, and each part (a base letter with its combining marks, say)
 * maps every output unit to the whole part.
 * If the pieces do not reassemble to the NFC of the whole text, every output unit
 * maps to the whole text: the ids stay right and only the spans get coarse.
 *
 * @module
 */

/** A normalised string and, for each of its UTF-16 units, the span of the input it came from. */
export interface Aligned {
  /** The normalised text. */
  text: string;
  /** `starts[j]`: first input unit behind output unit `j`. */
  starts: Int32Array;
  /** `ends[j]`: one past the last input unit behind output unit `j`. */
  ends: Int32Array;
}

function isCutBefore(u: number): boolean {
  return u < 0x300 || (u >= 0x3041 && u <= 0x3096) || (u >= 0x30a1 && u <= 0x30fa) ||
    (u >= 0x4e00 && u <= 0x9fff) || (u >= 0xac00 && u <= 0xd7a3);
}

/** Pieces longer than this are not refined: their output maps to the whole piece. */
const REFINE_LIMIT = 64;

/**
 * Cuts a piece that NFC changes into the smallest parts that normalise on their
 * own: a cut before code point `k` is kept when NFC of the two sides, joined,
 * equals NFC of both together.
 *
 * @returns `[start, end, normalised length]` per part.
 */
function refine(piece: string): Array<[number, number, number]> {
  if (piece.length > REFINE_LIMIT) return [[0, piece.length, piece.normalize("NFC").length]];
  const parts: Array<[number, number, number]> = [];
  let from = 0;
  for (let k = from + 1; k <= piece.length; k++) {
    if (k < piece.length && (piece.charCodeAt(k) & 0xfc00) === 0xdc00) continue; // inside a surrogate pair
    const left = piece.slice(from, k).normalize("NFC");
    if (k === piece.length || left + piece.slice(k).normalize("NFC") === piece.slice(from).normalize("NFC")) {
      parts.push([from, k, left.length]);
      from = k;
    }
  }
  return parts;
}

/**
 * NFC of `text` with its alignment to the input.
 *
 * @param text A well-formed string.
 * @returns The normalised text with per-unit input spans.
 */
export function nfcAligned(text: string): Aligned {
  const whole = text.normalize("NFC");
  const starts = new Int32Array(whole.length);
  const ends = new Int32Array(whole.length);
  let out = 0;
  let ok = true;
  let from = 0;
  const flush = (to: number): void => {
    if (to === from + 1 && text.charCodeAt(from) < 0x300 && whole.charCodeAt(out) === text.charCodeAt(from)) {
      starts[out] = from;
      ends[out++] = to;
      return;
    }
    const piece = text.slice(from, to);
    const norm = piece.normalize("NFC");
    if (out + norm.length > whole.length || whole.slice(out, out + norm.length) !== norm) {
      ok = false;
      return;
    }
    if (norm === piece) {
      for (let k = 0; k < norm.length; k++) starts[out + k] = from + k, ends[out + k] = from + k + 1;
      out += norm.length;
      return;
    }
    for (const [a, b, n] of refine(piece)) {
      starts.fill(from + a, out, out + n);
      ends.fill(from + b, out, out + n);
      out += n;
    }
  };
  for (let i = 1; i <= text.length && ok; i++) {
    if (i === text.length || isCutBefore(text.charCodeAt(i))) {
      flush(i);
      from = i;
    }
  }
  if (!ok || out !== whole.length) {
    starts.fill(0);
    ends.fill(text.length);
  }
  return { text: whole, starts, ends };
}
