import assert from "node:assert/strict";
import { join } from "node:path";
import type { DictSamples, FeatureSample } from "@saelab/autointerp";
import { readFeatureFiles, writeFeatureFiles } from "./_features_io.ts";
import { assertStoredFeatures, featureScore } from "@saelab/autointerp/testing";
import { withTempDir } from "@saelab/runs/testing";

const fragment = (k: number) => ({
  tokens: ["t0", "t1", "t2", "t3"],
  acts: [0, 1.23456789 * k, 0, 0.1 / k],
  doc: `d${k}`,
  start: 4 * k,
});
const sample = (index: number): FeatureSample => ({
  dict: "a",
  index,
  density: 0.123456789,
  maxActivation: 1.23456789 * 3,
  meanActivation: 0.5,
  top: [fragment(3), fragment(2), fragment(1)],
  random: [fragment(1)],
  negatives: [{ ...fragment(5), acts: [0, 0, 0, 0] }],
  histogram: { edges: [0, 1.23456789, 2.4691358], counts: [3, 1], zeros: 8 },
});
const samples: DictSamples = {
  dict: "a",
  method: "sae",
  kind: "sae",
  tokens: 40,
  summaries: Array.from({ length: 10 }, (_, index) => ({
    index,
    density: 0.01 * index,
    maxActivation: 1.23456789 * index,
    meanActivation: 0.3,
  })),
  eligible: 8,
  samples: [sample(4), sample(7)],
};

Deno.test("feature files validate against the run format and read back for rescoring", async () => {
  await withTempDir(async (dir) => {
    const s0 = samples.samples[0];
    const score = featureScore(s0.index, 0.5, { dict: "a", explanation: "Fires on t1." });
    await writeFeatureFiles(dir, samples, { scores: [score], sampling: { seed: 2 } });
    const read = (name: string) => Deno.readTextFile(join(dir, "a", name)).then(JSON.parse);
    const stored = {
      index: await read("index.json"),
      stats: await read("stats.json"),
      detail: await read(`${s0.index}.json`),
      back: await readFeatureFiles(dir, "a"),
      score,
      sampling: { seed: 2 },
    };
    const back = assertStoredFeatures(samples, stored);
    assert.deepEqual(back.samples.samples[0].negatives[0].acts, [0, 0, 0, 0]);
    // a second backend is added beside the first
    await writeFeatureFiles(dir, back.samples, {
      scores: [{ ...score, backend: "openai:m", score: 0.9, explanation: "cats" }],
      sampling: back.sampling,
      previous: back.previous,
    });
    const again = JSON.parse(await Deno.readTextFile(join(dir, "a", `${s0.index}.json`)));
    assert.deepEqual(Object.keys(again.results).sort(), ["openai:m", "token-lookup"]);
    assert.equal(again.score, 0.9);
    assert.equal(await readFeatureFiles(dir, "missing"), null);
    // a missing detail or statistics file leaves nothing to reuse
    await Deno.remove(join(dir, "a", "stats.json"));
    assert.equal(await readFeatureFiles(dir, "a"), null);
  });
});

Deno.test("feature files written under the old backend name read back under token-lookup", async () => {
  await withTempDir(async (dir) => {
    const one = { ...samples, samples: [samples.samples[0]] };
    const index = one.samples[0].index;
    const result = { explanation: "x", score: 0.25, topScore: null, randomScore: null, detection: null };
    const previous = new Map([[index, { offline: result, "openai:m": { ...result, score: 0.5 } }]]);
    await writeFeatureFiles(dir, one, { sampling: { seed: 0 }, previous });
    const back = await readFeatureFiles(dir, "a");
    assert.deepEqual(Object.keys(back!.previous.get(index)!), ["token-lookup", "openai:m"]);
    assert.equal(back!.previous.get(index)!["token-lookup"].score, 0.25);
  });
});
