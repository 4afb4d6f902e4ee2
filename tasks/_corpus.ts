/**
 * Text for a run: the configured source, a seeded sample of its documents tokenised with the
 * model's tokenizer, and two lists of windows — the windows to harvest (shuffled; the harvest
 * puts rows of held-out documents apart) and held-out windows for the spliced loss.
 *
 * @module
 */
import { UsageError } from "./_schema.ts";
import {
  type Document,
  folderSource,
  loadDocuments,
  makeWindows,
  mobyDickSource,
  seededRandom,
  shuffleInPlace,
  sotuSource,
  type TextSource,
  tokenizeDocuments,
  type TokenWindows,
} from "@saelab/corpus";
import type { ProgressFn } from "@saelab/runs";
import type { ModelSource } from "./_model.ts";

/** The windows a run uses. */
export interface RunWindows {
  /** Windows to harvest, in harvest order (enough for the configured number of rows). */
  harvest: TokenWindows;
  /** Windows of held-out documents, shuffled, for the spliced loss. */
  heldOut: TokenWindows;
  /** Documents tokenised. */
  documents: number;
  /** Tokens in them. */
  tokens: number;
}

/**
 * The text source a corpus setting names.
 *
 * @param corpus `"sotu"`, `"moby-dick"`, or a folder of `.txt`/`.jsonl` files.
 * @returns The source.
 * @example
 * ```ts
 * import { corpusSource } from "./_corpus.ts";
 * if (corpusSource("sotu").name !== "sotu") throw new Error();
 * ```
 */
export function corpusSource(corpus: string): TextSource {
  if (corpus === "sotu") return sotuSource();
  if (corpus === "moby-dick") return mobyDickSource();
  return folderSource(corpus);
}

/**
 * Load, sample, tokenise and window the corpus. Documents are taken in a seeded random order until
 * `corpusTokens` is reached (estimated at four characters a token), so a large folder is not
 * tokenised whole; the result depends only on the corpus, the tokenizer and the settings.
 *
 * @param options Corpus, model, context length, rows wanted, held-out split, seed, progress.
 * @returns The windows.
 * @throws {RangeError} When the corpus has no document long enough for one window, or too few held-out ones.
 * @example
 * ```ts ignore
 * const w = await prepareWindows({ corpus: "sotu", model, contextLength: 128, tokens: 50_000, ... });
 * ```
 */
export async function prepareWindows(options: {
  corpus: string;
  model: ModelSource;
  contextLength: number;
  tokens: number;
  corpusTokens: number;
  heldOutFraction: number;
  lossWindows: number;
  seed: number;
  progress?: ProgressFn;
}): Promise<RunWindows> {
  const T = options.contextLength;
  let docs: Document[];
  try {
    docs = await loadDocuments([corpusSource(options.corpus)]);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `Invalid --corpus: cannot read the corpus ${
          JSON.stringify(options.corpus)
        }: no such folder (use sotu, moby-dick or a folder)`,
      );
    }
    throw e;
  }
  if (docs.length === 0 && options.corpus !== "sotu" && options.corpus !== "moby-dick") {
    throw new UsageError(`Invalid --corpus: no .txt/.jsonl files in ${options.corpus}`);
  }
  const order = shuffleInPlace(docs.map((_, i) => i), seededRandom(options.seed));
  const picked: number[] = [];
  let chars = 0;
  for (const i of order) {
    if (chars / 4 >= options.corpusTokens) break;
    picked.push(i);
    chars += docs[i].text.length;
  }
  const chosen = picked.sort((a, b) => a - b).map((i) => docs[i]);
  const progress = options.progress;
  const tokenized = tokenizeDocuments(chosen, options.model.tokenizer, {
    separator: options.model.separator,
    offsets: false,
    onProgress: progress
      ? (p) => progress({ label: "tokenize", done: p.documents, total: p.total, unit: "doc" })
      : undefined,
  });
  const all = makeWindows(tokenized, { contextLength: T, tail: "drop" });
  if (all.count === 0) {
    throw new RangeError(
      `Cannot use the corpus ${JSON.stringify(options.corpus)}: no document has ${T} tokens for one window`,
    );
  }
  const harvest = all.shuffle(options.seed).take(Math.ceil(options.tokens / T));
  const heldOut = all.split({ heldOutFraction: options.heldOutFraction, seed: 0 }).heldOut.shuffle(options.seed + 1)
    .take(options.lossWindows);
  if (options.lossWindows > 0 && heldOut.count === 0) {
    throw new RangeError(
      `Cannot measure the spliced loss: none of the ${chosen.length} documents fell in the held-out split ` +
        "(add documents, raise heldOutFraction, or set lossWindows 0)",
    );
  }
  return { harvest, heldOut, documents: chosen.length, tokens: tokenized.tokenCount };
}
