/**
 * Documents and text sources. A document has a stable id `source:key`, so
 * splits and window ids survive re-ordering and additions.
 *
 * @module
 */

/** Scalar metadata attached to a document (year, president, chapter title …). */
export type DocumentMeta = Record<string, string | number>;

/** One text with a stable identity. */
export interface Document {
  /** `source:key`; unique within a corpus and stable across runs. */
  readonly id: string;
  /** Name of the source the document came from (`"sotu"`). */
  readonly source: string;
  /** Key of the document within its source (`"1790-george-washington"`). */
  readonly key: string;
  /** The full text. */
  readonly text: string;
  /** Optional metadata. */
  readonly meta?: DocumentMeta;
}

/** Something that yields documents, lazily and in a stable order. */
export interface TextSource {
  /** Source name; the prefix of every document id. */
  readonly name: string;
  /** The documents, in a stable order. */
  documents(): AsyncIterable<Document>;
}

/** A document before it is given an id: what sources build. */
export interface DocumentInput {
  /** Key within the source. */
  key: string;
  /** The text. */
  text: string;
  /** Optional metadata. */
  meta?: DocumentMeta;
}

/**
 * Build a document, checking its fields.
 *
 * @param source Source name (no `:`).
 * @param input Key, text and metadata.
 * @returns The document with id `source:key`.
 * @example
 * ```ts
 * import { makeDocument } from "@saelab/corpus";
 * const d = makeDocument("notes", { key: "a", text: "hello" });
 * if (d.id !== "notes:a") throw new Error(d.id);
 * ```
 */
export function makeDocument(source: string, input: DocumentInput): Document {
  checkSourceName(source);
  if (typeof input.key !== "string" || input.key.length === 0) {
    throw new TypeError(`Cannot make a document of source "${source}": its key must be a non-empty string`);
  }
  if (typeof input.text !== "string") {
    throw new TypeError(`Cannot make document "${source}:${input.key}": its text is not a string`);
  }
  const doc: Document = { id: `${source}:${input.key}`, source, key: input.key, text: input.text };
  return input.meta ? { ...doc, meta: input.meta } : doc;
}

/** @internal Source names become id prefixes; they must be non-empty and free of `:`. */
export function checkSourceName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.includes(":")) {
    throw new TypeError(`Cannot use "${name}" as a source name: it must be a non-empty string without ":"`);
  }
}

/**
 * An in-memory source, mostly for tests and small examples.
 *
 * @param name Source name.
 * @param docs The documents: `{ key, text, meta? }` objects, or a `key → text` record.
 * @returns A source yielding them in the given order.
 * @example
 * ```ts
 * import { loadDocuments, memorySource } from "@saelab/corpus";
 * const docs = await loadDocuments([memorySource("mem", { a: "one", b: "two" })]);
 * if (docs[1].id !== "mem:b") throw new Error(docs[1].id);
 * ```
 */
export function memorySource(name: string, docs: readonly DocumentInput[] | Record<string, string>): TextSource {
  checkSourceName(name);
  const inputs: DocumentInput[] = Array.isArray(docs)
    ? [...docs]
    : Object.entries(docs).map(([key, text]) => ({ key, text }));
  const built = inputs.map((d) => makeDocument(name, d));
  return {
    name,
    async *documents() {
      yield* built;
    },
  };
}

/** Options for {@linkcode loadDocuments}. */
export interface LoadOptions {
  /** Skip documents whose text is empty or only whitespace. Default: true. */
  skipEmpty?: boolean;
  /** Called after each document. */
  onDocument?: (doc: Document, count: number) => void;
}

/**
 * Read every document of several sources, in source order, and check that ids are unique.
 *
 * @param sources The sources.
 * @param options Empty-text handling and a progress callback.
 * @returns The documents.
 * @throws {TypeError} When two documents share an id.
 * @example
 * ```ts
 * import { loadDocuments, memorySource } from "@saelab/corpus";
 * const docs = await loadDocuments([memorySource("a", { x: "hi" }), memorySource("b", { x: "yo" })]);
 * if (docs.length !== 2) throw new Error("expected two");
 * ```
 */
export async function loadDocuments(sources: readonly TextSource[], options: LoadOptions = {}): Promise<Document[]> {
  const skipEmpty = options.skipEmpty ?? true;
  const seen = new Set<string>();
  const out: Document[] = [];
  for (const source of sources) {
    for await (const doc of source.documents()) {
      if (seen.has(doc.id)) {
        throw new TypeError(`Cannot load the corpus: document id "${doc.id}" occurs twice`);
      }
      seen.add(doc.id);
      if (skipEmpty && doc.text.trim().length === 0) continue;
      out.push(doc);
      options.onDocument?.(doc, out.length);
    }
  }
  return out;
}
