/**
 * Token windows: fixed-length slices of tokenised documents with stable ids.
 * Each window owns a suffix of its positions (`first … T-1`), so that over all
 * windows every covered (document, position) is owned exactly once, and by the
 * window that gives it the most context.
 *
 * @module
 */
import type { DocumentInfo, TokenizedDocuments } from "./tokenized.ts";
import { seededRandom, shuffleInPlace } from "@saelab/core";
import { splitOf, type SplitOptions } from "./split.ts";

/** Options for {@linkcode makeWindows}. */
export interface WindowOptions {
  /** Context length `T` (tokens per window). */
  contextLength: number;
  /** Distance between window starts, `1 … T` for overlapping or adjacent windows. Default: `T`. */
  stride?: number;
  /**
   * What to do with a document's last tokens that fill no whole window: `"shift"` adds one window ending
   * at the document's end, owning only the uncovered tokens; `"drop"` leaves them out. Default: `"shift"`.
   */
  tail?: "shift" | "drop";
}

/** One window. */
export interface Window {
  /** Position of the window in this list. */
  index: number;
  /** Stable id: `<document id>@<start>`. */
  id: string;
  /** Document number (index into `documents`). */
  doc: number;
  /** Position of the window's first token in the document. */
  start: number;
  /** First position within the window that the window owns (`0 … T-1`). */
  first: number;
  /** The `T` token ids (a view; do not modify). */
  ids: Int32Array;
}

/** A list of windows over tokenised documents. Document number + position identify a token. */
export class TokenWindows {
  /** The tokenised documents the windows point into. */
  readonly corpus: TokenizedDocuments;
  /** Tokens per window. */
  readonly contextLength: number;
  /** Document numbers `[count]`. */
  readonly doc: Int32Array;
  /** Window starts within documents `[count]`. */
  readonly start: Int32Array;
  /** First owned position within each window `[count]`. */
  readonly first: Int32Array;

  /** @internal Use {@linkcode makeWindows}. */
  constructor(
    corpus: TokenizedDocuments,
    contextLength: number,
    doc: Int32Array,
    start: Int32Array,
    first: Int32Array,
  ) {
    this.corpus = corpus;
    this.contextLength = contextLength;
    this.doc = doc;
    this.start = start;
    this.first = first;
  }

  /** The documents (numbers index into this). */
  get documents(): readonly DocumentInfo[] {
    return this.corpus.documents;
  }

  /** Number of windows. */
  get count(): number {
    return this.doc.length;
  }

  /** Number of owned positions over all windows (each covered token once). */
  get ownedTokens(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += this.contextLength - this.first[i];
    return n;
  }

  /**
   * One window.
   *
   * @param i Window index.
   * @returns The window with its ids.
   */
  get(i: number): Window {
    this.#check(i);
    const doc = this.doc[i];
    const start = this.start[i];
    return {
      index: i,
      id: `${this.corpus.documents[doc].id}@${start}`,
      doc,
      start,
      first: this.first[i],
      ids: this.corpus.tokens(doc).subarray(start, start + this.contextLength),
    };
  }

  /**
   * The token ids of consecutive windows, ready to upload.
   *
   * @param from First window index.
   * @param count Number of windows (clamped to the end).
   * @returns `[count, T]` ids, row-major.
   */
  batch(from: number, count: number): Int32Array {
    this.#check(from);
    const n = Math.min(count, this.count - from);
    const T = this.contextLength;
    const out = new Int32Array(n * T); // [n, T]
    for (let b = 0; b < n; b++) {
      const s = this.start[from + b];
      out.set(this.corpus.tokens(this.doc[from + b]).subarray(s, s + T), b * T);
    }
    return out;
  }

  /**
   * The same windows in a seeded random order.
   *
   * @param seed Seed of the permutation.
   * @returns A new list sharing the token data.
   */
  shuffle(seed: number): TokenWindows {
    const order = shuffleInPlace(Uint32Array.from({ length: this.count }, (_, i) => i), seededRandom(seed));
    return this.#pick(order);
  }

  /**
   * The windows whose document passes a test, in order.
   *
   * @param keep Called with a document and its number.
   * @returns A new list sharing the token data.
   */
  filter(keep: (doc: DocumentInfo, index: number) => boolean): TokenWindows {
    const verdicts = this.corpus.documents.map((d, i) => keep(d, i));
    const picked: number[] = [];
    for (let i = 0; i < this.count; i++) if (verdicts[this.doc[i]]) picked.push(i);
    return this.#pick(picked);
  }

  /**
   * Split by document with {@linkcode splitOf}: no document has windows on both sides.
   *
   * @param options Fraction and seed.
   * @returns Train and held-out windows.
   */
  split(options: SplitOptions = {}): { train: TokenWindows; heldOut: TokenWindows } {
    return {
      train: this.filter((d) => splitOf(d.id, options) === "train"),
      heldOut: this.filter((d) => splitOf(d.id, options) === "heldout"),
    };
  }

  /**
   * The first `n` windows.
   *
   * @param n How many.
   * @returns A new list sharing the token data.
   */
  take(n: number): TokenWindows {
    const k = Math.max(0, Math.min(n, this.count));
    return new TokenWindows(
      this.corpus,
      this.contextLength,
      this.doc.slice(0, k),
      this.start.slice(0, k),
      this.first.slice(0, k),
    );
  }

  #pick(order: ArrayLike<number>): TokenWindows {
    const doc = new Int32Array(order.length);
    const start = new Int32Array(order.length);
    const first = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) {
      doc[i] = this.doc[order[i]];
      start[i] = this.start[order[i]];
      first[i] = this.first[order[i]];
    }
    return new TokenWindows(this.corpus, this.contextLength, doc, start, first);
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`Cannot read window ${i}: there are ${this.count} windows`);
    }
  }
}

/**
 * Cut tokenised documents into windows of `T` tokens. Documents shorter than `T` give no window.
 *
 * @param corpus The tokenised documents.
 * @param options Context length, stride and tail handling.
 * @returns The windows, in document order.
 * @example
 * ```ts
 * import { makeWindows, tokenizeDocuments } from "@saelab/corpus";
 * const chars = { encode: (t: string) => [...t].map((c) => c.charCodeAt(0)) };
 * const tok = tokenizeDocuments([{ id: "m:a", source: "m", key: "a", text: "abcdefghij" }], chars);
 * const w = makeWindows(tok, { contextLength: 4 }); // starts 0, 4 and a shifted tail at 6
 * if (w.count !== 3 || w.get(2).first !== 2) throw new Error();
 * ```
 */
export function makeWindows(corpus: TokenizedDocuments, options: WindowOptions): TokenWindows {
  const T = options.contextLength;
  if (!Number.isInteger(T) || T < 1) {
    throw new RangeError(`Cannot make windows: contextLength ${T} is not a whole number ≥ 1`);
  }
  const stride = options.stride ?? T;
  if (!Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`Cannot make windows: stride ${stride} is not a whole number ≥ 1`);
  }
  const tail = options.tail ?? "shift";
  if (tail !== "shift" && tail !== "drop") {
    throw new TypeError(`Cannot make windows: tail must be "shift" or "drop", not ${JSON.stringify(tail)}`);
  }
  const doc: number[] = [];
  const start: number[] = [];
  const first: number[] = [];
  corpus.documents.forEach((d, di) => {
    const n = d.tokens;
    let covered = 0; // positions [0, covered) are owned by earlier windows
    for (let s = 0; s + T <= n; s += stride) {
      doc.push(di);
      start.push(s);
      first.push(Math.max(0, covered - s));
      covered = s + T;
    }
    if (tail === "shift" && n >= T && covered < n) {
      doc.push(di);
      start.push(n - T);
      first.push(Math.max(0, covered - (n - T)));
    }
  });
  return new TokenWindows(corpus, T, Int32Array.from(doc), Int32Array.from(start), Int32Array.from(first));
}
