/**
 * The pretraining data: State of the Union speeches split by document id into
 * train and held-out sets, a byte-level BPE tokenizer trained on the train
 * side only, and non-overlapping token windows of each side.
 *
 * @module
 */
import {
  loadDocuments,
  makeWindows,
  sotuSource,
  splitDocuments,
  type TextSource,
  tokenizeDocuments,
  type TokenWindows,
} from "@saelab/corpus";
import { Tokenizer, type TokenizerJson, trainBpe } from "@saelab/tokenizer";

/** The end-of-text token, id 0, put at the start of every document. */
export const END_OF_TEXT = "<|endoftext|>";

/** Options of {@linkcode prepareData}. */
export interface DataOptions {
  /** Text sources. Default: the State of the Union speeches. */
  sources?: readonly TextSource[];
  /** BPE vocabulary size (special token + 256 bytes + merges). Default 4096. */
  vocabSize?: number;
  /** Fraction of documents held out. Default 0.1. */
  heldOutFraction?: number;
  /** Seed of the document split. Default 0. */
  splitSeed?: number;
  /** Tokens per window. */
  contextLength: number;
  /** Reuse this tokenizer instead of training one (a resumed run). */
  tokenizer?: TokenizerJson;
}

/** Tokenizer and windows of both sides of the split. */
export interface PretrainData {
  /** `tokenizer.json` contents. */
  tokenizerJson: TokenizerJson;
  /** The tokenizer. */
  tokenizer: Tokenizer;
  /** Training windows, in document order. */
  train: TokenWindows;
  /** Held-out windows, in document order. */
  heldOut: TokenWindows;
  /** Document counts of each side. */
  documents: { train: number; heldOut: number };
}

/**
 * Load, split, tokenise and window the corpus.
 *
 * @param options Sources, vocabulary, split and context length.
 * @returns The tokenizer and the windows (`stride = contextLength`, a short tail dropped).
 * @example
 * ```ts ignore
 * import { prepareData } from "@saelab/pretrain";
 * const data = await prepareData({ contextLength: 128 });
 * console.log(data.train.count, data.heldOut.count);
 * ```
 */
export async function prepareData(options: DataOptions): Promise<PretrainData> {
  const docs = await loadDocuments(options.sources ?? [sotuSource()]);
  const { train, heldOut } = splitDocuments(docs, {
    heldOutFraction: options.heldOutFraction ?? 0.1,
    seed: options.splitSeed ?? 0,
  });
  if (train.length === 0 || heldOut.length === 0) {
    throw new RangeError(`Cannot prepare the data: ${docs.length} documents leave one side of the split empty`);
  }
  const tokenizerJson = options.tokenizer ??
    trainBpe(train.map((d) => d.text), { vocabSize: options.vocabSize ?? 4096, specialTokens: [END_OF_TEXT] });
  const tokenizer = Tokenizer.fromJSON(tokenizerJson);
  const eot = tokenizer.tokenToId(END_OF_TEXT);
  if (eot === undefined) throw new RangeError(`Cannot prepare the data: the tokenizer has no ${END_OF_TEXT} token`);
  const windows = (set: typeof train) =>
    makeWindows(tokenizeDocuments(set, tokenizer, { separator: eot }), {
      contextLength: options.contextLength,
      tail: "drop",
    });
  return {
    tokenizerJson,
    tokenizer,
    train: windows(train),
    heldOut: windows(heldOut),
    documents: { train: train.length, heldOut: heldOut.length },
  };
}
