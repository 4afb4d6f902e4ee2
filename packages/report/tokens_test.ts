import assert from "node:assert/strict";
import { Tokenizer } from "@saelab/tokenizer";
import { logitEffectsHtml, shadedTokensHtml } from "./mod.ts";

const tok = await Tokenizer.fromFile("../shared/reference/pythia-tokenizer/tokenizer.json");

Deno.test("fragments and logit tables show split characters as bytes and controls escaped, never U+FFFD", () => {
  // Tokens as the harvest stores them: Tokenizer.tokenText of each id of "日本語" and an emoji.
  const ids = [...tok.encode("日本語"), ...tok.encode(" 🎉")];
  const tokens = ids.map((i) => tok.tokenText(i));
  const frag = String(shadedTokensHtml({ tokens, acts: tokens.map(() => 1) }, { max: 1 }));
  assert.ok(frag.includes(">日本</span>"));
  assert.ok(frag.includes(">\\xE8\\xAA</span>") && frag.includes(">\\x9E</span>"), frag);
  assert.ok(frag.includes("> \\xF0\\x9F</span>"), frag);
  assert.ok(!frag.includes("\uFFFD"));
  const logits = String(logitEffectsHtml({
    positive: [{ token: tok.tokenText(19119), value: 1 }, { token: "\u0012", value: 0.5 }],
    negative: [{ token: " x\ty", value: -1 }],
  }));
  assert.ok(logits.includes(">\\xE8\\xAA</code>"), logits);
  assert.ok(logits.includes(">\\x12</code>") && !logits.includes(">\\u0012<"), logits);
  assert.ok(logits.includes("> x⇥y</code>"), logits);
});
