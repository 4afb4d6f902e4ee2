import assert from "node:assert/strict";
import { hashUnit, seededRandom, shuffleInPlace, splitDocuments, splitOf } from "@saelab/corpus";

const ids = Array.from({ length: 10_000 }, (_, i) => ({ id: `src:doc-${i}` }));

Deno.test("splitOf is deterministic and depends on the seed", () => {
  const a = ids.map((d) => splitOf(d.id, { heldOutFraction: 0.2, seed: 3 }));
  const b = ids.map((d) => splitOf(d.id, { heldOutFraction: 0.2, seed: 3 }));
  const c = ids.map((d) => splitOf(d.id, { heldOutFraction: 0.2, seed: 4 }));
  assert.deepEqual(a, b);
  const differ = a.filter((s, i) => s !== c[i]).length;
  // independent splits disagree on about 2·0.2·0.8 = 32% of documents
  assert.ok(differ > 2800 && differ < 3600, `seeds 3 and 4 disagree on ${differ} of 10000`);
});

Deno.test("the held-out share matches the fraction", () => {
  for (const f of [0.05, 0.2, 0.5]) {
    const { heldOut } = splitDocuments(ids, { heldOutFraction: f, seed: 11 });
    const share = heldOut.length / ids.length;
    // binomial standard deviation ≤ 0.005; allow five of them
    assert.ok(Math.abs(share - f) < 0.025, `fraction ${f}: held out ${share}`);
  }
  assert.equal(splitDocuments(ids, { heldOutFraction: 0 }).heldOut.length, 0);
  assert.equal(splitDocuments(ids, { heldOutFraction: 1 }).train.length, 0);
});

Deno.test("adding or removing documents never moves another document", () => {
  const opts = { heldOutFraction: 0.3, seed: 5 };
  const subset = ids.filter((_, i) => i % 3 === 0);
  const small = splitDocuments(subset, opts);
  const big = splitDocuments(shuffleInPlace([...ids], seededRandom(2)), opts);
  const bigHeld = new Set(big.heldOut.map((d) => d.id));
  for (const d of small.heldOut) assert.ok(bigHeld.has(d.id), `${d.id} moved to train`);
  for (const d of small.train) assert.ok(!bigHeld.has(d.id), `${d.id} moved to held-out`);
});

Deno.test("splitDocuments keeps order and every document", () => {
  const { train, heldOut } = splitDocuments(ids.slice(0, 500), { heldOutFraction: 0.25 });
  assert.equal(train.length + heldOut.length, 500);
  const pos = (d: { id: string }) => Number(d.id.slice(8));
  for (const side of [train, heldOut]) {
    for (let i = 1; i < side.length; i++) assert.ok(pos(side[i - 1]) < pos(side[i]));
  }
});

Deno.test("hashUnit is uniform enough over ten bins", () => {
  const bins = new Array(10).fill(0);
  for (const d of ids) bins[Math.floor(hashUnit(d.id, 9) * 10)]++;
  // expected 1000 per bin, standard deviation 30
  for (const n of bins) assert.ok(n > 850 && n < 1150, `bins ${bins}`);
});

Deno.test("a bad fraction is a RangeError", () => {
  assert.throws(() => splitOf("a:b", { heldOutFraction: 1.5 }), RangeError);
  assert.throws(() => splitOf("a:b", { heldOutFraction: NaN }), /heldOutFraction NaN/);
});
