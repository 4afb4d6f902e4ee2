import assert from "node:assert/strict";
import { toByteLevel, Tokenizer, type TokenizerJson, trainBpe } from "./mod.ts";
import { checkSpans, hasPythia, mixedText, PYTHIA_DIR, readPythia, rng } from "./_testdata.ts";

const present = hasPythia();
const json = present ? readPythia("tokenizer.json") as TokenizerJson : null;
const tok = json ? Tokenizer.fromJSON(json) : null;
const cases = present ? readPythia("cases.json") as Array<{ text: string; ids: number[] }> : [];
const pythia = (name: string, fn: (t: Tokenizer, j: TokenizerJson) => void | Promise<void>) =>
  Deno.test({ name: `Pythia: ${name}`, ignore: !present, fn: () => fn(tok!, json!) });

/** GPT-2's BPE as first published: repeatedly merge every occurrence of the lowest-ranked pair. */
function naiveBpe(
  word: string,
  { vocab, ranks }: { vocab: Record<string, number>; ranks: Map<string, number> },
): number[] {
  let parts = [...toByteLevel(word)];
  for (;;) {
    let best = Infinity, a = "", b = "";
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i] + " " + parts[i + 1]);
      if (r !== undefined && r < best) [best, a, b] = [r, parts[i], parts[i + 1]];
    }
    if (best === Infinity) return parts.map((p) => vocab[p]);
    const merged: string[] = [];
    for (let i = 0; i < parts.length;) {
      if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) merged.push(a + b), i += 2;
      else merged.push(parts[i++]);
    }
    parts = merged;
  }
}

pythia("every reference case encodes to the listed ids", (t) => {
  assert.ok(cases.length >= 20);
  for (const c of cases) assert.deepEqual(t.encode(c.text), c.ids, JSON.stringify(c.text));
});

pythia("decode inverts the reference cases; special tokens can be skipped", (t) => {
  for (const c of cases) assert.equal(t.decode(c.ids), c.text);
  assert.equal(t.decode([0, 12764]), "<|endoftext|>Hi");
  assert.equal(t.decode([0, 12764, 1], { skipSpecialTokens: true }), "Hi");
  assert.equal(t.decode([50276, 50254]), " ".repeat(26)); // added whitespace runs are not special
});

pythia("vocabulary size and token lookups", (t, j) => {
  assert.equal(t.vocabSize, 50277);
  assert.equal(t.idToToken(0), "<|endoftext|>");
  assert.equal(t.idToToken(1), "<|padding|>");
  assert.equal(t.idToToken(50276), "  ");
  assert.equal(t.idToToken(50254), " ".repeat(24));
  assert.equal(t.idToToken(12092), "Hello");
  assert.equal(t.idToToken(50277), undefined);
  assert.equal(t.tokenToId("Ġworld"), j.model.vocab["Ġworld"]);
  assert.equal(t.tokenToId("   "), 50275);
  assert.equal(t.tokenToId("not a token"), undefined);
  for (const id of [0, 2, 500, 50253, 50260]) assert.equal(t.tokenToId(t.idToToken(id)!), id);
});

pythia("whitespace runs: leftmost-longest added tokens before BPE", (t) => {
  assert.deepEqual(t.encode(" ".repeat(24)), [50254]);
  assert.deepEqual(t.encode(" ".repeat(25) + "x"), [50254, ...t.encode(" x")]);
  assert.deepEqual(t.encode(" ".repeat(50)), [50254, 50254, 50276]);
  assert.deepEqual(t.encode("a\t  b"), [...t.encode("a\t"), 50276, ...t.encode("b")]);
});

pythia("encodeWithOffsets: same ids, spans that tile the input and decode to it", (t) => {
  const texts = [...cases.map((c) => c.text), "e\u0301 Zoe\u0308!", "x<|endoftext|>  y", mixedText(11, 20_000)];
  for (const text of texts) {
    const { ids, offsets } = t.encodeWithOffsets(text);
    assert.deepEqual(ids, t.encode(text));
    assert.equal(offsets.length, ids.length);
    checkSpans(text, offsets);
    // Each run of tokens with overlapping spans decodes to the NFC of the text the run spans.
    for (let i = 0; i < ids.length;) {
      const [start] = offsets[i];
      let end = offsets[i][1], j = i + 1;
      while (j < ids.length && offsets[j][0] < end) end = Math.max(end, offsets[j++][1]);
      assert.equal(t.decode(ids.slice(i, j)), text.slice(start, end).normalize("NFC"), `tokens ${i}–${j - 1}`);
      i = j;
    }
  }
  const enc = t.encodeWithOffsets("héllo 🙂 e\u0301<|endoftext|>");
  assert.deepEqual(enc.offsets, [[0, 1], [1, 2], [2, 5], [5, 8], [8, 11], [11, 24]]); // " e\u0301" → "Ġé"
  const llama = t.encodeWithOffsets(" is 🦙.cpp"); // the emoji's four bytes are split over three tokens
  assert.deepEqual(llama.ids, [310, 22692, 101, 236, 15, 14161]);
  assert.deepEqual(llama.offsets, [[0, 3], [3, 6], [4, 6], [4, 6], [6, 7], [7, 10]]);
});

pythia("BPE by scan and by heap equal a naive BPE, on short and very long words", (t, j) => {
  const model = { vocab: j.model.vocab, ranks: new Map((j.model.merges as string[]).map((m, r) => [m, r])) };
  const random = rng(5);
  const letters = "aeiourstlnhkqzxéü";
  for (let n = 0; n < 60; n++) {
    const length = n < 30 ? 1 + Math.floor(random() * 20) : 49 + Math.floor(random() * 400);
    let word = "";
    for (let k = 0; k < length; k++) word += letters[Math.floor(random() * letters.length)];
    assert.deepEqual(t.encode(word), naiveBpe(word, model), word);
  }
  const dashes = "-".repeat(5000) + "=".repeat(3001);
  assert.deepEqual(t.encode(dashes), naiveBpe(dashes, model));
});

pythia("lone surrogates and invalid UTF-8 encode without throwing", (t) => {
  assert.deepEqual(t.encode("a\ud800b\udfff"), t.encode("a\ufffdb\ufffd"));
  const bad = new Uint8Array([0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0x20, 0xf0, 0x9f, 0x99]);
  assert.deepEqual(t.encode(bad), t.encode(new TextDecoder().decode(bad)));
  const { ids, offsets } = t.encodeWithOffsets("\udc00x");
  assert.deepEqual(ids, t.encode("\ufffdx"));
  checkSpans("\udc00x", offsets);
});

pythia("decode of part of a character gives U+FFFD; unknown ids are refused", (t) => {
  const ids = t.encode("🙂"); // split across tokens
  assert.ok(ids.length > 1);
  assert.equal(t.decode(ids.slice(0, 1)), "\ufffd");
  assert.throws(() => t.decode([50277]), (e) => e instanceof RangeError && /50277/.test(e.message));
  assert.throws(() => t.decode([1.5]), RangeError);
});

pythia("toJSON round-trips, in both merge spellings", (t, j) => {
  const text = mixedText(12, 20_000);
  const again = Tokenizer.fromJSON(t.toJSON());
  assert.deepEqual(again.encode(text), t.encode(text));
  assert.deepEqual(again.toJSON().model.merges.slice(0, 3), ["Ġ Ġ", "Ġ t", "Ġ a"]);
  const arrays = { ...j, model: { ...j.model, merges: (j.model.merges as string[]).map((m) => m.split(" ")) } };
  assert.deepEqual(Tokenizer.fromJSON(arrays as TokenizerJson).encode(text), t.encode(text));
});

Deno.test({
  name: "Pythia: fromFile reads tokenizer.json; a non-JSON file is refused",
  ignore: !present,
  fn: async () => {
    const t = await Tokenizer.fromFile(new URL("tokenizer.json", PYTHIA_DIR));
    assert.deepEqual(t.encode("Hello world"), [12092, 1533]);
    await assert.rejects(Tokenizer.fromFile(new URL("mod.ts", import.meta.url)), /not JSON/);
  },
});

Deno.test("fromFile names the file in every refusal, truncated JSON included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saelab-tok-" });
  const path = `${dir}/tokenizer.json`;
  const good = JSON.stringify(trainBpe(["a cat sat"], { vocabSize: 258 }));
  for (const text of [good.slice(0, good.length >> 1), good.replace('"merges":[', '"merges":[["zz","qq"],')]) {
    await Deno.writeTextFile(path, text);
    await assert.rejects(
      () => Tokenizer.fromFile(path),
      (e) => e instanceof TypeError && e.message.startsWith(`Cannot load tokenizer ${path}:`),
    );
  }
  await Deno.remove(dir, { recursive: true });
});
