import assert from "node:assert/strict";
import { seededRandom } from "@saelab/core";
import { accuracy, bootstrapMean, pearson, rocAuc } from "@saelab/autointerp";

const random = seededRandom(12);

Deno.test("pearson equals the textbook cov/(sd·sd) and is invariant to positive affine maps", () => {
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + trial;
    const a = Array.from({ length: n }, () => random());
    const b = a.map((v) => v * 0.5 + random());
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
    const ma = mean(a), mb = mean(b);
    const cov = mean(a.map((v, i) => (v - ma) * (b[i] - mb)));
    const sd = (x: number[], m: number) => Math.sqrt(mean(x.map((v) => (v - m) ** 2)));
    const ref = cov / (sd(a, ma) * sd(b, mb));
    assert.ok(Math.abs(pearson(a, b) - ref) < 1e-12);
    assert.ok(Math.abs(pearson(a.map((v) => 3 * v + 7), b) - ref) < 1e-12);
    assert.ok(Math.abs(pearson(a.map((v) => -v), b) + ref) < 1e-12);
  }
  assert.equal(pearson([2, 2, 2], [1, 5, 3]), 0);
  assert.throws(() => pearson([1], [1, 2]), RangeError);
});

Deno.test("rocAuc equals the fraction of (positive, negative) pairs ordered correctly, ties halved", () => {
  for (let trial = 0; trial < 20; trial++) {
    const n = 12;
    const scores = Array.from({ length: n }, () => Math.round(random() * 4) / 4); // many ties
    const labels = scores.map((s) => random() < 0.3 + 0.4 * s);
    let pairs = 0, good = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (labels[i] && !labels[j]) {
          pairs++;
          good += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
      }
    }
    const auc = rocAuc(scores, labels);
    if (pairs === 0) assert.equal(auc, null);
    else assert.ok(Math.abs(auc! - good / pairs) < 1e-12, `trial ${trial}`);
  }
  assert.equal(accuracy([0.5, 0.49], [true, false]), 1);
});

Deno.test("bootstrap 95% intervals cover the true mean in about 95% of repeated experiments", () => {
  // Exponential(1) samples of size 60: the mean is 1; percentile intervals should cover it ~93–96% of the time
  let covered = 0;
  const trials = 300;
  for (let t = 0; t < trials; t++) {
    const xs = Array.from({ length: 60 }, () => -Math.log(1 - random()));
    const { mean, ci95 } = bootstrapMean(xs, { resamples: 1000, seed: t });
    assert.ok(ci95[0] <= mean && mean <= ci95[1]);
    if (ci95[0] <= 1 && 1 <= ci95[1]) covered++;
  }
  const rate = covered / trials;
  assert.ok(rate > 0.88 && rate < 0.99, `coverage ${rate}`);
  assert.deepEqual(bootstrapMean([]), { mean: 0, ci95: [0, 0], n: 0 });
  assert.deepEqual(bootstrapMean([0.3]).ci95, [0.3, 0.3]);
  const a = bootstrapMean([1, 2, 3, 9], { seed: 4 }), b = bootstrapMean([1, 2, 3, 9], { seed: 4 });
  assert.deepEqual(a, b);
});
