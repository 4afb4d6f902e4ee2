import assert from "node:assert/strict";
import { seededRandom, shuffleInPlace } from "@saelab/core";
import { buildFragments } from "@saelab/autointerp";

/** Rows of three documents (lengths 10, 7, 9) in a shuffled order; x encodes (doc, pos). */
function rows() {
  const ids: [number, number][] = [];
  [10, 7, 9].forEach((len, doc) => {
    for (let p = 0; p < len; p++) if (!(doc === 2 && p === 4)) ids.push([doc, p]); // a gap in document 2
  });
  shuffleInPlace(ids, seededRandom(3));
  const n = ids.length, d = 2;
  return {
    rows: n,
    d,
    x: Float32Array.from(ids.flatMap(([doc, p]) => [doc, p])),
    doc: Int32Array.from(ids.map(([doc]) => doc)),
    pos: Int32Array.from(ids.map(([, p]) => p)),
    token: Int32Array.from(ids.map(([doc, p]) => 100 * doc + p)),
  };
}

Deno.test("fragments are runs of consecutive positions within a document, tails dropped", () => {
  const set = buildFragments(rows(), { length: 4 });
  // doc 0: 0-3, 4-7 ; doc 1: 0-3 ; doc 2: 0-3 (pos 4 missing), 5-8
  assert.deepEqual([...set.doc], [0, 0, 1, 2, 2]);
  assert.deepEqual([...set.start], [0, 4, 0, 0, 5]);
  for (let f = 0; f < set.count; f++) {
    for (let t = 0; t < 4; t++) {
      const r = f * 4 + t;
      assert.equal(set.token[r], 100 * set.doc[f] + set.start[f] + t);
      assert.deepEqual([set.x[2 * r], set.x[2 * r + 1]], [set.doc[f], set.start[f] + t]);
    }
  }
});

Deno.test("maxFragments keeps a seeded subset in document order", () => {
  const a = buildFragments(rows(), { length: 4, maxFragments: 3, seed: 1 });
  const b = buildFragments(rows(), { length: 4, maxFragments: 3, seed: 1 });
  assert.equal(a.count, 3);
  assert.deepEqual(a.start, b.start);
  assert.deepEqual(a.doc, b.doc);
  const keys = [...a.doc].map((d, i) => d * 100 + a.start[i]);
  assert.deepEqual(keys, [...keys].sort((x, y) => x - y));
  assert.equal(buildFragments(rows(), { length: 11 }).count, 0);
  assert.throws(() => buildFragments(rows(), { length: 0 }), RangeError);
});
