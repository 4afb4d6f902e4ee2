import * as assert from "node:assert/strict";
import { Tokenizer, tokenText } from "@saelab/tokenizer";

const tok = await Tokenizer.fromFile("../shared/reference/pythia-tokenizer/tokenizer.json");

Deno.test("tokenText: Pythia tokens holding part of a character show the bytes they hold, whole ones their text", () => {
  // "日本語" splits as 日本 | E8 AA | 9E: the second and third tokens carry half of 語 each.
  assert.deepEqual(tok.encode("日本語"), [49868, 19119, 241]);
  assert.deepEqual([49868, 19119, 241].map((i) => tok.tokenText(i)), ["日本", "\\xE8\\xAA", "\\x9E"]);
  assert.equal(tok.decode([19119]), "\uFFFD", "decode alone cannot tell these bytes apart");
  // An emoji split after its first two bytes, behind a space.
  assert.equal(tok.tokenText(22692), " \\xF0\\x9F");
  // Complete multi-byte characters decode.
  assert.deepEqual(tok.encode(" —").map((i) => tok.tokenText(i)), [" —"]);
  assert.equal(tok.tokenText(tok.encode(" café")[0]), " café");
  // Control characters are kept by the tokenizer method and escaped by the display default.
  assert.equal(tok.tokenText(tok.encode("\n")[0]), "\n");
  assert.equal(tokenText(tok.tokenText(tok.encode("\n")[0])), "↵");
});

Deno.test("tokenText: invalid UTF-8 (overlong, surrogate, stray continuation, past U+10FFFF) is hex byte by byte", () => {
  assert.equal(tokenText(new Uint8Array([0xc0, 0xaf])), "\\xC0\\xAF");
  assert.equal(tokenText(new Uint8Array([0xed, 0xa0, 0x80])), "\\xED\\xA0\\x80");
  assert.equal(tokenText(new Uint8Array([0x80, 0x41])), "\\x80A");
  assert.equal(tokenText(new Uint8Array([0xf4, 0x90, 0x80, 0x80])), "\\xF4\\x90\\x80\\x80");
  assert.equal(tokenText(new Uint8Array([0xf0, 0x9f, 0x8e, 0x89])), "🎉");
  // A valid character after a broken one is still decoded.
  assert.equal(tokenText(new Uint8Array([0xe2, 0x80, 0xe2, 0x80, 0x94])), "\\xE2\\x80—");
});

Deno.test("tokenText: control characters are visibly escaped, other text untouched", () => {
  assert.equal(tokenText("a\tb\r\n"), "a⇥b\\r↵");
  assert.equal(tokenText("\u0012\u007f\u0085\u0000"), "\\x12\\x7F\\x85\\x00");
  assert.equal(tokenText(new Uint8Array([0x12])), "\\x12");
  assert.equal(tokenText("\u0012", { controls: "keep" }), "\u0012");
  assert.equal(tokenText(" naïve <b>"), " naïve <b>");
});
