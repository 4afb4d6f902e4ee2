/**
 * Text corpora for SAE Lab: sources (folders of `.txt`/`.jsonl` files, the
 * State of the Union and _Moby-Dick_ npm datasets, in-memory texts), a
 * deterministic train / held-out split by document id, and documents → token
 * windows with stable (document, position) ids that map back to text spans.
 *
 * ```ts ignore
 * import { loadDocuments, makeWindows, mobyDickSource, sotuSource, splitDocuments, tokenizeDocuments } from "@saelab/corpus";
 * const docs = await loadDocuments([sotuSource(), mobyDickSource()]);
 * const { train } = splitDocuments(docs, { heldOutFraction: 0.1, seed: 0 });
 * const windows = makeWindows(tokenizeDocuments(train, tokenizer, { separator: 0 }), { contextLength: 128 }).shuffle(1);
 * const w = windows.get(0);
 * console.log(w.id, windows.corpus.context(w.doc, w.start + 5));
 * ```
 *
 * @module
 */
export { loadDocuments, makeDocument, memorySource } from "./document.ts";
export type { Document, DocumentInput, DocumentMeta, LoadOptions, TextSource } from "./document.ts";
export { pathExists } from "./exists.ts";
export { folderSource } from "./folder.ts";
export type { FolderSourceOptions } from "./folder.ts";
export { mobyDickSource, sotuSource } from "./stdlib.ts";
export type { MobyDickOptions, SotuOptions } from "./stdlib.ts";
export { splitDocuments, splitOf } from "./split.ts";
export type { SplitName, SplitOptions } from "./split.ts";
/** The seeded generator and string hashes of `@saelab/core`, re-exported for existing callers. */
export { hashString, hashUnit, seededRandom, shuffleInPlace } from "@saelab/core";
export type { Random } from "@saelab/core";
export { TokenizedDocuments, tokenizeDocuments } from "./tokenized.ts";
export type { DocumentInfo, Encoding, TokenContext, TokenEncoder, TokenizeOptions } from "./tokenized.ts";
export { makeWindows, TokenWindows } from "./windows.ts";
export type { Window, WindowOptions } from "./windows.ts";
