/**
 * {@linkcode trainBpe}: learns a byte-level BPE from text and writes it as a
 * `tokenizer.json` object.
 *
 * @module
 */
import { type AddedToken, AddedTokenMatcher } from "./_added.ts";
import { Heap } from "./_heap.ts";
import { PairMap } from "./_pair_map.ts";
import { BYTE_TO_CHAR } from "./bytes.ts";
import { pushUtf8 } from "./_utf8.ts";
import type { TokenizerJson } from "./config.ts";
import { preTokenEnd } from "./_split.ts";

/** Options of {@linkcode trainBpe}. */
export interface TrainBpeOptions {
  /** Ids in all: special tokens + the 256 bytes + merges. The result is smaller if pairs run out. */
  vocabSize: number;
  /** Special tokens, given ids 0, 1, … in this order and cut out of the training text. Default none. */
  specialTokens?: string[];
  /** A pair is merged only if it occurs at least this often. Default 2. */
  minFrequency?: number;
  /** Called after each merge with the number of merges done and the most possible. */
  onProgress?: (done: number, total: number) => void;
}

const BYTE_LEVEL = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };

/** The special tokens as `added_tokens` entries, ids in order from 0. */
function specialTokens(specials: readonly string[]): AddedToken[] {
  return specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** Counts the pre-tokens of the texts (special tokens cut out, NFC, GPT-2 split). */
function countWords(texts: Iterable<string>, specials: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const matcher = new AddedTokenMatcher(
    specialTokens(specials),
    (t) => t.content,
  );
  const addSegment = (segment: string) => {
    const s = segment.normalize("NFC");
    for (let i = 0; i < s.length;) {
      const j = preTokenEnd(s, i);
      const word = s.slice(i, j);
      counts.set(word, (counts.get(word) ?? 0) + 1);
      i = j;
    }
  };
  for (const raw of texts) {
    const text = raw.isWellFormed() ? raw : raw.toWellFormed();
    let pos = 0;
    matcher.find(text, (start, stop) => {
      if (pos < start) addSegment(text.slice(pos, start));
      pos = stop;
    });
    if (pos < text.length) addSegment(text.slice(pos));
  }
  return counts;
}

/**
 * Trains a byte-level BPE. The vocabulary holds the special tokens (ids from 0), then all
 * 256 bytes (in the order of their alphabet characters, as Hugging Face's trainer sorts
 * them), then one token per merge. Each step merges the most frequent adjacent pair,
 * ties going to the pair with the smaller ids (left, then right), so the result
 * depends only on the multiset of texts. Pair counts are updated incrementally: a merge
 * revisits only the words that contain its pair.
 *
 * @param texts Training texts (any iterable: a generator over files works).
 * @param options Vocabulary size, special tokens, minimum pair frequency, progress callback.
 * @returns A `tokenizer.json` object (NFC, ByteLevel pre-tokenizer and decoder, BPE model)
 *   that {@linkcode Tokenizer.fromJSON} and Hugging Face's tokenizers load.
 * @throws {RangeError} When `vocabSize` cannot hold the special tokens and the 256 bytes.
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * import { trainBpe, type TrainBpeOptions } from "./train.ts";
 * const options: TrainBpeOptions = { vocabSize: 260, specialTokens: ["<|endoftext|>"] };
 * const json = trainBpe(["the cat sat on the mat"], options);
 * console.log(json.model.merges.length); // 3
 * console.log(Tokenizer.fromJSON(json).encode("the").length); // 1
 * ```
 */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): TokenizerJson {
  const specials = options.specialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  const base = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base) {
    throw new RangeError(
      `Cannot train BPE: vocabSize ${options.vocabSize} is below ${base} (${specials.length} special tokens + 256 bytes)`,
    );
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new RangeError(`Cannot train BPE: minFrequency ${minFrequency} is not an integer ≥ 1`);
  }
  if (new Set(specials).size !== specials.length || specials.some((s) => typeof s !== "string" || s === "")) {
    throw new TypeError(`Cannot train BPE: special tokens must be distinct non-empty strings`);
  }

  const tokens: string[] = [...specials];
  const byteId = new Int32Array(256);
  [...BYTE_TO_CHAR.keys()].sort((x, y) => BYTE_TO_CHAR[x].charCodeAt(0) - BYTE_TO_CHAR[y].charCodeAt(0))
    .forEach((b) => {
      byteId[b] = tokens.length;
      tokens.push(BYTE_TO_CHAR[b]);
    });
  const idOf = new Map(tokens.map((t, id) => [t, id]));

  const counts = countWords(texts, specials);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [word, n] of counts) {
    const bytes: number[] = [];
    for (const ch of word) pushUtf8(ch.codePointAt(0)!, bytes);
    words.push(bytes.map((b) => byteId[b]));
    freq.push(n);
  }

  // Pair statistics: count and the words holding each pair (a word may be listed more than once).
  const pairs = new PairMap(1 << 16);
  const left: number[] = [], right: number[] = [], pairCount: number[] = [], where: number[][] = [];
  const pairOf = (a: number, b: number): number => {
    const p = pairs.intern(a, b);
    if (p === left.length) left.push(a), right.push(b), pairCount.push(0), where.push([]);
    return p;
  };
  const add = (a: number, b: number, w: number, n: number): number => {
    const p = pairOf(a, b);
    pairCount[p] += n;
    const list = where[p];
    if (list[list.length - 1] !== w) list.push(w);
    return p;
  };
  words.forEach((syms, w) => {
    for (let i = 0; i + 1 < syms.length; i++) add(syms[i], syms[i + 1], w, freq[w]);
  });

  type Entry = { pair: number; count: number };
  const heap = new Heap<Entry>((x, y) =>
    x.count !== y.count
      ? x.count > y.count
      : left[x.pair] !== left[y.pair]
      ? left[x.pair] < left[y.pair]
      : right[x.pair] < right[y.pair]
  );
  for (let p = 0; p < pairCount.length; p++) heap.push({ pair: p, count: pairCount[p] });

  const merges: string[] = [];
  const stamp = new Int32Array(words.length).fill(-1);
  const total = options.vocabSize - base;
  while (tokens.length < options.vocabSize) {
    const top = heap.pop();
    if (!top || top.count < minFrequency) break;
    if (top.count !== pairCount[top.pair]) { // stale: counts only fall after a pair is created
      if (pairCount[top.pair] > 0) heap.push({ pair: top.pair, count: pairCount[top.pair] });
      continue;
    }
    const a = left[top.pair], b = right[top.pair];
    const text = tokens[a] + tokens[b];
    let merged = idOf.get(text);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(text);
      idOf.set(text, merged);
    }
    merges.push(`${tokens[a]} ${tokens[b]}`);
    const touched = new Set<number>();
    for (const w of where[top.pair]) {
      if (stamp[w] === merges.length) continue;
      stamp[w] = merges.length;
      const syms = words[w], n = freq[w];
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] !== a || syms[i + 1] !== b) continue;
        pairCount[top.pair] -= n;
        if (i > 0) {
          pairCount[pairOf(syms[i - 1], a)] -= n;
          touched.add(add(syms[i - 1], merged, w, n));
        }
        if (i + 2 < syms.length) {
          pairCount[pairOf(b, syms[i + 2])] -= n;
          touched.add(add(merged, syms[i + 2], w, n));
        }
        syms[i] = merged;
        syms.splice(i + 1, 1);
      }
    }
    for (const p of touched) if (pairCount[p] > 0) heap.push({ pair: p, count: pairCount[p] });
    options.onProgress?.(merges.length, total);
  }

  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specialTokens(specials),
    normalizer: { type: "NFC" },
    pre_tokenizer: { ...BYTE_LEVEL },
    post_processor: { ...BYTE_LEVEL },
    decoder: { ...BYTE_LEVEL },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((t, id) => [t, id])),
      merges,
    },
  };
}
