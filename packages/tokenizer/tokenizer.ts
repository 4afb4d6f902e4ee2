/**
 * {@linkcode Tokenizer}: a Hugging Face `tokenizer.json` byte-level BPE
 * (GPT-2, GPT-NeoX/Pythia and the ones {@linkcode trainBpe} writes).
 *
 * @module
 */
import type { AddedToken } from "./_added.ts";
import { Encoder } from "./_encoder.ts";
import { tokenBytes } from "./bytes.ts";
import { tokenText } from "./display.ts";
import { type BpeModelJson, checkTokenizerJson, type TokenizerJson } from "./config.ts";
import { readText } from "./read_text.ts";
import type { DecodeOptions, EncodingWithOffsets } from "./types.ts";

/**
 * A byte-level BPE tokenizer loaded from a Hugging Face `tokenizer.json`: NFC
 * normaliser, ByteLevel pre-tokenizer (GPT-2 split), BPE merges by rank, ByteLevel
 * decoder, and added tokens matched before BPE. Encodings equal those of Hugging
 * Face's `tokenizers` (with `add_special_tokens` having nothing to add).
 *
 * Input text is read as Unicode scalar values: a lone surrogate encodes as U+FFFD,
 * and `Uint8Array` input is decoded as UTF-8 with U+FFFD for invalid bytes; neither
 * throws. The round trip `decode(encode(s)) === s` holds for every well-formed string
 * in NFC (with `add_prefix_space` off, as in Pythia's file). For other strings the
 * result is canonically equivalent to `s.toWellFormed()` (equal after NFC): the text
 * between special tokens is normalised piece by piece, as Hugging Face does, so a
 * combining mark right after a special token stays uncombined.
 */
export class Tokenizer {
  #json: Omit<TokenizerJson, "model" | "added_tokens">;
  #model: Omit<BpeModelJson, "vocab" | "merges">;
  #encoder: Encoder;
  #tokens: Array<string | undefined> = [];
  #added = new Map<number, AddedToken>();
  #addedIds = new Map<string, number>();
  #bytes: Array<Uint8Array | undefined> = [];
  /** Number of ids: one more than the largest id of the model or the added tokens. */
  readonly vocabSize: number;

  private constructor(json: TokenizerJson, file?: string) {
    const spec = checkTokenizerJson(json, { file });
    const { model, added_tokens: _, ...rest } = json;
    const { vocab: _v, merges: _m, ...settings } = model;
    this.#json = structuredClone(rest);
    this.#model = structuredClone(settings);
    try {
      this.#encoder = new Encoder(spec);
    } catch (e) {
      if (file === undefined || !(e instanceof TypeError)) throw e;
      throw new TypeError(`Cannot load tokenizer ${file}: ${e.message}`, { cause: e });
    }
    for (const [token, id] of spec.vocab) this.#tokens[id] = token;
    for (const t of spec.addedTokens) {
      this.#added.set(t.id, t);
      this.#addedIds.set(t.content, t.id);
    }
    this.vocabSize = spec.addedTokens.reduce((n, t) => Math.max(n, t.id + 1), this.#tokens.length);
  }

  /**
   * Loads a `tokenizer.json` object.
   *
   * @param json The parsed file.
   * @returns The tokenizer.
   * @throws {TypeError} When the file is malformed or uses a model, normaliser, pre-tokenizer,
   *   post-processor or decoder this package does not run; the message names it.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["a cat, a hat"], { vocabSize: 270 }));
   * console.log(tok.decode(tok.encode("a cat"))); // "a cat"
   * ```
   */
  static fromJSON(json: TokenizerJson): Tokenizer {
    return new Tokenizer(json);
  }

  /**
   * Loads a `tokenizer.json` file (a URL in a browser).
   *
   * @param path Path or URL of the file.
   * @returns The tokenizer.
   * @throws {TypeError} As {@linkcode Tokenizer.fromJSON}, or when the file is not JSON.
   * @example
   * ```ts ignore
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = await Tokenizer.fromFile("../shared/reference/pythia-tokenizer/tokenizer.json");
   * console.log(tok.encode("Hello world")); // [12092, 1533]
   * ```
   */
  static async fromFile(path: string | URL): Promise<Tokenizer> {
    const text = await readText(path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TypeError(`Cannot load tokenizer ${path}: not JSON (${(e as Error).message})`, { cause: e });
    }
    return new Tokenizer(json as TokenizerJson, String(path));
  }

  /**
   * Encodes text to token ids.
   *
   * @param text A string, or UTF-8 bytes (invalid sequences read as U+FFFD).
   * @returns The ids.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["low lower lowest"], { vocabSize: 262 }));
   * console.log(tok.encode("low").length); // 1
   * ```
   */
  encode(text: string | Uint8Array): number[] {
    return this.#encoder.encode(wellFormed(text), null);
  }

  /**
   * Encodes text to token ids with the span of the input each token stands for.
   *
   * @param text A string, or UTF-8 bytes (spans then index the decoded string).
   * @returns Ids and `[start, end)` UTF-16 spans (see {@linkcode EncodingWithOffsets}).
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["hi there"], { vocabSize: 256 }));
   * console.log(tok.encodeWithOffsets("hi").offsets); // [[0, 1], [1, 2]]
   * ```
   */
  encodeWithOffsets(text: string | Uint8Array): EncodingWithOffsets {
    const flat: number[] = [];
    const ids = this.#encoder.encode(wellFormed(text), flat);
    const offsets = new Array<[number, number]>(ids.length);
    for (let i = 0; i < ids.length; i++) offsets[i] = [flat[2 * i], flat[2 * i + 1]];
    return { ids, offsets };
  }

  /**
   * Decodes ids to text: each token's bytes, joined and read as UTF-8 (a sequence
   * cut inside a character reads as U+FFFD).
   *
   * @param ids Token ids.
   * @param options `skipSpecialTokens` leaves out special tokens.
   * @returns The text.
   * @throws {RangeError} When an id is not an integer in `[0, vocabSize)` with a token.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["héllo"], { vocabSize: 258, specialTokens: ["<|endoftext|>"] }));
   * console.log(tok.decode(tok.encode("<|endoftext|>héllo"), { skipSpecialTokens: true })); // "héllo"
   * ```
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (options.skipSpecialTokens && this.#added.get(id)?.special) continue;
      const bytes = this.#bytesOf(id);
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const p of parts) all.set(p, at), at += p.length;
    return UTF8.decode(all);
  }

  #bytesOf(id: number): Uint8Array {
    const cached = this.#bytes[id];
    if (cached) return cached;
    const token = Number.isInteger(id) ? this.idToToken(id) : undefined;
    if (token === undefined) {
      throw new RangeError(`Cannot decode: id ${id} is not a token id (vocabulary size ${this.vocabSize})`);
    }
    // A token of the byte alphabet stands for its bytes; any other (an added "  ") for its own UTF-8.
    return this.#bytes[id] = tokenBytes(token) ?? new TextEncoder().encode(token);
  }

  /**
   * One token as text: its complete UTF-8 characters decoded, the bytes of a character split across
   * tokens written `\xHH` (see {@linkcode tokenText}); control characters are kept.
   *
   * @param id A token id (throws `RangeError` when no token has it).
   * @returns The token's text.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["x"], { vocabSize: 257, specialTokens: ["<|endoftext|>"] }));
   * console.log(tok.tokenText(tok.encode("x")[0])); // "x"
   * ```
   */
  tokenText(id: number): string {
    return tokenText(this.#bytesOf(id), { controls: "keep" });
  }

  /**
   * The token string of an id: the byte-level form for model tokens (`"Ġworld"`),
   * the content for added tokens.
   *
   * @param id A token id.
   * @returns The token, or undefined when no token has this id.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["x"], { vocabSize: 257, specialTokens: ["<|endoftext|>"] }));
   * console.log(tok.idToToken(0)); // "<|endoftext|>"
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.#added.get(id)?.content ?? this.#tokens[id];
  }

  /**
   * The id of a token string (added tokens first, then the model's vocabulary).
   *
   * @param token A token as `idToToken` writes it.
   * @returns Its id, or undefined.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["x"], { vocabSize: 257, specialTokens: ["<|endoftext|>"] }));
   * console.log(tok.tokenToId("<|endoftext|>")); // 0
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.#addedIds.get(token) ?? this.#encoder.bpe.vocab.get(token);
  }

  /**
   * The tokenizer as a `tokenizer.json` object (what it was loaded from, with merges as
   * `"a b"` strings unless a token holds a space).
   *
   * @returns A new object; `JSON.stringify` it to write the file.
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * import { trainBpe } from "./train.ts";
   * const tok = Tokenizer.fromJSON(trainBpe(["abab"], { vocabSize: 258 }));
   * console.log(Tokenizer.fromJSON(tok.toJSON()).encode("abab")); // same ids as tok.encode("abab")
   * ```
   */
  toJSON(): TokenizerJson {
    const { vocab, merges } = this.#encoder.bpe;
    const spaced = merges.some(([a, b]) => a.includes(" ") || b.includes(" "));
    const added = [...this.#added.values()].sort((x, y) => x.id - y.id);
    return {
      ...structuredClone(this.#json),
      added_tokens: added.map((t) => ({ ...t })),
      model: {
        ...structuredClone(this.#model),
        vocab: Object.fromEntries([...vocab].sort((x, y) => x[1] - y[1])),
        merges: merges.map(([a, b]) => spaced ? [a, b] : `${a} ${b}`),
      },
    };
  }
}

/** UTF-8 with U+FFFD for invalid bytes; a leading U+FEFF is kept, not taken for a byte-order mark. */
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

function wellFormed(text: string | Uint8Array): string {
  if (typeof text !== "string") {
    if (!(text instanceof Uint8Array)) {
      throw new TypeError(`Cannot encode: expected a string or Uint8Array, got ${typeof text}`);
    }
    return UTF8.decode(text);
  }
  return text.isWellFormed() ? text : text.toWellFormed();
}
