import assert from "node:assert/strict";
import { Tokenizer } from "@saelab/tokenizer";
import {
  loadDocuments,
  makeWindows,
  mobyDickSource,
  sotuSource,
  splitDocuments,
  tokenizeDocuments,
} from "@saelab/corpus";

const path = new URL("../../../shared/reference/pythia-tokenizer/tokenizer.json", import.meta.url);
const exists = await Deno.stat(path).then(() => true, () => false);
if (!exists) console.warn(`skipping the Pythia tokenizer tests: ${path.pathname} is absent`);

Deno.test({
  name: "windows over Moby-Dick with the Pythia tokenizer map every owned token back to its text",
  ignore: !exists,
  fn: async () => {
    const tok = await Tokenizer.fromFile(path);
    const docs = (await loadDocuments([mobyDickSource({ chaptersOnly: true })])).slice(0, 6);
    const corpus = tokenizeDocuments(docs, tok, { separator: 0 });
    const windows = makeWindows(corpus, { contextLength: 64, stride: 48 }).shuffle(1);
    let checked = 0;
    for (let i = 0; i < windows.count; i++) {
      const w = windows.get(i);
      for (let j = w.first; j < 64; j++) {
        const pos = w.start + j;
        const [s, e] = corpus.span(w.doc, pos);
        const decoded = tok.decode([w.ids[j]]);
        if (pos === 0) {
          assert.equal(w.ids[j], 0);
          assert.equal(e - s, 0);
        } else if (!decoded.includes("\ufffd")) {
          // tokens that are whole characters decode to exactly their span (NFC leaves this English text unchanged)
          assert.equal(corpus.text(w.doc).slice(s, e), decoded, `${w.id} position ${pos}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 0.95 * windows.ownedTokens, `${checked} of ${windows.ownedTokens} tokens checked`);
    const ch1 = corpus.indexOf("moby-dick:chapter-1");
    const ctx = corpus.context(ch1, 3, { before: 2, after: 2 }); // "Call", " me", " Ish", "ma", "el"
    assert.equal(ctx.before + ctx.token + ctx.after, "Call me Ishmael");
  },
});

Deno.test({
  name: "the whole default corpus tokenises into compact windows",
  ignore: !exists,
  fn: async () => {
    const tok = await Tokenizer.fromFile(path);
    const docs = await loadDocuments([sotuSource(), mobyDickSource()]);
    const { train, heldOut } = splitDocuments(docs, { heldOutFraction: 0.1, seed: 0 });
    assert.equal(train.length + heldOut.length, 233 + 139);
    const corpus = tokenizeDocuments(docs, tok);
    const windows = makeWindows(corpus, { contextLength: 128 });
    // about 4 characters per token for English prose
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    assert.ok(corpus.tokenCount > chars / 6 && corpus.tokenCount < chars / 3, `${corpus.tokenCount} tokens`);
    assert.ok(windows.ownedTokens > 0.99 * corpus.tokenCount);
  },
});
