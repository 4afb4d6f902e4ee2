import assert from "node:assert/strict";
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import { BYTE_TO_CHAR, preTokenize, Tokenizer, type TokenizerJson, trainBpe } from "./mod.ts";
import { mixedText, mobyDickText, sotuTexts } from "./_testdata.ts";

/**
 * BPE training the slow, obvious way: after every merge, count every adjacent pair in every
 * word again. Same rules as trainBpe: special tokens first, then the 256 bytes in the order of
 * their characters, then merged tokens; the most frequent pair wins, ties to the smaller ids.
 */
function naiveTrain(
  texts: string[],
  { vocabSize, specials, minFrequency }: { vocabSize: number; specials: string[]; minFrequency: number },
) {
  const counts = new Map<string, number>();
  for (const text of texts) {
    let pieces = [text];
    for (const s of specials) pieces = pieces.flatMap((p) => p.split(s));
    for (const piece of pieces) {
      for (const w of preTokenize(piece.normalize("NFC"))) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  const vocab = [...specials, ...[...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0))];
  const id = new Map(vocab.map((t, i) => [t, i]));
  const words = [...counts].map(([w, n]) => ({
    syms: [...new TextEncoder().encode(w)].map((b) => id.get(BYTE_TO_CHAR[b])!),
    n,
  }));
  const merges: string[] = [];
  while (vocab.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        pairs.set(`${syms[i]},${syms[i + 1]}`, (pairs.get(`${syms[i]},${syms[i + 1]}`) ?? 0) + n);
      }
    }
    let best: [number, number] | null = null, bestCount = 0;
    for (const [key, c] of pairs) {
      const [a, b] = key.split(",").map(Number);
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const [a, b] = best;
    const text = vocab[a] + vocab[b];
    if (!id.has(text)) id.set(text, vocab.push(text) - 1);
    const merged = id.get(text)!;
    merges.push(`${vocab[a]} ${vocab[b]}`);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) out.push(merged), i++;
        else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return { vocab: Object.fromEntries(vocab.map((t, i) => [t, i])), merges };
}

const SPECIALS = ["<|endoftext|>", "<|padding|>"];

Deno.test("trainBpe equals a trainer that recounts every pair after each merge", () => {
  const moby = mobyDickText().slice(0, 24_000);
  const texts = [moby.slice(0, 12_000) + "<|endoftext|>", moby.slice(12_000), "aaaa aaa aaaaaaa ééé 🙂🙂 \t\t\n"];
  for (const minFrequency of [1, 3]) {
    const json = trainBpe(texts, { vocabSize: 2 + 256 + 200, specialTokens: SPECIALS, minFrequency });
    const ref = naiveTrain(texts, { vocabSize: 2 + 256 + 200, specials: SPECIALS, minFrequency });
    assert.deepEqual(json.model.merges, ref.merges, `minFrequency ${minFrequency}`);
    assert.deepEqual(json.model.vocab, ref.vocab);
  }
});

Deno.test("trainBpe is deterministic and ignores the order of its texts", () => {
  const texts = sotuTexts([1990, 1994]);
  const a = trainBpe(texts, { vocabSize: 1500, specialTokens: SPECIALS });
  const b = trainBpe(texts, { vocabSize: 1500, specialTokens: SPECIALS });
  const c = trainBpe([...texts].reverse(), { vocabSize: 1500, specialTokens: SPECIALS });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.deepEqual(c, a);
});

Deno.test("trainBpe output: layout, special tokens, size, progress", () => {
  const progress: number[] = [];
  const json = trainBpe(sotuTexts([1990, 1991]), {
    vocabSize: 600,
    specialTokens: SPECIALS,
    onProgress: (done, total) => progress.push(done / total),
  });
  const vocab = json.model.vocab;
  assert.equal(Object.keys(vocab).length, 600);
  assert.equal(json.model.merges.length, 600 - 258);
  assert.equal(vocab["<|endoftext|>"], 0);
  assert.equal(vocab["<|padding|>"], 1);
  assert.equal(vocab["!"], 2); // the byte alphabet follows, in character order as in Pythia's file
  assert.equal(vocab["Ġ"], 2 + 256 - 68 + 32);
  assert.deepEqual(json.added_tokens!.map((t) => [t.id, t.content, t.special, t.normalized]), [
    [0, "<|endoftext|>", true, false],
    [1, "<|padding|>", true, false],
  ]);
  assert.equal(progress.length, 600 - 258);
  assert.equal(progress.at(-1), 1);
  const tok = Tokenizer.fromJSON(json);
  assert.equal(tok.vocabSize, 600);
  assert.deepEqual(tok.encode("<|endoftext|>the<|padding|>"), [0, ...tok.encode("the"), 1]);
  // Pairs run out (or fall below minFrequency, 2 by default): a smaller vocabulary.
  assert.deepEqual(trainBpe(["ab ab cd"], { vocabSize: 400 }).model.merges, ["a b"]);
  assert.deepEqual(trainBpe(["ab ab cd"], { vocabSize: 400, minFrequency: 1 }).model.merges, [
    "a b", // count 2
    "c d", // count 1 from here: ties go to the smaller left id ("c" before "Ġ"), then the smaller right id
    "Ġ ab",
    "Ġ cd",
  ]);
});

Deno.test("trainBpe refuses impossible settings", () => {
  assert.throws(
    () => trainBpe(["x"], { vocabSize: 257, specialTokens: SPECIALS }),
    (e) => e instanceof RangeError && /vocabSize 257 is below 258/.test(e.message),
  );
  assert.throws(() => trainBpe(["x"], { vocabSize: 300, minFrequency: 0 }), RangeError);
  assert.throws(() => trainBpe(["x"], { vocabSize: 300, specialTokens: ["a", "a"] }), TypeError);
});

Deno.test("a trained tokenizer encodes the same in our loader and in @huggingface/tokenizers, and round-trips", () => {
  const json: TokenizerJson = trainBpe(sotuTexts([1995, 2000]), { vocabSize: 3000, specialTokens: SPECIALS });
  const ours = Tokenizer.fromJSON(json);
  const peer = new PeerTokenizer(json, {});
  const texts = [mobyDickText().slice(0, 150_000), mixedText(31, 100_000), "<|endoftext|>Fellow citizens<|padding|>"];
  for (const text of texts) {
    const ids = ours.encode(text);
    assert.deepEqual(ids, peer.encode(text, { add_special_tokens: false }).ids);
    assert.equal(ours.decode(ids), text.normalize("NFC"));
  }
  const again = Tokenizer.fromJSON(JSON.parse(JSON.stringify(ours.toJSON())));
  assert.deepEqual(again.encode(texts[1]), ours.encode(texts[1]));
});
