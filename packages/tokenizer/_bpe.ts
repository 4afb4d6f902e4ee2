/**
 * The byte-level BPE model: a pre-token's UTF-8 bytes start as one symbol each
 * and the adjacent pair with the lowest merge rank is merged (the leftmost one
 * on ties) until no pair has a merge. Results are cached per pre-token.
 *
 * @module
 */
import { BYTE_TO_CHAR } from "./bytes.ts";
import { pushUtf8 } from "./_utf8.ts";
import { Heap } from "./_heap.ts";
import { PairMap } from "./_pair_map.ts";

const NO_MERGE = 0x7fffffff;
/** Words up to this many symbols merge by scanning; longer ones use a heap. */
const SCAN_LIMIT = 48;
/** Pre-tokens longer than this (UTF-16 units) are not cached. */
const CACHE_MAX_WORD = 256;
/** Heap keys pack `rank * POS_SCALE + position`. */
const POS_SCALE = 2 ** 26;

/** Settings of the BPE model beyond its vocabulary and merges. */
export interface BpeSettings {
  /** Id used for bytes missing from the vocabulary, or -1 to drop them. */
  unkId: number;
  /** Fuse runs of unknown bytes into one unknown token. */
  fuseUnk: boolean;
  /** Look a whole pre-token up in the vocabulary before merging (`ignore_merges`). */
  ignoreMerges: boolean;
  /** Most pre-tokens kept in the cache before it is emptied. */
  cacheCapacity: number;
}

/**
 * An encoded pre-token: `n` token ids followed by `n` byte lengths. Id -1 never
 * occurs; bytes that were dropped are counted in a neighbour's length.
 */
export type WordCode = Int32Array;

/** Byte-level BPE over a vocabulary and ranked merges. */
export class Bpe {
  /** Token → id. */
  readonly vocab: Map<string, number>;
  /** Merges in rank order, as token pairs. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly settings: BpeSettings;
  #pairs: PairMap;
  #rank: Int32Array;
  #result: Int32Array;
  #byteId = new Int32Array(256);
  #cache = new Map<string, WordCode>();

  /**
   * @param vocab Token → id.
   * @param merges Pairs of tokens, lowest rank first; each pair's concatenation must be in `vocab`.
   * @param settings Unknown-byte handling, `ignore_merges` and the cache size.
   */
  constructor(vocab: Map<string, number>, merges: ReadonlyArray<readonly [string, string]>, settings: BpeSettings) {
    this.vocab = vocab;
    this.merges = merges;
    this.settings = settings;
    this.#pairs = new PairMap(merges.length);
    this.#rank = new Int32Array(merges.length);
    this.#result = new Int32Array(merges.length);
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a), ib = vocab.get(b), merged = vocab.get(a + b);
      if (ia === undefined || ib === undefined) {
        throw new TypeError(`Cannot load BPE model: merge ${rank} ("${a} ${b}") uses a token missing from the vocab`);
      }
      if (merged === undefined) {
        throw new TypeError(
          `Cannot load BPE model: merge ${rank} ("${a} ${b}") makes "${a + b}", missing from the vocab`,
        );
      }
      const k = this.#pairs.intern(ia, ib);
      this.#rank[k] = rank; // a repeated pair keeps its last rank, as Hugging Face's loader does
      this.#result[k] = merged;
    });
    for (let b = 0; b < 256; b++) this.#byteId[b] = vocab.get(BYTE_TO_CHAR[b]) ?? -1;
  }

  /**
   * Encodes one pre-token.
   *
   * @param word The pre-token (well-formed text).
   * @returns Its ids and their byte lengths; do not modify (it is shared through the cache).
   */
  encodeWord(word: string): WordCode {
    const hit = this.#cache.get(word);
    if (hit !== undefined) return hit;
    const code = this.#encode(word);
    if (word.length <= CACHE_MAX_WORD) {
      if (this.#cache.size >= this.settings.cacheCapacity) this.#cache.clear();
      this.#cache.set(word, code);
    }
    return code;
  }

  #encode(word: string): WordCode {
    const bytes: number[] = [];
    for (let i = 0; i < word.length; i++) {
      const cp = word.codePointAt(i)!;
      if (cp > 0xffff) i++;
      pushUtf8(cp, bytes);
    }
    if (this.settings.ignoreMerges) {
      let s = "";
      for (const b of bytes) s += BYTE_TO_CHAR[b];
      const id = this.vocab.get(s);
      if (id !== undefined) return Int32Array.of(id, bytes.length);
    }
    const ids: number[] = [], lens: number[] = [];
    const { unkId, fuseUnk } = this.settings;
    let dropped = 0; // bytes dropped before the first symbol
    for (const b of bytes) {
      const id = this.#byteId[b];
      if (id >= 0) {
        ids.push(id);
        lens.push(1 + dropped);
        dropped = 0;
      } else if (unkId >= 0) {
        if (fuseUnk && ids.length > 0 && ids[ids.length - 1] === unkId) lens[lens.length - 1]++;
        else ids.push(unkId), lens.push(1);
      } else if (ids.length > 0) lens[lens.length - 1]++;
      else dropped++;
    }
    if (ids.length > SCAN_LIMIT) this.#mergeWithHeap(ids, lens);
    else if (ids.length > 1) this.#mergeByScan(ids, lens);
    const out = new Int32Array(2 * ids.length);
    out.set(ids);
    out.set(lens, ids.length);
    return out;
  }

  #rankOf(a: number, b: number): number {
    const k = this.#pairs.get(a, b);
    return k < 0 ? NO_MERGE : this.#rank[k];
  }

  #resultOf(a: number, b: number): number {
    return this.#result[this.#pairs.get(a, b)];
  }

  /** Short words: keep each adjacent pair's rank; merge the lowest, update its neighbours. */
  #mergeByScan(ids: number[], lens: number[]): void {
    const ranks: number[] = [];
    for (let i = 0; i + 1 < ids.length; i++) ranks.push(this.#rankOf(ids[i], ids[i + 1]));
    for (;;) {
      let best = NO_MERGE, at = -1;
      for (let i = 0; i < ranks.length; i++) {
        if (ranks[i] < best) best = ranks[i], at = i;
      }
      if (at < 0) return;
      ids[at] = this.#resultOf(ids[at], ids[at + 1]);
      lens[at] += lens[at + 1];
      ids.splice(at + 1, 1);
      lens.splice(at + 1, 1);
      ranks.splice(at, 1);
      if (at > 0) ranks[at - 1] = this.#rankOf(ids[at - 1], ids[at]);
      if (at < ranks.length) ranks[at] = this.#rankOf(ids[at], ids[at + 1]);
    }
  }

  /** Long words: a linked list of symbols and a heap of (rank, position) candidates. */
  #mergeWithHeap(ids: number[], lens: number[]): void {
    const n = ids.length;
    const next = new Int32Array(n), prev = new Int32Array(n);
    const heap = new Heap<number>((x, y) => x < y);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      if (i + 1 < n) {
        const r = this.#rankOf(ids[i], ids[i + 1]);
        if (r !== NO_MERGE) heap.push(r * POS_SCALE + i);
      }
    }
    const alive = new Uint8Array(n).fill(1);
    while (heap.size > 0) {
      const key = heap.pop()!;
      const rank = Math.floor(key / POS_SCALE), i = key - rank * POS_SCALE;
      const j = next[i];
      if (!alive[i] || j < 0 || this.#rankOf(ids[i], ids[j]) !== rank) continue; // stale candidate
      ids[i] = this.#resultOf(ids[i], ids[j]);
      lens[i] += lens[j];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) {
        const r = this.#rankOf(ids[prev[i]], ids[i]);
        if (r !== NO_MERGE) heap.push(r * POS_SCALE + prev[i]);
      }
      if (next[i] >= 0) {
        const r = this.#rankOf(ids[i], ids[next[i]]);
        if (r !== NO_MERGE) heap.push(r * POS_SCALE + i);
      }
    }
    let w = 0;
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      ids[w] = ids[i];
      lens[w++] = lens[i];
    }
    ids.length = w;
    lens.length = w;
  }
}
