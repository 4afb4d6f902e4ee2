/**
 * The encoding pipeline, in Hugging Face's order: raw added tokens are cut out
 * of the input; each remaining segment is NFC-normalised; normalised added
 * tokens are cut out of that; the rest is pre-tokenized (GPT-2 split) and each
 * pre-token goes through byte-level BPE. Spans, when asked for, are UTF-16
 * ranges of the input.
 *
 * @module
 */
import { AddedTokenMatcher } from "./_added.ts";
import { Bpe, type WordCode } from "./_bpe.ts";
import { type Aligned, nfcAligned } from "./_normalize.ts";
import type { Spec } from "./config.ts";
import { preTokenEnd } from "./_split.ts";

/** Default number of pre-tokens the BPE cache holds before it is emptied. */
const CACHE_CAPACITY = 200_000;

/** Runs the pipeline for one checked `tokenizer.json`. */
export class Encoder {
  readonly bpe: Bpe;
  #nfc: boolean;
  #addPrefixSpace: boolean;
  #useRegex: boolean;
  #raw: AddedTokenMatcher;
  #normalized: AddedTokenMatcher;
  #ids: number[] = [];
  #spans: number[] | null = null;

  /** @param spec The checked settings. */
  constructor(spec: Spec) {
    this.#nfc = spec.nfc;
    this.#addPrefixSpace = spec.addPrefixSpace;
    this.#useRegex = spec.useRegex;
    this.bpe = new Bpe(spec.vocab, spec.merges, {
      unkId: spec.unkToken === null ? -1 : spec.vocab.get(spec.unkToken)!,
      fuseUnk: spec.fuseUnk,
      ignoreMerges: spec.ignoreMerges,
      cacheCapacity: CACHE_CAPACITY,
    });
    const norm = (s: string) => spec.nfc ? s.normalize("NFC") : s;
    this.#raw = new AddedTokenMatcher(spec.addedTokens.filter((t) => !t.normalized), (t) => t.content);
    this.#normalized = new AddedTokenMatcher(spec.addedTokens.filter((t) => t.normalized), (t) => norm(t.content));
  }

  /**
   * Encodes well-formed text.
   *
   * @param text The input (no lone surrogates).
   * @param spans Receives `start, end` per id (flat), or null to skip spans.
   * @returns The ids.
   */
  encode(text: string, spans: number[] | null): number[] {
    this.#ids = [];
    this.#spans = spans;
    if (this.#raw.empty) {
      if (text.length > 0) this.#segment(text, 0);
    } else {
      let pos = 0;
      this.#raw.find(text, (start, stop, token) => {
        if (pos < start) this.#segment(text.slice(pos, start), pos);
        this.#ids.push(token.id);
        spans?.push(start, stop);
        pos = stop;
      });
      if (pos < text.length) this.#segment(text.slice(pos), pos);
    }
    const ids = this.#ids;
    this.#ids = [];
    this.#spans = null;
    return ids;
  }

  /** One segment between raw added tokens (at `base` in the input): normalise, then cut out normalised added tokens. */
  #segment(segment: string, base: number): void {
    let piece = segment;
    let align: Aligned | null = null;
    if (this.#nfc) {
      const normalized = segment.normalize("NFC");
      if (normalized !== segment) {
        if (this.#spans) align = nfcAligned(segment);
        piece = normalized;
      }
    }
    if (this.#normalized.empty) {
      this.#words(piece, new Origin(base, align, 0));
      return;
    }
    let pos = 0;
    this.#normalized.find(piece, (start, stop, token) => {
      if (pos < start) this.#words(piece.slice(pos, start), new Origin(base, align, pos));
      this.#ids.push(token.id);
      if (this.#spans) {
        const at = new Origin(base, align, 0);
        this.#spans.push(at.start(start), at.end(stop));
      }
      pos = stop;
    });
    if (pos < piece.length) this.#words(piece.slice(pos), new Origin(base, align, pos));
  }

  /** Pre-tokenizes normalised text (`at` maps its indices to the input) and encodes each pre-token. */
  #words(text: string, at: Origin): void {
    const prefixed = this.#addPrefixSpace && text.charCodeAt(0) !== 0x20;
    // With a prefix space, index k of `src` stands for index k - 1 of `text`; the space itself for 0.
    const src = prefixed ? " " + text : text;
    const shift = prefixed ? 1 : 0;
    const ids = this.#ids, spans = this.#spans, bpe = this.bpe;
    for (let i = 0; i < src.length;) {
      const j = this.#useRegex ? preTokenEnd(src, i) : src.length;
      const word = src.slice(i, j);
      const code = bpe.encodeWord(word);
      const n = code.length >> 1;
      for (let k = 0; k < n; k++) ids.push(code[k]);
      if (spans) {
        const local = wordSpans(word, code);
        for (let k = 0; k < n; k++) {
          const s = Math.max(i + local[2 * k] - shift, 0), e = Math.max(i + local[2 * k + 1] - shift, 0);
          const start = at.start(s);
          spans.push(start, e > s ? at.end(e) : start);
        }
      }
      i = j;
    }
  }
}

/** Maps indices of a part of a normalised segment back to the input. */
class Origin {
  #base: number;
  #align: Aligned | null;
  #offset: number;
  /**
   * @param base Input index where the segment starts.
   * @param align The segment's NFC alignment, or null when NFC left it unchanged.
   * @param offset Where the part starts in the normalised segment.
   */
  constructor(base: number, align: Aligned | null, offset: number) {
    this.#base = base;
    this.#align = align;
    this.#offset = offset;
  }
  /** Input index where the part's index `k` starts. */
  start(k: number): number {
    const a = this.#align, j = k + this.#offset;
    return this.#base + (a === null ? j : j < a.starts.length ? a.starts[j] : a.ends[a.ends.length - 1]);
  }
  /** Input index where a span of the part ending at `k` (exclusive, `k > 0`) ends. */
  end(k: number): number {
    const a = this.#align, j = k + this.#offset;
    return this.#base + (a === null ? j : a.ends[j - 1]);
  }
}

/**
 * The UTF-16 span of `word` that each of its tokens covers, as flat `start, end` pairs. A token
 * that holds only some of the bytes of a character covers the whole character, so the tokens
 * that split one character share its span.
 */
function wordSpans(word: string, code: WordCode): Int32Array {
  const n = code.length >> 1;
  const out = new Int32Array(2 * n);
  let c = 0; // the character holding the next byte
  let left = 0; // bytes of that character not yet consumed (0: none started)
  let width = 0;
  for (let k = 0; k < n; k++) {
    let need = code[n + k];
    out[2 * k] = c;
    while (need > 0) {
      if (left === 0) {
        const u = word.charCodeAt(c);
        width = u >= 0xd800 && u <= 0xdbff ? 2 : 1;
        left = width === 2 ? 4 : u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
      }
      const take = Math.min(left, need);
      left -= take;
      need -= take;
      if (left === 0) c += width;
    }
    out[2 * k + 1] = left === 0 ? c : c + width;
  }
  return out;
}
