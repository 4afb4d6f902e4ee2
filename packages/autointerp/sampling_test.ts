import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import {
  type DictSamples,
  featureFiles,
  sampleDictionaries,
  samplesFromFiles,
  selectFeatures,
} from "@saelab/autointerp";
import { groupDictionaries } from "./_groups.ts";
import { assertStoredFeatures, featureScore } from "@saelab/autointerp/testing";
import { dyadicFixture } from "./_dyadic_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

// dyadic inputs, weights and biases: the GPU and the float64 CPU reference agree bit for bit
const { D, L, set, dict } = dyadicFixture({ seed: 9, perDoc: 70 }); // 8 fragments per document, 40 in all
const dicts = [dict("a", 10), dict("b", 7), dict("c", 9, 3)];
const options = { features: 5, top: 6, random: 4, negatives: 3, seed: 2, decode: (id: number) => `t${id}` };
const out = await sampleDictionaries(gpu, dicts, { set, ...options, blockValues: 700 }); // several blocks

Deno.test("summaries, chosen features and fragment activations match the CPU reference exactly", () => {
  dicts.forEach((d, g) => {
    const acts = d.encodeHost(set.x); // [fragments·L, F]
    const F = d.dDict;
    const max = new Float32Array(set.count * F),
      nnz = new Float32Array(set.count * F),
      sum = new Float32Array(set.count * F);
    for (let f = 0; f < set.count; f++) {
      for (let j = 0; j < F; j++) {
        let m = -Infinity, c = 0, s = 0;
        for (let t = 0; t < L; t++) {
          const v = acts[(f * L + t) * F + j];
          m = Math.max(m, v);
          c += v !== 0 ? 1 : 0;
          s += v;
        }
        max[f * F + j] = m;
        nnz[f * F + j] = c;
        sum[f * F + j] = s;
      }
    }
    const ref = selectFeatures({ fragments: set.count, features: F, length: L, max, nnz, sum }, d.name, options);
    const got = out[g];
    assert.equal(got.dict, d.name);
    assert.equal(got.tokens, set.count * L);
    assert.deepEqual(got.summaries, ref.summaries);
    assert.equal(got.eligible, ref.eligible);
    assert.deepEqual(got.samples.map((s) => s.index), ref.chosen.map((c) => c.index));
    got.samples.forEach((s, i) => {
      const c = ref.chosen[i];
      const expect = (f: number) => Array.from({ length: L }, (_, t) => acts[(f * L + t) * F + s.index]);
      assert.deepEqual(s.top.map((fr) => fr.acts), c.top.map(expect), `${d.name}/${s.index} top`);
      assert.deepEqual(s.random.map((fr) => fr.acts), c.random.map(expect), `${d.name}/${s.index} random`);
      assert.deepEqual(s.negatives.map((fr) => fr.acts), c.negatives.map(expect));
      assert.deepEqual(
        s.top[0].tokens,
        Array.from(set.token.subarray(c.top[0] * L, (c.top[0] + 1) * L), (t) => `t${t}`),
      );
      assert.equal(s.top[0].start, set.start[c.top[0]]);
      // histogram of the positive activations on [0, max]: all counted; bins within one boundary step
      const values = Array.from({ length: set.count * L }, (_, r) => acts[r * F + s.index]).filter((v) => v > 0);
      const counts = new Array(32).fill(0);
      for (const v of values) counts[Math.min(31, Math.floor((v / s.maxActivation) * 32))]++;
      assert.equal(s.histogram.counts.reduce((a, b) => a + b, 0), values.length);
      assert.ok(s.histogram.counts.reduce((a, b, k) => a + Math.abs(b - counts[k]), 0) <= 2, `${d.name} histogram`);
      assert.equal(s.histogram.zeros, set.count * L - values.length);
      assert.equal(s.histogram.edges.length, 33);
      // nearest features by decoder cosine
      const u = d.directions();
      const cos = Array.from({ length: F }, (_, i) => {
        let dot = 0;
        for (let t = 0; t < D; t++) dot += u[i * D + t] * u[s.index * D + t];
        return { index: i, cosine: dot };
      }).filter((c) => c.index !== s.index).sort((a, b) => b.cosine - a.cosine || a.index - b.index).slice(0, 5);
      assert.deepEqual(s.neighbours!.map((n) => n.index), cos.map((c) => c.index));
      s.neighbours!.forEach((n, k) => assert.ok(Math.abs(n.cosine - cos[k].cosine) < 1e-4));
    });
    // top-k: at most k features fire per token
    if (d.k) {
      for (let r = 0; r < set.count * L; r++) {
        assert.ok(acts.subarray(r * F, (r + 1) * F).filter((v) => v > 0).length <= d.k);
      }
    }
  });
});

Deno.test("feature files validate against the run format and read back for rescoring", () => {
  // what a file holds after a write and a read
  const onDisk = <T>(v: T): T => JSON.parse(JSON.stringify(v));
  const samples: DictSamples = out[0];
  const s0 = samples.samples[0];
  const score = featureScore(s0.index, 0.5, { dict: "a", explanation: "Fires on t1." });
  const files = onDisk(featureFiles(samples, { scores: [score], sampling: { seed: 2 } }));
  const detail = files.details.find((d) => d.index === s0.index)!;
  const stored = { ...files, detail, back: samplesFromFiles("a", files), score, sampling: { seed: 2 } };
  const back = assertStoredFeatures(samples, stored);
  // a second backend is added beside the first
  const again = featureFiles(back.samples, {
    scores: [{ ...score, backend: "openai:m", score: 0.9, explanation: "cats" }],
    sampling: back.sampling,
    previous: back.previous,
  }).details.find((d) => d.index === s0.index)!;
  assert.deepEqual(Object.keys(again.results!).sort(), ["openai:m", "token-lookup"]);
  assert.equal(again.score, 0.9);
  // a detail that lacks its fragments, or an index without settings, gives nothing to reuse
  assert.equal(samplesFromFiles("a", { ...files, details: files.details.slice(1) }), null);
  assert.equal(samplesFromFiles("a", { ...files, index: { ...files.index, sampling: undefined } }), null);
});

Deno.test("dictionaries are grouped by non-linearity up to a width; top-k ones alone", () => {
  const groups = groupDictionaries([dict("p", 10), dict("q", 7), dict("t", 9, 3), dict("r", 5), dict("s", 12)], 17);
  assert.deepEqual(groups.map((g) => g.dicts.map((d) => d.name)), [["p", "q"], ["t"], ["r", "s"]]);
  assert.deepEqual(groups[0].offsets, [0, 10]);
  assert.equal(groups[0].width, 17);
  assert.equal(groups[1].k, 3);
});
