import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { createModel, parseConfig, randomWeights, referenceForward } from "@saelab/neox";
import { MICRO_NEOX } from "@saelab/neox/testing";
import { loadDocuments, makeWindows, memorySource, tokenizeDocuments } from "@saelab/corpus";
import { harvest, openStore } from "@saelab/activations";

const gpu = await createGpu();

Deno.test("harvesting a GPT-NeoX model stores its float64 reference activations", async () => {
  const config = parseConfig({
    ...MICRO_NEOX,
    vocab_size: 64,
    num_hidden_layers: 3,
    intermediate_size: 64,
    max_position_embeddings: 32,
  });
  const weights = randomWeights(config, { seed: 4 });
  using model = await createModel(gpu, config, { weights });
  const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 64) };
  const docs = await loadDocuments([
    memorySource("m", { a: "Call me Ishmael. Some years ago", b: "never mind how long precisely, having little" }),
  ]);
  const windows = makeWindows(tokenizeDocuments(docs, chars, { separator: 0 }), { contextLength: 8, stride: 5 });
  const dir = await Deno.makeTempDir({ prefix: "acts-neox-" });
  try {
    for (const hook of ["blocks.1.hook_resid_post", "blocks.0.mlp.hook_post"]) {
      const { manifest } = await harvest(model, windows, {
        hook,
        dir,
        batchSize: 3,
        heldOutFraction: 0,
        overwrite: true,
      });
      const width = hook.includes("mlp") ? 64 : 16;
      assert.equal(manifest.d, width);
      const store = await openStore(dir);
      const rows = await store.getRows(0, store.rows());
      assert.equal(rows.rows, windows.ownedTokens);
      const byKey = new Map<string, number>();
      for (let i = 0; i < rows.rows; i++) byKey.set(`${rows.doc[i]}:${rows.pos[i]}`, i);
      for (let w = 0; w < windows.count; w++) {
        const win = windows.get(w);
        const ref = referenceForward(config, (n) => weights[n], [[...win.ids]]).activations.get(hook)!; // [1, T, width]
        for (let t = win.first; t < 8; t++) {
          const i = byKey.get(`${win.doc}:${win.start + t}`)!;
          for (let k = 0; k < width; k++) {
            const want = ref[t * width + k], got = rows.x[i * width + k];
            assert.ok(
              Math.abs(got - want) <= 1e-4 + 1e-3 * Math.abs(want),
              `${hook} window ${w} t ${t} k ${k}: ${got} vs ${want}`,
            );
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("neox harvest: the GPU context is released", () => {
  gpu.destroy();
});
