/**
 * The `tokenizer.json` format (Hugging Face tokenizers) and the checks that
 * decide whether a file describes a byte-level BPE this package can run exactly.
 *
 * @module
 */
import type { AddedToken } from "./_added.ts";

export type { AddedToken };

/** A pipeline component: `{ type, ...settings }`. */
export interface Component {
  /** The component's kind (`"NFC"`, `"ByteLevel"`, …). */
  type: string;
  [setting: string]: unknown;
}

/** The BPE model section of `tokenizer.json`. */
export interface BpeModelJson {
  /** `"BPE"` (older files omit it). */
  type?: string;
  /** Token → id. */
  vocab: Record<string, number>;
  /** Merges by rank: `"a b"` strings (older files) or `[a, b]` pairs. */
  merges: Array<string | [string, string]>;
  dropout?: number | null;
  unk_token?: string | null;
  continuing_subword_prefix?: string | null;
  end_of_word_suffix?: string | null;
  fuse_unk?: boolean;
  byte_fallback?: boolean;
  ignore_merges?: boolean;
}

/** A `tokenizer.json` object. */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens?: AddedToken[];
  normalizer?: Component | null;
  pre_tokenizer?: Component | null;
  post_processor?: Component | null;
  decoder?: Component | null;
  model: BpeModelJson;
}

/** What the tokenizer needs from a checked `tokenizer.json`. */
export interface Spec {
  nfc: boolean;
  addPrefixSpace: boolean;
  useRegex: boolean;
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
  unkToken: string | null;
  fuseUnk: boolean;
  ignoreMerges: boolean;
  addedTokens: AddedToken[];
}

/** Ids must be integers in [0, MAX_TOKEN_ID): 2^24, far above any real vocabulary and exact in f32. */
export const MAX_TOKEN_ID = 2 ** 24;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function typeName(c: unknown): string {
  return isObject(c) && typeof c.type === "string" ? `"${c.type}"` : JSON.stringify(c) ?? String(c);
}

function checkNormalizer(c: unknown, WHAT: string): boolean {
  if (c === null || c === undefined) return false;
  if (isObject(c) && c.type === "NFC") return true;
  if (isObject(c) && c.type === "Sequence" && Array.isArray(c.normalizers)) {
    return c.normalizers.map((n) => checkNormalizer(n, WHAT)).some((x) => x);
  }
  throw new TypeError(`${WHAT}: normalizer ${typeName(c)} is not supported (supported: NFC, a Sequence of NFC, none)`);
}

function checkPreTokenizer(c: unknown, WHAT: string): { addPrefixSpace: boolean; useRegex: boolean } {
  if (isObject(c) && c.type === "Sequence" && Array.isArray(c.pretokenizers) && c.pretokenizers.length === 1) {
    return checkPreTokenizer(c.pretokenizers[0], WHAT);
  }
  if (!isObject(c) || c.type !== "ByteLevel") {
    const name = isObject(c) && c.type === "Sequence" && Array.isArray(c.pretokenizers)
      ? `"Sequence" of [${c.pretokenizers.map(typeName).join(", ")}]`
      : typeName(c);
    throw new TypeError(`${WHAT}: pre-tokenizer ${name} is not supported (supported: ByteLevel)`);
  }
  flags(c, { where: "pre_tokenizer", keys: ["add_prefix_space", "use_regex", "trim_offsets"], WHAT });
  return { addPrefixSpace: c.add_prefix_space !== false, useRegex: c.use_regex !== false };
}

function checkOptional(c: unknown, o: { name: string; where: string; allowed: string[]; WHAT: string }): void {
  const { name: what, allowed, WHAT } = o;
  if (c === null || c === undefined) return;
  if (isObject(c) && allowed.includes(c.type as string)) {
    flags(c, { where: o.where, keys: ["add_prefix_space", "use_regex", "trim_offsets"], WHAT });
    return;
  }
  throw new TypeError(`${WHAT}: ${what} ${typeName(c)} is not supported (supported: ${allowed.join(", ")}, none)`);
}

function checkModel(
  m: unknown,
  WHAT: string,
): Pick<Spec, "vocab" | "merges" | "unkToken" | "fuseUnk" | "ignoreMerges"> {
  if (!isObject(m)) throw new TypeError(`${WHAT}: "model" is missing or not an object`);
  if (m.type !== undefined && m.type !== "BPE") {
    throw new TypeError(`${WHAT}: model type ${typeName(m)} is not supported (supported: BPE)`);
  }
  if (!isObject(m.vocab)) throw new TypeError(`${WHAT}: model.vocab is missing or not an object`);
  if (!Array.isArray(m.merges)) throw new TypeError(`${WHAT}: model.merges is missing or not an array`);
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) {
    throw new TypeError(`${WHAT}: BPE dropout ${m.dropout} is not supported (it makes encoding random)`);
  }
  flags(m, { where: "model", keys: ["fuse_unk", "byte_fallback", "ignore_merges"], WHAT });
  for (const key of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    if (m[key] !== undefined && m[key] !== null && m[key] !== "") {
      throw new TypeError(`${WHAT}: BPE ${key} ${JSON.stringify(m[key])} is not supported by the byte-level model`);
    }
  }
  const vocab = new Map<string, number>();
  const seen = new Set<number>();
  for (const [token, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= MAX_TOKEN_ID) {
      throw new TypeError(
        `${WHAT}: model.vocab gives token ${JSON.stringify(token)} the id ${JSON.stringify(id)}, not an integer ≥ 0 ` +
          `and below ${MAX_TOKEN_ID}`,
      );
    }
    if (seen.has(id as number)) throw new TypeError(`${WHAT}: model.vocab gives id ${id} to two tokens`);
    seen.add(id as number);
    vocab.set(token, id as number);
  }
  const merges = m.merges.map((x: unknown, rank: number): [string, string] => {
    if (typeof x === "string") {
      const parts = x.split(" ");
      if (parts.length === 2) return [parts[0], parts[1]];
    } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string") {
      return [x[0], x[1]];
    }
    throw new TypeError(`${WHAT}: merge ${rank} is ${JSON.stringify(x)}, not "a b" or ["a", "b"]`);
  });
  const unkToken = typeof m.unk_token === "string" ? m.unk_token : null;
  if (unkToken !== null && !vocab.has(unkToken)) {
    throw new TypeError(`${WHAT}: unk_token ${JSON.stringify(unkToken)} is not in model.vocab`);
  }
  return { vocab, merges, unkToken, fuseUnk: m.fuse_unk === true, ignoreMerges: m.ignore_merges === true };
}

/** Optional flags must be JSON booleans when present ("false" is not false). */
function flags(obj: Record<string, unknown>, o: { where: string; keys: string[]; WHAT: string }): void {
  const { where, keys, WHAT } = o;
  for (const key of keys) {
    if (obj[key] !== undefined && obj[key] !== null && typeof obj[key] !== "boolean") {
      throw new TypeError(`${WHAT}: ${where}.${key} must be true or false, got ${JSON.stringify(obj[key])}`);
    }
  }
}

function checkAddedTokens(list: unknown, o: { vocab: Map<string, number>; WHAT: string }): AddedToken[] {
  const { vocab, WHAT } = o;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new TypeError(`${WHAT}: added_tokens is not an array`);
  const byId = new Map<number, string>();
  for (const [token, id] of vocab) byId.set(id, token);
  const ids = new Set<number>();
  const contents = new Set<string>();
  return list.map((t: unknown, i: number): AddedToken => {
    const at = `added_tokens[${i}]`;
    if (!isObject(t) || typeof t.content !== "string" || !Number.isInteger(t.id) || (t.id as number) < 0) {
      throw new TypeError(`${WHAT}: ${at} needs a string "content" and an integer "id" ≥ 0`);
    }
    const id = t.id as number;
    if (id >= MAX_TOKEN_ID) throw new TypeError(`${WHAT}: ${at} has id ${id}, not below ${MAX_TOKEN_ID}`);
    if (ids.has(id)) throw new TypeError(`${WHAT}: ${at} reuses id ${id} of an earlier added token`);
    if (contents.has(t.content)) {
      throw new TypeError(`${WHAT}: ${at} repeats the content ${JSON.stringify(t.content)} of an earlier added token`);
    }
    const other = byId.get(id);
    if (other !== undefined && other !== t.content) {
      throw new TypeError(
        `${WHAT}: ${at} gives id ${id} to ${JSON.stringify(t.content)}, but model.vocab gives it to ${
          JSON.stringify(other)
        }`,
      );
    }
    ids.add(id);
    contents.add(t.content);
    flags(t, { where: at, keys: ["single_word", "lstrip", "rstrip", "normalized", "special"], WHAT });
    return {
      id,
      content: t.content,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === undefined || t.normalized === null ? t.special !== true : t.normalized === true,
      special: t.special === true,
    };
  });
}

/** Options of {@linkcode checkTokenizerJson}. */
export interface CheckTokenizerOptions {
  /** The file the object was read from, named in errors. */
  file?: string;
}

/**
 * Checks a `tokenizer.json` object and extracts what the tokenizer runs on. Ids must be integers
 * in [0, {@linkcode MAX_TOKEN_ID}), unique within the vocab and within the added tokens, and an
 * added token whose id is in the vocab must be that vocab entry; flags must be JSON booleans.
 *
 * @param json The parsed file.
 * @param options The file it came from (named in errors).
 * @returns The checked settings.
 * @throws {TypeError} When a part is malformed or not supported; the message names the file and the part.
 */
export function checkTokenizerJson(json: unknown, options: CheckTokenizerOptions = {}): Spec {
  const WHAT = options.file === undefined ? "Cannot load tokenizer" : `Cannot load tokenizer ${options.file}`;
  if (!isObject(json)) throw new TypeError(`${WHAT}: expected a tokenizer.json object, got ${typeof json}`);
  for (const key of ["truncation", "padding"]) {
    if (json[key] !== undefined && json[key] !== null) throw new TypeError(`${WHAT}: ${key} is not supported`);
  }
  const model = checkModel(json.model, WHAT);
  const nfc = checkNormalizer(json.normalizer, WHAT);
  const pre = checkPreTokenizer(json.pre_tokenizer, WHAT);
  checkOptional(json.post_processor, { name: "post-processor", where: "post_processor", allowed: ["ByteLevel"], WHAT });
  checkOptional(json.decoder, { name: "decoder", where: "decoder", allowed: ["ByteLevel"], WHAT });
  return { nfc, ...pre, ...model, addedTokens: checkAddedTokens(json.added_tokens, { vocab: model.vocab, WHAT }) };
}
