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
   * @param ids Receives the ids.
   * @param spans Receives `start, end` per id (flat), or null to skip spans.
   */
  encode(text: string, ids: number[], spans: number[] | null): void {
    if (this.#raw.empty) {
      if (text.length > 0) this.#segment(text, 0, text.length, ids, spans);
      return;
    }
    let pos = 0;
    this.#raw.find(text, [0, text.length], (start, stop, token) => {
      if (pos < start) this.#segment(text, pos, start, ids, spans);
      ids.push(token.id);
      spans?.push(start, stop);
      pos = stop;
    });
    if (pos < text.length) this.#segment(text, pos, text.length, ids, spans);
  }

  /** One segment between raw added tokens: normalise, then cut out normalised added tokens. */
  #segment(text: string, from: number, to: number, ids: number[], spans: number[] | null): void {
    let piece = text.slice(from, to);
    let align: Aligned | null = null;
    if (this.#nfc) {
      const normalized = piece.normalize("NFC");
      if (normalized !== piece) {
        if (spans) align = nfcAligned(piece);
        piece = normalized;
      }
    }
    const at = new Origin(from, align);
    if (this.#normalized.empty) {
      this.#words(piece, 0, piece.length, at, ids, spans);
      return;
    }
    let pos = 0;
    this.#normalized.find(piece, [0, piece.length], (start, stop, token) => {
      if (pos < start) this.#words(piece, pos, start, at, ids, spans);
      ids.push(token.id);
      spans?.push(at.start(start), at.end(stop));
      pos = stop;
    });
    if (pos < piece.length) this.#words(piece, pos, piece.length, at, ids, spans);
  }

  /** Pre-tokenizes `piece[from, to)` and encodes each pre-token. */
  #words(piece: string, from: number, to: number, at: Origin, ids: number[], spans: number[] | null): void {
    let src = piece, begin = from, end = to, shift = 0;
    if (this.#addPrefixSpace && piece.charCodeAt(from) !== 0x20) {
      src = " " + piece.slice(from, to);
      begin = 0;
      end = src.length;
      shift = from - 1; // src index k stands for piece index k + shift; the added space for `from`
    }
    const bpe = this.bpe;
    for (let i = begin; i < end;) {
      const j = this.#useRegex ? preTokenEnd(src, i, end) : end;
      const code = bpe.encodeWord(src.slice(i, j));
      if (spans) {
        wordSpans(src, i, code, (s, e) => {
          const ps = Math.max(s + shift, from), pe = Math.max(e + shift, from);
          const start = at.start(ps);
          spans.push(start, pe > ps ? at.end(pe) : start);
        });
      }
      const n = code.length >> 1;
      for (let k = 0; k < n; k++) ids.push(code[k]);
      i = j;
    }
  }
}

/** Maps indices of a normalised segment back to the input. */
class Origin {
  #base: number;
  #align: Aligned | null;
  constructor(base: number, align: Aligned | null) {
    this.#base = base;
    this.#align = align;
  }
  /** Input index where normalised index `k` starts. */
  start(k: number): number {
    const a = this.#align;
    return this.#base + (a === null ? k : k < a.starts.length ? a.starts[k] : a.ends[a.ends.length - 1]);
  }
  /** Input index where the normalised span ending at `k` (exclusive, `k > 0`) ends. */
  end(k: number): number {
    const a = this.#align;
    return this.#base + (a === null ? k : a.ends[k - 1]);
  }
}

/**
 * Calls `emit(start, end)` for each token of a pre-token with the UTF-16 span of
 * `src` it covers. A token that holds only some bytes of a character covers the
 * whole character, so the tokens that split one character share its span.
 */
function wordSpans(src: string, at: number, code: WordCode, emit: (s: number, e: number) => void): void {
  const n = code.length >> 1;
  let c = at; // the character holding the next byte
  let left = 0; // bytes of that character not yet consumed (0: none started)
  let width = 0;
  for (let k = 0; k < n; k++) {
    let need = code[n + k];
    const start = c;
    while (need > 0) {
      if (left === 0) {
        const u = src.charCodeAt(c);
        width = u >= 0xd800 && u <= 0xdbff ? 2 : 1;
        left = width === 2 ? 4 : u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
      }
      const take = Math.min(left, need);
      left -= take;
      need -= take;
      if (left === 0) c += width;
    }
    emit(start, left === 0 ? c : c + width);
  }
}
