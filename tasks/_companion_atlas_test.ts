import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { createGpu } from "@saelab/gpu";
import { LinearDictionary, saveDictionary } from "@saelab/dictionary";
import { cacheHooks } from "@saelab/causal";
import { loadModel } from "@saelab/neox";
import { readFeatureAtlas, readFeatureIndex, type RunJson } from "@saelab/runs";
import { testDeps } from "@saelab/runs/testing";
import { writeTinyInputs } from "../tests/_tiny_inputs.ts";
import { companionAtlas } from "./_companion_atlas.ts";
import type { RunHandle } from "./_run.ts";

Deno.test("a circuits companion gets a feature index and an atlas entry for every feature from held-out windows", async () => {
  const root = await Deno.makeTempDir({ prefix: "saelab-companion-atlas-" });
  const gpu = await createGpu();
  try {
    const { model: modelDir } = await writeTinyInputs(join(root, "inputs"), { maxPositions: 16 });
    const model = await loadModel(gpu, modelDir);
    const runsDir = join(root, "runs");
    const deps = testDeps(runsDir);
    const dir = join(runsDir, "r1");
    const run = {
      deps,
      id: "r1",
      dir,
      resumed: true,
      json: { model: { path: modelDir } } as unknown as RunJson,
      path: (...names: string[]) => join(dir, ...names),
    } satisfies RunHandle;
    const rand = seededRandom(5);
    const F = 24, D = 16, hook = "blocks.0.hook_resid_post";
    const dict = new LinearDictionary({
      name: "m_L0",
      kind: "sae",
      dIn: D,
      dDict: F,
      encoder: Float32Array.from({ length: F * D }, () => rand() - 0.5),
      encoderBias: Float32Array.from({ length: F }, () => -0.2 * rand()),
      decoder: Float32Array.from({ length: F * D }, () => rand() - 0.5),
      decoderBias: new Float32Array(D),
    });
    await saveDictionary(run.path("circuits", "m_L0"), dict, { hookName: hook });
    const windows = Array.from({ length: 12 }, () => Array.from({ length: 16 }, () => Math.floor(rand() * 300)));
    const n = await companionAtlas(gpu, { model, run, name: "m_L0", hook, windows, seed: 0, deps });
    assert.equal(n, F);
    const index = await readFeatureIndex(runsDir, "r1", "m_L0");
    assert.equal(index.status, "ok", JSON.stringify(index));
    if (index.status !== "ok") return;
    assert.equal(index.value.features.length, F);
    assert.deepEqual(index.value.sampled, []);
    assert.equal(index.value.tokens, 12 * 16);
    // the densities agree with the companion applied on the CPU to the hook's activations
    const x = (await cacheHooks(model, windows, { hooks: [hook] })).x[0];
    const acts = dict.encodeHost(x); // [rows, F]
    for (let j = 0; j < F; j++) {
      let fires = 0;
      for (let r = 0; r < 12 * 16; r++) fires += acts[r * F + j] !== 0 ? 1 : 0;
      const a = await readFeatureAtlas(runsDir, "r1", { dict: "m_L0", index: j });
      assert.equal(a.status, "ok", `atlas #${j}`);
      if (a.status !== "ok") continue;
      assert.ok(Math.abs(a.value.density - fires / (12 * 16)) < 1e-3, `#${j} density`);
      for (const fr of a.value.top) assert.ok(fr.doc?.startsWith("held-out window "));
    }
  } finally {
    gpu.destroy();
    await Deno.remove(root, { recursive: true });
  }
});
