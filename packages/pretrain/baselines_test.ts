import assert from "node:assert/strict";
import { ngramBaselines, windowPairs } from "./baselines.ts";

Deno.test("ngramBaselines follows the add-one unigram and Witten–Bell bigram formulas", () => {
  // training pairs: a→b twice, a→c once, b→a once (ids a 0, b 1, c 2; V 4)
  const train = { previous: Int32Array.from([0, 0, 0, 1]), targets: Int32Array.from([1, 1, 2, 0]) };
  const held = { previous: Int32Array.from([0, 2]), targets: Int32Array.from([1, 3]) };
  const s = ngramBaselines(train, held, { vocabSize: 4 });
  const uni = (c: number) => (c + 1) / (4 + 4);
  // p(b|a): c(a,b) 2, c(a) 3, 2 distinct successors of a
  const pba = (2 + 2 * uni(2)) / (3 + 2);
  // c is never a context: fall back to the unigram p(3)
  assert.equal(s.count, 2);
  assert.ok(Math.abs(s.unigram - -(Math.log(uni(2)) + Math.log(uni(0))) / 2) < 1e-12);
  assert.ok(Math.abs(s.bigram - -(Math.log(pba) + Math.log(uni(0))) / 2) < 1e-12);
});

Deno.test("ngramBaselines probabilities sum to one over the vocabulary", () => {
  const train = windowPairs(Int32Array.from([0, 1, 2, 1, 2, 2, 0, 4, 1, 1]), 5);
  for (const prev of [0, 1, 3]) {
    let total = 0;
    for (let w = 0; w < 5; w++) {
      const s = ngramBaselines(train, { previous: Int32Array.of(prev), targets: Int32Array.of(w) }, { vocabSize: 5 });
      total += Math.exp(-s.bigram);
    }
    assert.ok(Math.abs(total - 1) < 1e-12, `context ${prev}: ${total}`);
  }
});

Deno.test("windowPairs and ngramBaselines reject bad input", () => {
  assert.throws(() => windowPairs(new Int32Array(5), 2), { name: "RangeError", message: /windows of 2/ });
  const p = { previous: Int32Array.of(0), targets: Int32Array.of(7) };
  assert.throws(() => ngramBaselines(p, p, { vocabSize: 4 }), { name: "RangeError", message: /id 7/ });
});
