import assert from "node:assert/strict";
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import { loadModel, parseConfig, randomWeights, saveModel } from "./mod.ts";
import { MICRO_NEOX } from "./testing.ts";

/** A GPU that fails the test when touched: the checks below must all come before any allocation. */
const untouchable = new Proxy({}, {
  get(_t, key) {
    throw new Error(`the GPU was used (${String(key)}) before the config and weights were checked`);
  },
}) as Gpu;

const tmp = await Deno.makeTempDir({ prefix: "saelab-neox-load-" });
const four = parseConfig({ ...MICRO_NEOX, num_hidden_layers: 4 });
const dir = join(tmp, "four");
await saveModel(dir, four, randomWeights(four, { seed: 1 }));
const setConfig = async (fields: Record<string, unknown>) => {
  const path = join(dir, "config.json");
  const raw = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify({ ...raw, num_hidden_layers: 4, ...fields }));
};

Deno.test("loadModel refuses a config with fewer layers than its weights, before touching the GPU", async () => {
  await setConfig({ num_hidden_layers: 3 });
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "RangeError",
    message: /config\.json has num_hidden_layers 3 but .*model\.safetensors holds 4 layers/,
  });
});

Deno.test("loadModel refuses a config with more layers than its weights (the first missing weight named)", async () => {
  await setConfig({ num_hidden_layers: 5 });
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "RangeError",
    message: /num_hidden_layers 5 but .* holds 4 layers/,
  });
});

Deno.test("loadModel fails fast on a 10-million-layer config, naming the file and the field", async () => {
  await setConfig({ num_hidden_layers: 10_000_000 });
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "RangeError",
    message: new RegExp(`${join(dir, "config.json").replace(/[.\\/]/g, "\\$&")}: num_hidden_layers must be`),
  });
});

Deno.test("loadModel names config.json when it is truncated or not an object", async () => {
  await Deno.writeTextFile(join(dir, "config.json"), '{"model_type": "gpt_ne');
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "RangeError",
    message: /config\.json is not valid JSON/,
  });
  await Deno.writeTextFile(join(dir, "config.json"), "[]");
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "TypeError",
    message: /config\.json: it is not a JSON/,
  });
});

Deno.test("loadModel refuses a weight whose shape disagrees with the config, before touching the GPU", async () => {
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ ...MICRO_NEOX, num_hidden_layers: 4, intermediate_size: 48 }),
  );
  await assert.rejects(() => loadModel(untouchable, dir), {
    name: "RangeError",
    message: /mlp\.dense_h_to_4h\.weight has shape \[32, 16\] in .*, expected \[48, 16\]/,
  });
});
