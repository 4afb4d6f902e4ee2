import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { atlasDictionaries, chooseAtlas, logitEffects, topTokens } from "@saelab/autointerp";
import { centreOnPeak, validate } from "@saelab/runs";
import { dyadicFixture } from "./_dyadic_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

// dyadic inputs, weights and biases: the GPU and the float64 CPU reference agree bit for bit
const { D, L, set, dyadic, dict } = dyadicFixture({ seed: 17, perDoc: 72 }); // 9 fragments per document, 45 in all
const dicts = [dict("a", 11), dict("b", 6), dict("c", 9, 3)];
// a dyadic read-out (γ powers of two): the logit effects are exact in float32 too
const VOCAB = 40;
const unembed = {
  vocab: VOCAB,
  d: D,
  weight: dyadic(VOCAB * D, 1 / 4),
  gamma: Float32Array.from([1, 2, 0.5, 1, 4, 0.25]),
};
const counts = { top: 4, intervals: 4, perInterval: 2, seed: 3 };
const window = { before: 2, after: 3 };
// small blocks and slices: several blocks of fragments and several slices of features per group
const out = await atlasDictionaries(gpu, dicts, {
  set,
  ...counts,
  window,
  decode: (id) => `t${id}`,
  blockValues: 4 * 10 * L * 3,
  unembed,
});

Deno.test("every feature's atlas entry matches a float64 CPU reference", () => {
  dicts.forEach((d, g) => {
    const acts = d.encodeHost(set.x); // [fragments·L, F]
    const F = d.dDict;
    const act = (f: number, t: number, j: number) => acts[(f * L + t) * F + j];
    const got = out[g];
    assert.equal(got.dict, d.name);
    assert.equal(got.entries.length, F, "one entry per feature");
    const max = new Float32Array(set.count * F), nnz = new Float32Array(set.count * F);
    const sum = new Float32Array(set.count * F);
    for (let f = 0; f < set.count; f++) {
      for (let j = 0; j < F; j++) {
        let m = -Infinity, c = 0, s = 0;
        for (let t = 0; t < L; t++) {
          const v = act(f, t, j);
          m = Math.max(m, v);
          c += v !== 0 ? 1 : 0;
          s += v;
        }
        [max[f * F + j], nnz[f * F + j], sum[f * F + j]] = [m, c, s];
      }
    }
    const choices = chooseAtlas({ fragments: set.count, features: F, length: L, max, nnz, sum }, d.name, counts);
    got.entries.forEach((e, j) => {
      assert.equal(e.index, j);
      const all = Array.from({ length: set.count * L }, (_, r) => acts[r * F + j]);
      const firing = all.filter((v) => v !== 0);
      assert.equal(e.density, firing.length / all.length, `${d.name}/${j} density`);
      assert.equal(e.maxActivation, Math.max(0, ...all.filter((v) => v !== 0)) || e.maxActivation);
      if (firing.length) {
        const mean = firing.reduce((a, b) => a + b, 0) / firing.length;
        assert.ok(Math.abs(e.meanActivation - mean) < 1e-6, `${d.name}/${j} mean`);
      }
      // histogram of positive activations: all counted, bins within one boundary step
      const positive = all.filter((v) => v > 0);
      const ref = new Array(32).fill(0);
      for (const v of positive) ref[Math.min(31, Math.floor((v / e.maxActivation) * 32))]++;
      assert.equal(e.histogram.counts.reduce((a, b) => a + b, 0), positive.length);
      assert.ok(e.histogram.counts.reduce((a, b, k) => a + Math.abs(b - ref[k]), 0) <= 2, `${d.name}/${j} hist`);
      // top fragments: the reference's, cut around the true peak, with the true activations
      const c = choices[j];
      assert.equal(e.fragments, c.firing);
      assert.equal(e.top.length, c.top.length);
      e.top.forEach((fr, r) => {
        const f = c.top[r];
        const full = Array.from({ length: L }, (_, t) => act(f, t, j));
        let peak = 0;
        full.forEach((v, t) => (v > full[peak] ? (peak = t) : 0));
        const from = Math.max(0, peak - window.before);
        assert.equal(fr.start, set.start[f] + from);
        assert.equal(fr.peak, peak - from);
        assert.deepEqual(fr.acts, full.slice(from, Math.min(L, peak + window.after + 1)));
        assert.deepEqual(
          fr.tokens,
          Array.from(set.token.subarray(f * L + from, f * L + from + fr.acts.length), (t) => `t${t}`),
        );
        assert.equal(fr.acts[fr.peak!], max[f * F + j], "the peak is the fragment's maximum");
      });
      // intervals: highest first, each example's peak inside its interval, shares from the histogram
      assert.equal(e.intervals.length, 4);
      e.intervals.forEach((q, k) => {
        assert.deepEqual(q.fragments.length, c.intervals[k].fragments.length);
        assert.ok(Math.abs(q.high - (e.maxActivation * (4 - k)) / 4) < 1e-6);
        for (const fr of q.fragments) {
          const p = fr.acts[fr.peak!];
          assert.ok(p > 0 && p >= q.low - 1e-6 && p <= q.high + 1e-6, `${d.name}/${j} interval ${k} peak ${p}`);
        }
        const band = e.histogram.counts.slice((3 - k) * 8, (4 - k) * 8).reduce((a, b) => a + b, 0);
        assert.equal(q.share, positive.length ? band / positive.length : 0);
      });
      const shown = new Set([...c.top, ...c.intervals.flatMap((q) => q.fragments)]);
      assert.equal(shown.size, c.top.length + c.intervals.reduce((a, q) => a + q.fragments.length, 0), "no repeats");
      // top tokens: the best reach the maximum, and the top fragment's peak token is one of them (ties are common)
      if (e.top.length && e.top[0].acts[e.top[0].peak!] > 0) {
        assert.equal(e.topTokens[0].max, e.maxActivation);
        const best = e.topTokens.filter((t) => t.max === e.maxActivation).map((t) => t.token);
        assert.ok(best.includes(e.top[0].tokens[e.top[0].peak!]) || best.length === e.topTokens.length);
      }
    });
    const shard = { dict: d.name, first: 0, features: JSON.parse(JSON.stringify(got.entries)) };
    assert.deepEqual(validate("atlasShard", shard), []);
  });
});

Deno.test("with the model's read-out every feature's atlas entry has the CPU logitEffects' lists", () => {
  dicts.forEach((d, g) => {
    for (const e of out[g].entries) {
      const row = d.decoder.subarray(e.index * D, (e.index + 1) * D);
      const ref = logitEffects(row, unembed, { decode: (id) => `t${id}`, k: 10 });
      assert.ok(e.logits, `${d.name} #${e.index} has logit effects`);
      // exact values on both sides, so the lists (ties to the lower id) agree exactly
      assert.deepEqual([e.logits.positive, e.logits.negative], [ref.positive, ref.negative], `${d.name} #${e.index}`);
      assert.deepEqual(e.logits.histogram!.edges, ref.histogram!.edges);
      assert.equal(e.logits.histogram!.counts.reduce((a, b) => a + b, 0), VOCAB);
    }
  });
});

Deno.test("the CPU helpers: intervals must divide the histogram, cuts keep the peak, top tokens merge", () => {
  const stats = {
    fragments: 1,
    features: 1,
    length: 1,
    max: new Float32Array(1),
    nnz: new Float32Array(1),
    sum: new Float32Array(1),
  };
  assert.throws(() => chooseAtlas(stats, "d", { intervals: 5 }), /5 intervals do not divide/);
  const cut = centreOnPeak({ tokens: ["a", "b", "c"], acts: [5, 1, 0] }, { before: 4, after: 1 });
  assert.deepEqual([cut.tokens, cut.peak], [["a", "b"], 0]);
  assert.deepEqual(topTokens([{ tokens: ["x", "y"], acts: [1, 3] }, { tokens: ["x"], acts: [2] }]), [
    { token: "y", max: 3, count: 1 },
    { token: "x", max: 2, count: 2 },
  ]);
});
