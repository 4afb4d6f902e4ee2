import assert from "node:assert/strict";
import { join } from "node:path";
import { validate } from "@saelab/runs";
import { bootstrapMean, type FeatureScore, mergeScores, summarizeScores } from "@saelab/autointerp";

const feature = (index: number, score: number | null, extra: Partial<FeatureScore> = {}): FeatureScore => ({
  dict: "d",
  index,
  backend: "token-lookup",
  explanation: "x",
  score,
  topScore: score === null ? null : score + 0.1,
  randomScore: score === null ? null : score - 0.1,
  detection: score === null ? null : { accuracy: 0.5 + score / 2, auc: 0.6, n: 20 },
  ...extra,
});

Deno.test("summarizeScores averages scored features with bootstrap intervals and counts failures", () => {
  const scores = [0.1, 0.5, null, 0.3, 0.7].map((s, i) => feature(i, s));
  const s = summarizeScores(scores, { kind: "sae", method: "sae", backend: "token-lookup", eligible: 40, seed: 3 });
  assert.equal(s.n, 4);
  assert.equal(s.failed, 1);
  assert.ok(Math.abs(s.mean - 0.4) < 1e-12);
  assert.deepEqual(s.ci95, bootstrapMean([0.1, 0.5, 0.3, 0.7], { seed: 3 }).ci95);
  assert.ok(Math.abs(s.topOnly.mean - 0.5) < 1e-12 && Math.abs(s.randomOnly.mean - 0.3) < 1e-12);
  assert.ok(Math.abs(s.detection!.accuracy.mean - 0.7) < 1e-12);
  assert.equal(s.eligible, 40);
});

Deno.test("mergeScores keeps every backend and shows the newest per dictionary; the file validates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scores-" });
  try {
    const off = summarizeScores([feature(0, 0.2), feature(1, 0.4)], {
      kind: "baseline",
      method: "pca",
      backend: "token-lookup",
    });
    const sae = summarizeScores([feature(0, 0.6)], { kind: "sae", method: "sae", backend: "token-lookup" });
    await mergeScores(dir, { pca: off, r1: sae });
    const llm = { ...off, mean: 0.35, backend: "openai:m" };
    const file = await mergeScores(dir, { pca: llm });
    assert.equal(file.dicts.pca.backend, "openai:m");
    assert.equal(file.dicts.r1.backend, "token-lookup");
    assert.deepEqual(Object.keys(file.backends!).sort(), ["openai:m", "token-lookup"]);
    assert.equal(file.backends!["token-lookup"].pca.mean, off.mean);
    const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "scores.json")));
    assert.deepEqual(validate("scores", onDisk), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
