/**
 * Tokenised documents: token ids per document and, when the tokenizer gives
 * them, character offsets that map every (document, position) back to a span
 * of the original text.
 *
 * @module
 */
import type { Document, DocumentMeta } from "./document.ts";

/** Token ids with optional `[start, end)` character offsets into the text. */
export interface Encoding {
  /** Token ids. */
  ids: ArrayLike<number>;
  /** One `[start, end)` pair per token (UTF-16 indices into the encoded text). */
  offsets?: ArrayLike<readonly [number, number]>;
}

/**
 * What tokenising needs from a tokenizer: `encode`, and `encodeWithOffsets` where text spans are wanted.
 * `@saelab/tokenizer`'s `Tokenizer` fits.
 */
export interface TokenEncoder {
  /** Token ids of a text. */
  encode(text: string): ArrayLike<number>;
  /** Token ids with character offsets. */
  encodeWithOffsets?(text: string): Encoding;
}

/** A tokenised document, without its text. */
export interface DocumentInfo {
  /** Stable document id (`source:key`). */
  readonly id: string;
  /** Source name. */
  readonly source: string;
  /** Key within the source. */
  readonly key: string;
  /** Number of token positions, counting a leading separator. */
  readonly tokens: number;
  /** Optional metadata. */
  readonly meta?: DocumentMeta;
}

/** A context around one token, as text. */
export interface TokenContext {
  /** Text of up to `before` tokens preceding the token. */
  before: string;
  /** The token's own text (empty for a separator). */
  token: string;
  /** Text of up to `after` tokens following the token. */
  after: string;
}

/** Options for {@linkcode tokenizeDocuments}. */
export interface TokenizeOptions {
  /** A token id (BOS/EOS) put at position 0 of every document. Default: none. */
  separator?: number;
  /** Keep character offsets for text spans. Default: true when the encoder has `encodeWithOffsets`. */
  offsets?: boolean;
  /** Called after each document with the counts so far. */
  onProgress?: (done: { documents: number; total: number; tokens: number }) => void;
}

/** Token ids and offsets of a list of documents. Document numbers are indices into `documents`. */
export class TokenizedDocuments {
  /** The documents, in order; a document's number is its index here. */
  readonly documents: readonly DocumentInfo[];
  /** The separator put at position 0 of each document, if any. */
  readonly separator: number | undefined;
  readonly #ids: Int32Array[];
  readonly #offsets: (Int32Array | null)[];
  readonly #texts: string[];
  readonly #index = new Map<string, number>();

  /** @internal Use {@linkcode tokenizeDocuments}. */
  constructor(
    docs: readonly Document[],
    ids: Int32Array[],
    offsets: (Int32Array | null)[],
    separator: number | undefined,
  ) {
    this.documents = docs.map((d, i) => {
      const info: DocumentInfo = { id: d.id, source: d.source, key: d.key, tokens: ids[i].length };
      return d.meta ? { ...info, meta: d.meta } : info;
    });
    this.documents.forEach((d, i) => this.#index.set(d.id, i));
    this.#ids = ids;
    this.#offsets = offsets;
    this.#texts = docs.map((d) => d.text);
    this.separator = separator;
  }

  /** Total token positions over all documents. */
  get tokenCount(): number {
    return this.#ids.reduce((n, a) => n + a.length, 0);
  }

  /**
   * The number of a document.
   *
   * @param id A document id.
   * @returns Its index in `documents`, or -1.
   */
  indexOf(id: string): number {
    return this.#index.get(id) ?? -1;
  }

  /**
   * The token ids of a document (a view; do not modify).
   *
   * @param doc Document number.
   * @returns `[tokens]` ids.
   */
  tokens(doc: number): Int32Array {
    return this.#ids[this.#check(doc, 0)];
  }

  /**
   * The text of a document.
   *
   * @param doc Document number.
   * @returns The full text.
   */
  text(doc: number): string {
    return this.#texts[this.#check(doc, 0)];
  }

  /**
   * The character span of one token.
   *
   * @param doc Document number.
   * @param pos Token position within the document.
   * @returns `[start, end)` UTF-16 indices into `text(doc)`; a separator's span is empty.
   */
  span(doc: number, pos: number): [number, number] {
    const offsets = this.#offsetsOf(doc, pos);
    return [offsets[2 * pos], offsets[2 * pos + 1]];
  }

  /**
   * The text of one token and its neighbours.
   *
   * @param doc Document number.
   * @param pos Token position.
   * @param options How many tokens of context to include on each side (defaults 8 and 4).
   * @returns The three pieces of text.
   */
  context(doc: number, pos: number, options: { before?: number; after?: number } = {}): TokenContext {
    const offsets = this.#offsetsOf(doc, pos);
    const text = this.#texts[doc];
    const n = offsets.length / 2;
    const lo = Math.max(0, pos - (options.before ?? 8));
    const hi = Math.min(n - 1, pos + (options.after ?? 4));
    const start = offsets[2 * pos];
    const end = Math.max(start, offsets[2 * pos + 1]);
    let from = start;
    for (let p = lo; p < pos; p++) if (offsets[2 * p + 1] > offsets[2 * p]) from = Math.min(from, offsets[2 * p]);
    let to = end;
    for (let p = pos + 1; p <= hi; p++) to = Math.max(to, offsets[2 * p + 1]);
    return { before: text.slice(from, start), token: text.slice(start, end), after: text.slice(end, to) };
  }

  #offsetsOf(doc: number, pos: number): Int32Array {
    this.#check(doc, pos);
    const offsets = this.#offsets[doc];
    if (!offsets) {
      throw new TypeError(
        `Cannot map document ${doc} back to text: it was tokenised without offsets (the encoder has no encodeWithOffsets)`,
      );
    }
    return offsets;
  }

  #check(doc: number, pos: number): number {
    if (!Number.isInteger(doc) || doc < 0 || doc >= this.#ids.length) {
      throw new RangeError(`Cannot look up document ${doc}: there are ${this.#ids.length} documents`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos >= Math.max(1, this.#ids[doc].length)) {
      throw new RangeError(
        `Cannot look up position ${pos} of document "${this.documents[doc].id}": it has ${
          this.#ids[doc].length
        } tokens`,
      );
    }
    return doc;
  }
}

/**
 * Tokenise documents, keeping ids compactly (`Int32Array`) and, if available, offsets.
 *
 * @param docs The documents.
 * @param encoder The tokenizer.
 * @param options Separator, offsets and progress.
 * @returns The tokenised documents.
 * @example
 * ```ts
 * import { tokenizeDocuments } from "@saelab/corpus";
 * const chars = { encode: (t: string) => [...t].map((c) => c.charCodeAt(0)) };
 * const tok = tokenizeDocuments([{ id: "m:a", source: "m", key: "a", text: "hi" }], chars, { separator: 0 });
 * if (tok.tokens(0).join() !== "0,104,105") throw new Error();
 * ```
 */
export function tokenizeDocuments(
  docs: readonly Document[],
  encoder: TokenEncoder,
  options: TokenizeOptions = {},
): TokenizedDocuments {
  const sep = options.separator;
  if (sep !== undefined && (!Number.isInteger(sep) || sep < 0)) {
    throw new TypeError(`Cannot tokenise documents: separator ${sep} is not a token id (an integer ≥ 0)`);
  }
  const withOffsets = options.offsets ?? typeof encoder.encodeWithOffsets === "function";
  if (withOffsets && typeof encoder.encodeWithOffsets !== "function") {
    throw new TypeError("Cannot tokenise documents with offsets: the encoder has no encodeWithOffsets method");
  }
  const extra = sep === undefined ? 0 : 1;
  const ids: Int32Array[] = [];
  const offsets: (Int32Array | null)[] = [];
  let tokens = 0;
  for (const doc of docs) {
    const enc: Encoding = withOffsets ? encoder.encodeWithOffsets!(doc.text) : { ids: encoder.encode(doc.text) };
    const n = enc.ids.length;
    const a = new Int32Array(n + extra);
    if (sep !== undefined) a[0] = sep;
    for (let i = 0; i < n; i++) a[i + extra] = enc.ids[i];
    ids.push(a);
    if (withOffsets) {
      if (!enc.offsets || enc.offsets.length !== n) {
        throw new TypeError(`Cannot tokenise "${doc.id}": the encoder returned ${n} ids but no matching offsets`);
      }
      const o = new Int32Array(2 * (n + extra));
      for (let i = 0; i < n; i++) {
        o[2 * (i + extra)] = enc.offsets[i][0];
        o[2 * (i + extra) + 1] = enc.offsets[i][1];
      }
      offsets.push(o);
    } else offsets.push(null);
    tokens += a.length;
    options.onProgress?.({ documents: ids.length, total: docs.length, tokens });
  }
  return new TokenizedDocuments(docs, ids, offsets, sep);
}
