import assert from "node:assert/strict";
import { type AddedToken, Tokenizer, type TokenizerJson, trainBpe } from "./mod.ts";
import { checkTokenizerJson } from "./config.ts";

const base = trainBpe(["my name is anthony, my name is ony; a cat sat on a mat"], { vocabSize: 280 });
/** `base` with some parts replaced. */
const variant = (patch: Record<string, unknown>, model: Record<string, unknown> = {}): TokenizerJson =>
  ({ ...structuredClone(base), ...patch, model: { ...structuredClone(base.model), ...model } }) as TokenizerJson;
const refused = (json: unknown, pattern: RegExp) =>
  assert.throws(
    () => Tokenizer.fromJSON(json as TokenizerJson),
    (e) => e instanceof TypeError && pattern.test(e.message),
  );

Deno.test("unsupported model types are refused by name", () => {
  refused(variant({}, { type: "Unigram" }), /model type "Unigram" is not supported/);
  refused(variant({}, { type: "WordPiece" }), /model type "WordPiece"/);
  refused(variant({}, { dropout: 0.1 }), /dropout 0\.1/);
  refused(variant({}, { continuing_subword_prefix: "##" }), /continuing_subword_prefix "##"/);
  refused(variant({}, { end_of_word_suffix: "</w>" }), /end_of_word_suffix/);
});

Deno.test("unsupported pre-tokenizers, normalisers, decoders and post-processors are refused by name", () => {
  refused(variant({ pre_tokenizer: { type: "Metaspace", replacement: "▁" } }), /pre-tokenizer "Metaspace"/);
  refused(variant({ pre_tokenizer: { type: "Whitespace" } }), /pre-tokenizer "Whitespace"/);
  refused(
    variant({ pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split" }, { type: "ByteLevel" }] } }),
    /pre-tokenizer "Sequence" of \["Split", "ByteLevel"\]/,
  );
  refused(variant({ pre_tokenizer: null }), /pre-tokenizer null/);
  refused(variant({ normalizer: { type: "Lowercase" } }), /normalizer "Lowercase" is not supported/);
  refused(variant({ normalizer: { type: "NFKC" } }), /normalizer "NFKC"/);
  refused(variant({ normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Strip" }] } }), /"Strip"/);
  refused(variant({ decoder: { type: "WordPiece" } }), /decoder "WordPiece"/);
  refused(variant({ post_processor: { type: "TemplateProcessing" } }), /post-processor "TemplateProcessing"/);
  refused(variant({ truncation: { max_length: 8 } }), /truncation/);
});

Deno.test("malformed files are refused with what is wrong", () => {
  refused(null, /expected a tokenizer.json object/);
  refused({ model: null }, /"model" is missing/);
  refused(variant({}, { vocab: undefined }), /model.vocab/);
  refused(variant({}, { merges: ["a b c"] }), /merge 0 is "a b c"/);
  refused(variant({}, { merges: ["a zz"] }), /merge 0 \("a zz"\) uses a token missing/);
  refused(variant({}, { merges: ["a b"] }), /makes "ab", missing from the vocab/);
  refused(variant({}, { vocab: { ...base.model.vocab, weird: -1 } }), /"weird" the id -1/);
  refused(variant({}, { vocab: { ...base.model.vocab, again: 0 } }), /id 0 to two tokens/);
  refused(variant({ added_tokens: [{ content: 5 }] }), /added_tokens\[0\]/);
  refused(variant({}, { unk_token: "<unk>" }), /unk_token "<unk>"/);
});

Deno.test("accepted variants: Sequence wrappers, a model without a type, add_prefix_space, use_regex", () => {
  const text = "my name is ony";
  const plain = Tokenizer.fromJSON(base).encode(text);
  const seq = variant({
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "ByteLevel", add_prefix_space: false }] },
  });
  assert.deepEqual(Tokenizer.fromJSON(seq).encode(text), plain);
  const { type: _, ...untyped } = base.model;
  assert.deepEqual(Tokenizer.fromJSON({ ...base, model: untyped }).encode(text), plain);
  const prefixed = Tokenizer.fromJSON(variant({ pre_tokenizer: { type: "ByteLevel", add_prefix_space: true } }));
  assert.deepEqual(prefixed.encode(text), Tokenizer.fromJSON(base).encode(" " + text));
  const my = prefixed.encodeWithOffsets("my"); // "Ġ" "my": the added space spans nothing
  assert.deepEqual(my.ids.map((id) => prefixed.idToToken(id)), ["Ġ", "my"]);
  assert.deepEqual(my.offsets, [[0, 0], [0, 2]]);
  const whole = Tokenizer.fromJSON(
    variant({ pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: false } }),
  );
  const ids = whole.encode("a cat sat");
  assert.equal(whole.decode(ids), "a cat sat");
  assert.ok(ids.length < Tokenizer.fromJSON(base).encode("a cat sat").length + 1);
});

/** `base` with added tokens appended after its vocabulary. */
function withAdded(tokens: Array<Partial<AddedToken> & { content: string }>): Tokenizer {
  const size = Object.keys(base.model.vocab).length;
  const added = tokens.map((t, i): AddedToken => ({
    id: size + i,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: false,
    ...t,
  }));
  return Tokenizer.fromJSON(variant({ added_tokens: added }));
}

/** The added tokens found in `text`, as [content, matched text]. */
function found(tok: Tokenizer, text: string): Array<[string, string]> {
  const { ids, offsets } = tok.encodeWithOffsets(text);
  const vocab = Object.keys(base.model.vocab).length;
  return ids.flatMap((id, i) =>
    id >= vocab ? [[tok.idToToken(id)!, text.slice(...offsets[i])] as [string, string]] : []
  );
}

Deno.test("added tokens: lstrip and rstrip take the whitespace beside them; single_word needs word edges", () => {
  const tok = withAdded([
    { content: "[CLS]", special: true },
    { content: "my", lstrip: true, rstrip: true },
    { content: "name" },
    { content: "ony", single_word: true },
    { content: "[SEP]", special: true },
  ]);
  assert.deepEqual(found(tok, "[CLS] my name is anthony [SEP]"), [
    ["[CLS]", "[CLS]"],
    ["my", " my "],
    ["name", "name"],
    ["[SEP]", "[SEP]"],
  ]);
  assert.deepEqual(found(tok, "ony, ony- ◌̰ony x_ony"), [["ony", "ony"], ["ony", "ony"]]);
  const mask = withAdded([{ content: "<mask>", single_word: true }]);
  assert.deepEqual(found(mask, "<mask> My name <mask> A<mask> <mask>ony <mask>").length, 3);
  const tok2 = withAdded([{ content: "[CLS]", special: true }]);
  assert.equal(tok2.decode(tok2.encode("[CLS] my"), { skipSpecialTokens: true }), " my");
});

Deno.test("added tokens: normalized ones match the NFC text, raw ones the input; longest match wins", () => {
  const tok = withAdded([{ content: "é", normalized: true }, { content: "o\u0308", normalized: false }]);
  assert.deepEqual(found(tok, "e\u0301 é o\u0308 ö"), [["é", "e\u0301"], ["é", "é"], ["o\u0308", "o\u0308"]]);
  const longest = withAdded([{ content: "ab" }, { content: "abc" }, { content: "bcd" }]);
  assert.deepEqual(found(longest, "abcd ab bcd"), [["abc", "abc"], ["ab", "ab"], ["bcd", "bcd"]]);
});

/** A hand-made byte-level BPE over the bytes of "a", "b", "c" and " " only. */
function tiny(model: Record<string, unknown>): Tokenizer {
  return Tokenizer.fromJSON({
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
    decoder: { type: "ByteLevel" },
    model: {
      type: "BPE",
      vocab: { "<unk>": 0, "a": 1, "b": 2, "c": 3, "Ġ": 4, "ab": 5, "abc": 6, "Ġab": 7 },
      merges: ["a b", "Ġ ab"],
      ...model,
    },
  });
}

Deno.test("bytes missing from the vocabulary: unk_token (fused or not), or dropped as Hugging Face does", () => {
  assert.deepEqual(tiny({ unk_token: "<unk>" }).encode("ab é"), [5, 4, 0, 0]);
  assert.deepEqual(tiny({ unk_token: "<unk>", fuse_unk: true }).encode("ab é"), [5, 4, 0]);
  const dropped = tiny({});
  assert.deepEqual(dropped.encode("ab éab"), [5, 7]); // "Ġ" and "ab" merge across the dropped bytes
  assert.deepEqual(dropped.encodeWithOffsets("ab éab").offsets, [[0, 2], [2, 6]]);
  assert.deepEqual(dropped.encode("é"), []);
});

Deno.test("ignore_merges looks whole pre-tokens up first", () => {
  assert.deepEqual(tiny({}).encode("abc"), [5, 3]);
  assert.deepEqual(tiny({ ignore_merges: true }).encode("abc"), [6]);
  assert.deepEqual(tiny({ ignore_merges: true }).encode("abcc"), [5, 3, 3]);
});

Deno.test("ids are bounded and unique, added tokens agree with the vocab, flags are booleans, the file is named", () => {
  const base = trainBpe(["a cat sat on a mat"], { vocabSize: 262 });
  const v = base.model.vocab;
  const firstToken = Object.keys(v).find((t) => v[t] === 0)!;
  const top = Math.max(...Object.values(v));
  const withAdded = (added: unknown[]) => ({ ...base, added_tokens: added });
  const tok = (id: unknown, content = "<x>", more: Record<string, unknown> = {}) => ({ id, content, ...more });
  const cases: [unknown, RegExp][] = [
    [withAdded([tok(1e300)]), /added_tokens\[0\] has id 1e\+300, not below 16777216/],
    [withAdded([tok(2 ** 24)]), /added_tokens\[0\] has id 16777216/],
    [withAdded([tok(top + 1), tok(top + 1, "<y>")]), /added_tokens\[1\] reuses id \d+ of an earlier added token/],
    [withAdded([tok(top + 1), tok(top + 2)]), /added_tokens\[1\] repeats the content "<x>"/],
    [withAdded([tok(0, "<x>")]), new RegExp(`gives id 0 to "<x>", but model.vocab gives it to`)],
    [
      withAdded([tok(top + 1, "<x>", { special: "false" })]),
      /added_tokens\[0\]\.special must be true or false, got "false"/,
    ],
    [withAdded([tok(top + 1, "<x>", { lstrip: 1 })]), /added_tokens\[0\]\.lstrip must be true or false/],
    [withAdded([tok(-1)]), /added_tokens\[0\] needs/],
    [withAdded([tok("3")]), /added_tokens\[0\] needs/],
    [
      { ...base, pre_tokenizer: { type: "ByteLevel", add_prefix_space: "false" } },
      /pre_tokenizer\.add_prefix_space must be/,
    ],
    [{ ...base, model: { ...base.model, ignore_merges: "true" } }, /model\.ignore_merges must be true or false/],
    [
      { ...base, model: { ...base.model, vocab: { ...v, big: 2 ** 31 } } },
      /"big" the id 2147483648, not an integer ≥ 0 and below/,
    ],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => checkTokenizerJson(json, { file: "m/tokenizer.json" }), (e) => {
      return e instanceof TypeError && e.message.startsWith("Cannot load tokenizer m/tokenizer.json: ") &&
        message.test(e.message);
    }, message.source);
  }
  // An added token that repeats its own vocab entry is fine (Pythia's <|endoftext|> has id 0 in both).
  const same = checkTokenizerJson(withAdded([tok(0, firstToken, { special: true })]));
  assert.equal(same.addedTokens[0].id, 0);
});
