import assert from "node:assert/strict";
import {
  type Document,
  type Encoding,
  loadDocuments,
  makeWindows,
  memorySource,
  splitOf,
  tokenizeDocuments,
} from "@saelab/corpus";

/** A word-level encoder: each run of spaces plus the following word is one token; ids from a vocabulary. */
function wordEncoder() {
  const vocab = new Map<string, number>();
  const encodeWithOffsets = (text: string): Encoding => {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const m of text.matchAll(/\s*\S+/g)) {
      if (!vocab.has(m[0])) vocab.set(m[0], vocab.size + 10);
      ids.push(vocab.get(m[0])!);
      offsets.push([m.index!, m.index! + m[0].length]);
    }
    return { ids, offsets };
  };
  return { vocab, encodeWithOffsets, encode: (t: string) => encodeWithOffsets(t).ids };
}

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");
const docs: Document[] = await loadDocuments([
  memorySource("m", { a: words(37, "a"), b: words(9, "b"), c: words(64, "c"), d: words(3, "d"), e: words(100, "e") }),
]);

for (const [stride, sep] of [[16, undefined], [5, 0], [16, 0], [20, undefined]] as const) {
  Deno.test(`every token is owned by one window at most once (stride ${stride}, separator ${sep})`, () => {
    const tok = tokenizeDocuments(docs, wordEncoder(), { separator: sep });
    const T = 16;
    const w = makeWindows(tok, { contextLength: T, stride });
    const owned = new Map<string, number>();
    for (let i = 0; i < w.count; i++) {
      const win = w.get(i);
      assert.equal(win.ids.length, T);
      assert.ok(win.start + T <= tok.documents[win.doc].tokens);
      for (let j = win.first; j < T; j++) {
        const key = `${win.doc}:${win.start + j}`;
        assert.ok(!owned.has(key), `${key} owned twice`);
        owned.set(key, i);
      }
    }
    for (const [di, d] of tok.documents.entries()) {
      for (let p = 0; p < d.tokens; p++) {
        const covered = owned.has(`${di}:${p}`);
        if (d.tokens < T) assert.ok(!covered, "a short document gives no window");
        else if (stride <= T) assert.ok(covered, `${d.id} position ${p} not covered`);
      }
    }
    assert.equal(w.ownedTokens, owned.size);
  });
}

Deno.test("window ids and positions map back to the right text", () => {
  const enc = wordEncoder();
  const tok = tokenizeDocuments(docs, enc, { separator: 1 });
  const w = makeWindows(tok, { contextLength: 8, stride: 6 });
  const wordOf = new Map([...enc.vocab].map(([s, id]) => [id, s]));
  for (let i = 0; i < w.count; i++) {
    const win = w.get(i);
    assert.equal(win.id, `${tok.documents[win.doc].id}@${win.start}`);
    for (let j = 0; j < 8; j++) {
      const pos = win.start + j;
      const [s, e] = tok.span(win.doc, pos);
      const text = tok.text(win.doc).slice(s, e);
      if (pos === 0) {
        assert.equal(win.ids[j], 1);
        assert.equal(text, "");
      } else {
        // position p ≥ 1 is word p−1 of the document (the separator takes position 0)
        assert.equal(text.trim(), `${tok.documents[win.doc].key}${pos - 1}`);
        assert.equal(wordOf.get(win.ids[j]), text);
      }
    }
  }
  const e = tok.indexOf("m:e");
  const ctx = tok.context(e, 11, { before: 2, after: 1 });
  assert.deepEqual(ctx, { before: " e8 e9", token: " e10", after: " e11" });
  assert.deepEqual(tok.context(e, 1, { before: 3, after: 0 }), { before: "", token: "e0", after: "" });
});

Deno.test("batch returns the windows' ids row by row", () => {
  const tok = tokenizeDocuments(docs, wordEncoder());
  const w = makeWindows(tok, { contextLength: 8 });
  const b = w.batch(2, 3); // [3, 8]
  assert.equal(b.length, 24);
  for (let r = 0; r < 3; r++) assert.deepEqual([...b.subarray(r * 8, r * 8 + 8)], [...w.get(2 + r).ids]);
  assert.equal(w.batch(w.count - 1, 5).length, 8);
  assert.throws(() => w.batch(w.count, 1), RangeError);
});

Deno.test("shuffle is a seeded permutation", () => {
  const w = makeWindows(tokenizeDocuments(docs, wordEncoder()), { contextLength: 4 });
  const ids = (x: typeof w) => Array.from({ length: x.count }, (_, i) => x.get(i).id);
  const a = ids(w.shuffle(7));
  assert.deepEqual(a, ids(w.shuffle(7)));
  assert.notDeepEqual(a, ids(w.shuffle(8)));
  assert.notDeepEqual(a, ids(w));
  assert.deepEqual([...a].sort(), ids(w).sort());
});

Deno.test("split by document keeps each document on one side", () => {
  const w = makeWindows(tokenizeDocuments(docs, wordEncoder()), { contextLength: 4 });
  const opts = { heldOutFraction: 0.5, seed: 2 };
  const { train, heldOut } = w.split(opts);
  assert.equal(train.count + heldOut.count, w.count);
  for (let i = 0; i < train.count; i++) assert.equal(splitOf(train.documents[train.doc[i]].id, opts), "train");
  for (let i = 0; i < heldOut.count; i++) assert.equal(splitOf(heldOut.documents[heldOut.doc[i]].id, opts), "heldout");
  assert.equal(w.take(3).count, 3);
});

Deno.test("tail handling and argument errors", () => {
  const tok = tokenizeDocuments(docs, { encode: (t) => wordEncoder().encode(t) });
  const shifted = makeWindows(tok, { contextLength: 16 });
  const dropped = makeWindows(tok, { contextLength: 16, tail: "drop" });
  // a: 37 → starts 0, 16 + tail 21; c: 64 → 0..48; e: 100 → 0..80 + tail 84
  assert.equal(shifted.count, 3 + 4 + 7);
  assert.equal(dropped.count, 2 + 4 + 6);
  assert.equal(shifted.get(2).first, 11);
  assert.throws(() => makeWindows(tok, { contextLength: 0 }), RangeError);
  assert.throws(() => makeWindows(tok, { contextLength: 4, stride: 1.5 }), /stride 1.5/);
  assert.throws(() => tok.span(0, 1), /without offsets/);
  assert.throws(() => tok.tokens(9), RangeError);
  assert.throws(() => tokenizeDocuments(docs, { encode: () => [] }, { offsets: true }), /no encodeWithOffsets/);
});
