import assert from "node:assert/strict";
import { preTokenize } from "./mod.ts";
import { mixedText, randomString, rng } from "./_testdata.ts";

// GPT-2's pattern run by the JavaScript regex engine, with `\s` spelled out as Oniguruma's Unicode
// whitespace (U+0009–U+000D, U+0085, Zs, Zl, Zp): an independent reference for the hand-written scanner.
const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GPT2 = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);
const reference = (s: string) => s.match(GPT2) ?? [];

Deno.test("preTokenize splits like GPT-2's pattern on hand-picked cases", () => {
  assert.deepEqual(preTokenize("Hello world's  end!"), ["Hello", " world", "'s", " ", " end", "!"]);
  assert.deepEqual(preTokenize("I'LL we're 'sup"), ["I", "'", "LL", " we", "'re", " '", "sup"]);
  assert.deepEqual(preTokenize("x  \n\n  y\t\tz   "), ["x", "  \n\n ", " y", "\t", "\t", "z", "   "]);
  assert.deepEqual(preTokenize("a1b 22 !?x"), ["a", "1", "b", " 22", " !?", "x"]);
  assert.deepEqual(preTokenize("東京 🙂🙂 e\u0301"), ["東京", " 🙂🙂", " e", "\u0301"]);
  assert.deepEqual(preTokenize("a\u0085b \u0085x"), ["a", "\u0085", "b", " ", "\u0085", "x"]);
  assert.deepEqual(preTokenize(""), []);
});

Deno.test("preTokenize options: addPrefixSpace and useRegex", () => {
  assert.deepEqual(preTokenize("Hi there", { addPrefixSpace: true }), [" Hi", " there"]);
  assert.deepEqual(preTokenize(" Hi", { addPrefixSpace: true }), [" Hi"]);
  assert.deepEqual(preTokenize("Hi there", { useRegex: false }), ["Hi there"]);
});

Deno.test("preTokenize equals the regex reference on seeded random text", () => {
  const random = rng(7);
  const alphabet = [
    ..."aZ09 '\t\n\r.,!_-sStTrRevlmd",
    "\u0085",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\ufeff",
    "é",
    "東",
    "🙂",
    "\u0301",
  ];
  for (let n = 0; n < 3000; n++) {
    const s = randomString(random, { alphabet, length: Math.floor(random() * 24) });
    assert.deepEqual(preTokenize(s), reference(s), JSON.stringify(s));
  }
  const mixed = mixedText(3, 200_000);
  const ours = preTokenize(mixed), ref = reference(mixed);
  assert.equal(ours.length, ref.length);
  assert.deepEqual(ours, ref);
});

Deno.test("preTokenize reads lone surrogates as U+FFFD", () => {
  assert.deepEqual(preTokenize("a\ud800b"), ["a", "\ufffd", "b"]);
});
