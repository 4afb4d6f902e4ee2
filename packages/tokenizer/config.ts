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

const WHAT = "Cannot load tokenizer";

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function typeName(c: unknown): string {
  return isObject(c) && typeof c.type === "string" ? `"${c.type}"` : JSON.stringify(c) ?? String(c);
}

function checkNormalizer(c: unknown): boolean {
  if (c === null || c === undefined) return false;
  if (isObject(c) && c.type === "NFC") return true;
  if (isObject(c) && c.type === "Sequence" && Array.isArray(c.normalizers)) {
    return c.normalizers.map(checkNormalizer).some((x) => x);
  }
  throw new TypeError(`${WHAT}: normalizer ${typeName(c)} is not supported (supported: NFC, a Sequence of NFC, none)`);
}

function checkPreTokenizer(c: unknown): { addPrefixSpace: boolean; useRegex: boolean } {
  if (isObject(c) && c.type === "Sequence" && Array.isArray(c.pretokenizers) && c.pretokenizers.length === 1) {
    return checkPreTokenizer(c.pretokenizers[0]);
  }
  if (!isObject(c) || c.type !== "ByteLevel") {
    const name = isObject(c) && c.type === "Sequence" && Array.isArray(c.pretokenizers)
      ? `"Sequence" of [${c.pretokenizers.map(typeName).join(", ")}]`
      : typeName(c);
    throw new TypeError(`${WHAT}: pre-tokenizer ${name} is not supported (supported: ByteLevel)`);
  }
  return { addPrefixSpace: c.add_prefix_space !== false, useRegex: c.use_regex !== false };
}

function checkOptional(c: unknown, what: string, allowed: string[]): void {
  if (c === null || c === undefined) return;
  if (isObject(c) && allowed.includes(c.type as string)) return;
  throw new TypeError(`${WHAT}: ${what} ${typeName(c)} is not supported (supported: ${allowed.join(", ")}, none)`);
}

function checkModel(m: unknown): Pick<Spec, "vocab" | "merges" | "unkToken" | "fuseUnk" | "ignoreMerges"> {
  if (!isObject(m)) throw new TypeError(`${WHAT}: "model" is missing or not an object`);
  if (m.type !== undefined && m.type !== "BPE") {
    throw new TypeError(`${WHAT}: model type ${typeName(m)} is not supported (supported: BPE)`);
  }
  if (!isObject(m.vocab)) throw new TypeError(`${WHAT}: model.vocab is missing or not an object`);
  if (!Array.isArray(m.merges)) throw new TypeError(`${WHAT}: model.merges is missing or not an array`);
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) {
    throw new TypeError(`${WHAT}: BPE dropout ${m.dropout} is not supported (it makes encoding random)`);
  }
  for (const key of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    if (m[key] !== undefined && m[key] !== null && m[key] !== "") {
      throw new TypeError(`${WHAT}: BPE ${key} ${JSON.stringify(m[key])} is not supported by the byte-level model`);
    }
  }
  const vocab = new Map<string, number>();
  const seen = new Set<number>();
  for (const [token, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 2 ** 31) {
      throw new TypeError(`${WHAT}: model.vocab gives token ${JSON.stringify(token)} the id ${id}, not an integer ≥ 0`);
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

function checkAddedTokens(list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new TypeError(`${WHAT}: added_tokens is not an array`);
  return list.map((t: unknown, i: number): AddedToken => {
    if (!isObject(t) || typeof t.content !== "string" || !Number.isInteger(t.id) || (t.id as number) < 0) {
      throw new TypeError(`${WHAT}: added_tokens[${i}] needs a string "content" and an integer "id" ≥ 0`);
    }
    return {
      id: t.id as number,
      content: t.content,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === undefined ? t.special !== true : t.normalized === true,
      special: t.special === true,
    };
  });
}

/**
 * Checks a `tokenizer.json` object and extracts what the tokenizer runs on.
 *
 * @param json The parsed file.
 * @returns The checked settings.
 * @throws {TypeError} When a part is malformed or not supported; the message names it.
 */
export function checkTokenizerJson(json: unknown): Spec {
  if (!isObject(json)) throw new TypeError(`${WHAT}: expected a tokenizer.json object, got ${typeof json}`);
  for (const key of ["truncation", "padding"]) {
    if (json[key] !== undefined && json[key] !== null) throw new TypeError(`${WHAT}: ${key} is not supported`);
  }
  const model = checkModel(json.model);
  const nfc = checkNormalizer(json.normalizer);
  const pre = checkPreTokenizer(json.pre_tokenizer);
  checkOptional(json.post_processor, "post-processor", ["ByteLevel"]);
  checkOptional(json.decoder, "decoder", ["ByteLevel"]);
  return { nfc, ...pre, ...model, addedTokens: checkAddedTokens(json.added_tokens) };
}
