import assert from "node:assert/strict";
import { validate } from "@saelab/runs";
import {
  attachReferences,
  bootstrapMean,
  mergeScoreData,
  summarizeScores,
  TOKEN_LOOKUP_DESCRIPTION,
} from "@saelab/autointerp";
import { featureScore } from "@saelab/autointerp/testing";

Deno.test("summarizeScores averages scored features with bootstrap intervals and counts failures", () => {
  const scores = [0.1, 0.5, null, 0.3, 0.7].map((s, i) => featureScore(i, s));
  const s = summarizeScores(scores, { kind: "sae", method: "sae", backend: "token-lookup", eligible: 40, seed: 3 });
  assert.equal(s.n, 4);
  assert.equal(s.failed, 1);
  assert.ok(Math.abs(s.mean - 0.4) < 1e-12);
  assert.deepEqual(s.ci95, bootstrapMean([0.1, 0.5, 0.3, 0.7], { seed: 3 }).ci95);
  assert.ok(Math.abs(s.topOnly.mean - 0.5) < 1e-12 && Math.abs(s.randomOnly.mean - 0.3) < 1e-12);
  assert.ok(Math.abs(s.detection!.accuracy.mean - 0.7) < 1e-12);
  assert.equal(s.eligible, 40);
});

Deno.test("mergeScoreData keeps every backend, shows the newest per dictionary and leaves its input as it was", () => {
  const off = summarizeScores([featureScore(0, 0.2), featureScore(1, 0.4)], {
    kind: "baseline",
    method: "pca",
    backend: "token-lookup",
  });
  const sae = summarizeScores([featureScore(0, 0.6)], { kind: "sae", method: "sae", backend: "token-lookup" });
  const first = mergeScoreData(undefined, { pca: off, r1: sae });
  const copy = structuredClone(first);
  const file = mergeScoreData(first, { pca: { ...off, mean: 0.35, backend: "openai:m" } });
  assert.deepEqual(first, copy);
  assert.equal(file.dicts.pca.backend, "openai:m");
  assert.equal(file.dicts.r1.backend, "token-lookup");
  assert.deepEqual(Object.keys(file.backends!).sort(), ["openai:m", "token-lookup"]);
  assert.equal(file.backends!["token-lookup"].pca.mean, off.mean);
  assert.deepEqual(validate("scores", JSON.parse(JSON.stringify(file))), []);
});

Deno.test("attachReferences: random and neuron baselines as references, and a verdict per dictionary", () => {
  const entry = (method: string, ci95: [number, number], n = 30) => ({
    ...summarizeScores([], { kind: "baseline", method, backend: "token-lookup" }),
    mean: (ci95[0] + ci95[1]) / 2,
    ci95,
    n,
  });
  const input = {
    rand: entry("random", [0.40, 0.50]),
    neur: entry("neurons", [0.55, 0.65]),
    low: entry("pca", [0.20, 0.39]),
    same: entry("sae", [0.49, 0.70]),
    mid: entry("sae", [0.51, 0.60]),
    above: entry("sae", [0.51, 0.54]),
    top: entry("sae", [0.70, 0.80]),
    none: entry("sae", [0, 0], 0),
  };
  const out = attachReferences(input);
  assert.deepEqual(out.top.references, {
    random: { dict: "rand", mean: input.rand.mean, ci95: [0.40, 0.50], n: 30 },
    neurons: { dict: "neur", mean: input.neur.mean, ci95: [0.55, 0.65], n: 30 },
  });
  assert.deepEqual(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.verdict])), {
    rand: "the random-direction reference",
    neur: "better than random directions (the neuron reference)",
    low: "worse than random directions",
    same: "no better than random directions",
    mid: "better than random directions, no better than neurons",
    above: "better than random directions, worse than neurons",
    top: "better than random directions and than neurons",
    none: "not scored",
  });
  assert.equal(input.top.verdict, undefined, "the input is left as it was");
  const noRandom = attachReferences({ top: input.top, neur: input.neur });
  assert.equal(noRandom.top.verdict, "no random-direction reference to compare with");
  assert.equal(
    attachReferences(input, { random: "low" }).same.verdict,
    "better than random directions, no better than neurons",
  );
});

Deno.test("token-lookup scores say what they measure", () => {
  const s = summarizeScores([featureScore(0, 0.5)], { kind: "sae", method: "sae", backend: "token-lookup" });
  assert.equal(s.measures, TOKEN_LOOKUP_DESCRIPTION);
  assert.match(TOKEN_LOOKUP_DESCRIPTION, /not measure interpretability/);
});
