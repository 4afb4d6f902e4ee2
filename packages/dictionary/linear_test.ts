import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { assertClose, createGpu } from "@saelab/gpu";
import { writeSafetensors } from "@saelab/safetensors";
import { evaluateDictionary, LinearDictionary, loadDictionary, saveDictionary } from "./mod.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const random = seededRandom(4);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * s);
const D = 6, F = 10, ROWS = 40;
const x = rand(ROWS * D, 2);

function saeLike(k = 0): LinearDictionary {
  return new LinearDictionary({
    name: k ? "topk" : "sae",
    kind: "sae",
    dIn: D,
    dDict: F,
    encoder: rand(F * D),
    encoderBias: rand(F, 0.3),
    decoder: rand(F * D),
    decoderBias: rand(D, 0.5),
    k,
  });
}

Deno.test("GPU encode/decode match the float64 CPU reference (ReLU and top-k)", async () => {
  for (const host of [saeLike(), saeLike(3)]) {
    using dict = host.bind(gpu);
    using xt = gpu.upload(x, [ROWS, D]);
    using c = dict.encode(xt);
    const ch = await c.read();
    assertClose(ch, host.encodeHost(x), { atol: 1e-5, rtol: 1e-5 });
    if (host.k) {
      for (let r = 0; r < ROWS; r++) {
        assert.ok(ch.subarray(r * F, (r + 1) * F).filter((v: number) => v > 0).length <= 3);
      }
    }
    using back = dict.decode(c);
    assertClose(await back.read(), host.decodeHost(ch), { atol: 1e-5, rtol: 1e-5 });
    assert.deepEqual(await dict.directions(), host.directions());
    assert.equal(dict.kind, "sae");
    using bad = gpu.zeros([2, D + 1]);
    assert.throws(() => dict.encode(bad), /expected \[rows, 6\]/);
  }
});

Deno.test("save/load round trip in SAELens layout keeps the weights, k and method", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dict-" });
  try {
    for (const dict of [saeLike(), saeLike(4)]) {
      const cfg = await saveDictionary(join(dir, dict.name), dict, { hookName: "blocks.1.hook_resid_post" });
      assert.equal(cfg.architecture, dict.k ? "topk" : "standard");
      const back = await loadDictionary(join(dir, dict.name), { kind: "sae" });
      assert.equal(back.k, dict.k);
      assert.equal(back.kind, "sae");
      assert.equal(back.origin, "sae");
      assert.deepEqual(back.encoder, dict.encoder);
      assert.deepEqual(back.decoder, dict.decoder);
      assert.deepEqual(back.encoderBias, dict.encoderBias);
      assert.deepEqual(back.decoderBias, dict.decoderBias);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a SAELens folder with apply_b_dec_to_input encodes ReLU((x − b_dec)·W_enc + b_enc)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saelens-" });
  try {
    const wEnc = rand(D * F), bEnc = rand(F, 0.2), wDec = rand(F * D), bDec = rand(D, 0.7);
    await writeSafetensors(join(dir, "sae_weights.safetensors"), {
      W_enc: { dtype: "F32", shape: [D, F], data: wEnc },
      b_enc: { dtype: "F32", shape: [F], data: bEnc },
      W_dec: { dtype: "F32", shape: [F, D], data: wDec },
      b_dec: { dtype: "F32", shape: [D], data: bDec },
    });
    await Deno.writeTextFile(
      join(dir, "cfg.json"),
      JSON.stringify({ d_in: D, d_sae: F, architecture: "standard", apply_b_dec_to_input: true }),
    );
    const dict = await loadDictionary(dir);
    const got = dict.encodeHost(x);
    for (let r = 0; r < ROWS; r++) {
      for (let j = 0; j < F; j++) {
        let s = bEnc[j];
        for (let i = 0; i < D; i++) s += (x[r * D + i] - bDec[i]) * wEnc[i * F + j];
        assert.ok(Math.abs(got[r * F + j] - Math.max(s, 0)) <= 1e-5, `row ${r} feature ${j}`);
      }
    }
    await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ d_in: D, d_sae: F, architecture: "gated" }));
    await assert.rejects(() => loadDictionary(dir), /it has no tensor b_gate/); // a gated cfg over standard tensors
    await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ d_in: D, d_sae: F + 1 }));
    await assert.rejects(() => loadDictionary(dir), /W_enc has shape \[6, 10\], expected \[6, 11\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateDictionary matches a CPU computation of FVU, MSE, L0 and dead fraction", async () => {
  const dict = saeLike();
  using bound = dict.bind(gpu);
  const ev = await evaluateDictionary(bound, { batches: [x.subarray(0, 16 * D), x.subarray(16 * D)] });
  assert.equal(ev.kind, "sae");
  const c = dict.encodeHost(x), xh = dict.decodeHost(c);
  let se = 0, nnz = 0;
  const fired = new Set<number>();
  for (let i = 0; i < x.length; i++) se += (x[i] - xh[i]) ** 2;
  c.forEach((v, i) => {
    if (v !== 0) {
      nnz++;
      fired.add(i % F);
    }
  });
  const mean = new Float64Array(D);
  for (let i = 0; i < x.length; i++) mean[i % D] += x[i] / ROWS;
  let variance = 0;
  for (let i = 0; i < x.length; i++) variance += (x[i] - mean[i % D]) ** 2;
  assert.equal(ev.tokens, ROWS);
  assert.ok(Math.abs(ev.mse! - se / x.length) <= 1e-5 + 1e-4 * (se / x.length));
  assert.ok(Math.abs(ev.fvu - se / variance) <= 1e-5 + 1e-4 * (se / variance));
  assert.ok(Math.abs(ev.l0 - nnz / ROWS) <= 1e-9);
  assert.equal(ev.deadFraction, (F - fired.size) / F);
});

Deno.test("evaluateDictionary counts dense features (> 10% of rows) and states the density it resolves", async () => {
  // feature j reads coordinate j of the input, with bias −t_j: it fires where x_j > t_j; x is seeded uniform in [0, 1)
  const d = 8, n = 8, rows = 400;
  const rand = seededRandom(21);
  const xs = Float32Array.from({ length: rows * d }, () => rand());
  const thresholds = Float32Array.from([0.0, 0.5, 0.85, 0.88, 0.92, 0.95, 0.99, 1.5]);
  const eye = new Float32Array(n * d);
  for (let j = 0; j < n; j++) eye[j * d + j] = 1;
  const dict = new LinearDictionary({
    name: "thresholds",
    kind: "neurons",
    dIn: d,
    dDict: n,
    encoder: eye,
    encoderBias: thresholds.map((t) => -t),
    decoder: eye,
    decoderBias: new Float32Array(d),
  });
  using bound = dict.bind(gpu);
  const ev = await evaluateDictionary(bound, { batches: [xs.subarray(0, 256 * d), xs.subarray(256 * d)] });
  // float64: how often each feature fires
  const fires = new Float64Array(n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) if (xs[r * d + j] - thresholds[j] > 0) fires[j]++;
  const dense = fires.filter((f) => f > 0.1 * rows).length / n;
  const dead = fires.filter((f) => f === 0).length / n;
  assert.ok(dense > 0 && dense < 1, `the fixture needs dense and sparse features: ${fires.join()}`);
  assert.equal(ev.denseFraction, dense);
  assert.equal(ev.deadFraction, dead);
  assert.equal(ev.deadResolution, 1 / rows);
});
