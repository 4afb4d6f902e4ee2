import assert from "node:assert/strict";
import { seededRandom } from "@saelab/core";
import { createGpu } from "@saelab/gpu";
import type { LogitEffects } from "@saelab/runs";
import { logitEffects, type Unembedding } from "./logit_effects.ts";
import { logitEffectsGpu } from "./logit_effects_gpu.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

function randomUnembedding(vocab: number, d: number, seed: number): Unembedding {
  const rand = seededRandom(seed);
  return {
    vocab,
    d,
    weight: Float32Array.from({ length: vocab * d }, () => rand() * 2 - 1),
    gamma: Float32Array.from({ length: d }, () => 0.5 + rand()),
  };
}

/**
 * GPU (float32) against the float64 CPU definition. Tolerance: 1e-5 of the row's largest |effect| (float32
 * accumulation over d ≤ 64 terms) plus one unit in the 5th significant digit (both sides round the stored values
 * to 5 digits, so values a hair apart can round one unit apart). A token must
 * match unless a neighbouring CPU value lies within twice that tolerance (a near-tie the precisions may order
 * differently); a histogram may move only values within the tolerance of a bin edge.
 */
function assertMatches(gpuE: LogitEffects, cpuE: LogitEffects, row: Float32Array, u: Unembedding, what: string) {
  const g = Array.from(row, (v, c) => v * (u.gamma ? u.gamma[c] : 1));
  const eff = Array.from({ length: u.vocab }, (_, t) => g.reduce((s, x, c) => s + x * u.weight[t * u.d + c], 0));
  const scale = Math.max(...eff.map(Math.abs));
  const tol = (v: number) => 1e-5 * scale + 1e-4 * Math.abs(v);
  for (const sign of ["positive", "negative"] as const) {
    const a = gpuE[sign], b = cpuE[sign];
    assert.equal(a.length, b.length, `${what} ${sign} length`);
    b.forEach((ref, j) => {
      assert.ok(
        Math.abs(a[j].value - ref.value) <= tol(ref.value),
        `${what} ${sign}[${j}] ${a[j].value} vs ${ref.value}`,
      );
      const tied = [b[j - 1], b[j + 1]].some((n) => n && Math.abs(n.value - ref.value) <= 2 * tol(ref.value));
      if (!tied) assert.equal(a[j].token, ref.token, `${what} ${sign}[${j}] token`);
    });
  }
  const [ha, hb] = [gpuE.histogram!, cpuE.histogram!];
  assert.equal(ha.counts.length, hb.counts.length);
  ha.edges.forEach((e, i) =>
    assert.ok(Math.abs(e - hb.edges[i]) <= tol(e), `${what} edge ${i}: ${e} vs ${hb.edges[i]}`)
  );
  const lo = Math.min(...eff), hi = Math.max(...eff), w = hi > lo ? (hi - lo) / hb.counts.length : 1;
  const nearEdge = eff.filter((v) => {
    const pos = (v - lo) / w;
    return Math.abs(pos - Math.round(pos)) * w <= tol(v);
  }).length;
  assert.equal(ha.counts.reduce((x, y) => x + y, 0), u.vocab, `${what} histogram total`);
  const moved = ha.counts.reduce((s, c, b) => s + Math.abs(c - hb.counts[b]), 0) / 2;
  assert.ok(moved <= nearEdge, `${what}: ${moved} effects binned differently, ${nearEdge} near an edge`);
}

Deno.test("logitEffectsGpu matches the float64 CPU logitEffects for every feature, across slices", async () => {
  const u = randomUnembedding(3001, 48, 1);
  const rand = seededRandom(2);
  const sizes = [37, 5];
  const decoders = sizes.map((f) => Float32Array.from({ length: f * u.d }, () => rand() * 2 - 1));
  decoders[1].fill(0, 0, u.d); // a zero direction: every effect 0, no tokens of either sign
  const decode = (t: number) => `tok${t}`;
  // slices of 16 features, so a dictionary spans several matmuls
  const got = await logitEffectsGpu(gpu, decoders, { unembed: u, decode, k: 10, bins: 32, sliceValues: 16 * 3001 });
  assert.deepEqual(got.map((g) => g.length), sizes);
  decoders.forEach((dec, di) => {
    for (let f = 0; f < sizes[di]; f++) {
      const row = dec.subarray(f * u.d, (f + 1) * u.d);
      assertMatches(got[di][f], logitEffects(row, u, { decode, k: 10, bins: 32 }), row, u, `dict ${di} feature ${f}`);
    }
  });
  assert.deepEqual(got[1][0].positive, []);
  assert.deepEqual(got[1][0].negative, []);
  assert.equal(got[1][0].histogram!.counts[0], 3001);
});

Deno.test("logitEffectsGpu without γ and with fewer tokens than k", async () => {
  const u = { ...randomUnembedding(7, 5, 3), gamma: undefined };
  const dec = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i + 1));
  const [got] = await logitEffectsGpu(gpu, [dec], { unembed: u, k: 10, bins: 4 });
  for (let f = 0; f < 3; f++) {
    const row = dec.subarray(f * 5, (f + 1) * 5);
    assertMatches(got[f], logitEffects(row, u, { k: 10, bins: 4 }), row, u, `feature ${f}`);
  }
});

Deno.test("logitEffectsGpu rejects a decoder of another width", async () => {
  const u = randomUnembedding(4, 3, 4);
  await assert.rejects(() => logitEffectsGpu(gpu, [new Float32Array(7)], { unembed: u }), {
    name: "RangeError",
    message: /7 values is not rows of width 3/,
  });
});
