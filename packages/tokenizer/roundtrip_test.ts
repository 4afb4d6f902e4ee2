import assert from "node:assert/strict";
import { Tokenizer, type TokenizerJson, trainBpe } from "./mod.ts";
import { nfcAligned } from "./_normalize.ts";
import { checkSpans, hasPythia, mixedText, randomString, readPythia, rng } from "./_testdata.ts";

const trained = Tokenizer.fromJSON(
  trainBpe([mixedText(41, 60_000)], { vocabSize: 1200, specialTokens: ["<|endoftext|>", "<|padding|>"] }),
);
const pythia = hasPythia() ? Tokenizer.fromJSON(readPythia("tokenizer.json") as TokenizerJson) : null;

/** Seeded arbitrary strings: any code point (lone surrogates included), weighted toward tricky ones. */
function arbitraryStrings(seed: number, count: number): string[] {
  const random = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const pieces = [
    () => String.fromCodePoint(Math.floor(random() * 0x110000)).replace(/[\ud800-\udfff]/u, "x"),
    () => String.fromCharCode(0xd800 + Math.floor(random() * 0x800)), // a lone surrogate
    () => String.fromCodePoint(0x300 + Math.floor(random() * 0x70)), // a combining mark
    () => String.fromCodePoint(0x20 + Math.floor(random() * 0x5f)),
    () => String.fromCodePoint(0x1f300 + Math.floor(random() * 0x700)),
    () => pick(["\u200d", "\ufe0f", "\u0085", "\ufeff", "\r\n", "\t", "  ", "    ", " ".repeat(30), "'s", "'LL"]),
    () => pick(["<|endoftext|>", "<|padding|>", "<|endoftext", "e\u0301", "\u1100\u1161\u11a8", "\u095d", "ﬁ"]),
  ];
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let s = "";
    for (let k = Math.floor(random() * 40); k > 0; k--) s += pick(pieces)();
    out.push(s);
  }
  return out;
}

for (const [name, tok] of [["trained", trained], ["Pythia", pythia]] as const) {
  Deno.test({
    name: `${name}: decode(encode(s)) === s for well-formed NFC s; otherwise canonically equivalent`,
    ignore: tok === null,
    fn: () => {
      for (const s of arbitraryStrings(name.length, 1500)) {
        const t = s.toWellFormed().normalize("NFC");
        assert.equal(tok!.decode(tok!.encode(t)), t, JSON.stringify(t));
        // Any input: lone surrogates read as U+FFFD, and the text is NFC-normalised piecewise (between
        // special tokens), so the result is canonically equivalent to the well-formed input.
        const back = tok!.decode(tok!.encode(s));
        assert.equal(back.normalize("NFC"), t, JSON.stringify(s));
        const { ids, offsets } = tok!.encodeWithOffsets(s);
        assert.deepEqual(ids, tok!.encode(s));
        checkSpans(s, offsets);
      }
    },
  });
}

Deno.test("a leading U+FEFF survives the round trip; invalid UTF-8 input reads as U+FFFD", () => {
  assert.equal(trained.decode(trained.encode("\ufeffHi")), "\ufeffHi");
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0x20, 0xf0, 0x9f, 0x99]);
  assert.deepEqual(trained.encode(bytes), trained.encode("\ufeffa\ufffd\ufffd(\ufffd \ufffd"));
  assert.equal(trained.decode(trained.encode(bytes)), "\ufeffa\ufffd\ufffd(\ufffd \ufffd");
});

Deno.test("NFC alignment: every run of output units maps to input that normalises to exactly that run", () => {
  const random = rng(9);
  const alphabet = [
    "a",
    "e",
    "o",
    " ",
    "\u0301",
    "\u0308",
    "\u0323",
    "\u05bd",
    "\u0617",
    "\u095d",
    "\u1100",
    "\u1161",
    "\u11a8",
    "ﬁ",
    "\u212b",
    "Å",
    "가",
    "\u3099",
    "か",
    "🙂",
    "\u0344",
    "\u0f73",
  ];
  for (let n = 0; n < 2000; n++) {
    const input = randomString(random, { alphabet, length: 1 + Math.floor(random() * 16) });
    const { text, starts, ends } = nfcAligned(input);
    assert.equal(text, input.normalize("NFC"));
    let covered = 0;
    for (let j = 0; j < text.length;) {
      let k = j + 1;
      while (k < text.length && starts[k] === starts[j] && ends[k] === ends[j]) k++;
      assert.equal(starts[j], covered, `${JSON.stringify(input)}: unit ${j}`);
      assert.equal(input.slice(starts[j], ends[j]).normalize("NFC"), text.slice(j, k), JSON.stringify(input));
      covered = ends[j];
      j = k;
    }
    assert.equal(covered, input.length);
  }
  const decomposed = nfcAligned("Zoe\u0308 \u095d");
  assert.deepEqual([...decomposed.starts], [0, 1, 2, 4, 5, 5]);
  assert.deepEqual([...decomposed.ends], [1, 2, 4, 5, 6, 6]);
});
