import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import { openSafetensors, writeSafetensors } from "@saelab/safetensors";
import {
  encodeRows,
  initWeights,
  loadSae,
  loadTrainState,
  readSaeCfg,
  reconstructRows,
  SaeDictionary,
  type SaeSpec,
  saveSae,
  saveTrainState,
  STATE_FILE,
} from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();
const rng = new Rng(5);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
const source = { hookName: "blocks.1.hook_resid_post", modelName: "tiny", contextSize: 64 };

for (
  const spec of [
    { kind: "untied", dIn: 8, dDict: 12, l1: 2e-3 },
    { kind: "tied", dIn: 8, dDict: 12, l1: 2e-3 },
    { kind: "topk", dIn: 8, dDict: 12, l1: 0, k: 3 },
  ] as SaeSpec[]
) {
  Deno.test(`an SAE round-trips through a SAELens folder (${spec.kind})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const w = initWeights(spec, { seed: 3 });
      w.encoderBias.set(rand(12, 0.1));
      await saveSae(dir, w, { source, steps: 17 });
      const cfg = await readSaeCfg(dir);
      assert.equal(cfg.d_in, 8);
      assert.equal(cfg.d_sae, 12);
      assert.equal(cfg.hook_name, "blocks.1.hook_resid_post");
      assert.equal(cfg.hook_layer, 1);
      assert.equal(cfg.model_name, "tiny");
      assert.equal(cfg.apply_b_dec_to_input, true);
      // SAELens reads the nested metadata only from a cfg that says it is in the v6 layout
      assert.equal((cfg.metadata as { sae_lens_version?: string }).sae_lens_version, "6.0.0");
      assert.equal(cfg.architecture, spec.kind === "topk" ? "topk" : "standard");
      using f = await openSafetensors(join(dir, "sae_weights.safetensors"));
      assert.deepEqual(f.info("W_enc").shape, [8, 12]);
      assert.deepEqual(f.info("W_dec").shape, [12, 8]);
      assert.deepEqual(f.info("b_dec").shape, [8]);
      const x = rand(5 * 8);
      const loaded = await loadSae(gpu, dir);
      const direct = SaeDictionary.fromWeights(gpu, w);
      assertClose(await encodeRows(loaded, x), await encodeRows(direct, x), { atol: 1e-6, rtol: 1e-6 });
      loaded.dispose();
      direct.dispose();
      assert.equal(cfg.training_steps, 17);
      assert.equal(cfg.kind, spec.kind);
      const path = join(dir, STATE_FILE);
      const m = initWeights(spec, { seed: 4 }), v = initWeights(spec, { seed: 5 });
      await saveTrainState(path, { step: 17, scale: 1.5, names: ["a"], weights: [w], m: [m], v: [v] });
      const state = (await loadTrainState(path, { specs: [spec], names: ["a"] }))!;
      assert.equal(state.step, 17);
      assert.equal(state.scale, 1.5);
      assert.deepEqual(state.weights, [w], "training state holds the exact parameters");
      assert.deepEqual(state.m, [m]);
      assert.deepEqual(state.v, [v]);
      assert.equal(await loadTrainState(path, { specs: [spec], names: ["b"] }), null, "other members are ignored");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a SAELens folder trained elsewhere loads: F16 weights, unnormalised W_dec, b_dec applied to the input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = 4, n = 6;
    const [wEnc, bEnc, wDec, bDec] = [rand(d * n), rand(n, 0.1), rand(n * d, 3), rand(d)];
    await writeSafetensors(join(dir, "sae_weights.safetensors"), {
      W_enc: { dtype: "F16", shape: [d, n], data: wEnc },
      b_enc: { dtype: "F32", shape: [n], data: bEnc },
      W_dec: { dtype: "F32", shape: [n, d], data: wDec },
      b_dec: { dtype: "F32", shape: [d], data: bDec },
    });
    await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ d_in: d, d_sae: n, architecture: "standard" }));
    const sae = await loadSae(gpu, dir, { name: "elsewhere" });
    const stored = await openSafetensors(join(dir, "sae_weights.safetensors"));
    const wEnc16 = await stored.getFloat32("W_enc");
    stored.close();
    const x = rand(3 * d);
    const want = new Float64Array(3 * d);
    for (let b = 0; b < 3; b++) {
      for (let j = 0; j < n; j++) {
        let pre = bEnc[j];
        for (let i = 0; i < d; i++) pre += (x[b * d + i] - bDec[i]) * wEnc16[i * n + j];
        const c = Math.max(pre, 0);
        for (let i = 0; i < d; i++) want[b * d + i] += c * wDec[j * d + i];
      }
      for (let i = 0; i < d; i++) want[b * d + i] += bDec[i];
    }
    assertClose(await reconstructRows(sae, x), want, { atol: 1e-4, rtol: 1e-4 });
    assert.equal(sae.name, "elsewhere");
    sae.dispose();
    await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ d_in: d, d_sae: n, architecture: "gated" }));
    await assert.rejects(() => loadSae(gpu, dir), /it has no tensor b_gate/); // a gated cfg over standard tensors
    await Deno.writeTextFile(
      join(dir, "cfg.json"),
      JSON.stringify({ d_in: d, d_sae: n, normalize_activations: "expected_average_only_in" }),
    );
    await assert.rejects(() => loadSae(gpu, dir), /normalize_activations/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weights holding NaN are not saved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = initWeights({ kind: "untied", dIn: 4, dDict: 4, l1: 0 });
    w.decoder![3] = NaN;
    await assert.rejects(() => saveSae(dir, w, { source }), /decoder holds NaN or Inf/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
