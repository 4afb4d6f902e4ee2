/**
 * Cost of `splicedMetrics` on a model folder (default `fixtures/models/sotu-neox`): seconds for
 * `--windows N` windows of `--seq T` tokens (random ids) with `--replacements R` identity
 * replacements (a GPU copy of the activation) at `--hook`, in batches of `--batch` windows.
 * Each replacement costs a forward pass to the final normalised residual and an unembedding per batch,
 * as an SAE member would besides its own encode and decode. One warm-up batch runs first.
 *
 * Run: `deno run -A packages/neox/bench/spliced_bench.ts [--windows 8] [--seq 128] [--replacements 12]`
 * (prints one JSON object).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { copy } from "@saelab/kernels";
import { seededRandom } from "@saelab/core";
import { loadModel, type Replacement, splicedMetrics } from "@saelab/neox";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    hook: { type: "string" },
    windows: { type: "string" },
    seq: { type: "string" },
    batch: { type: "string" },
    replacements: { type: "string" },
  },
});
const dir = values.model ?? "fixtures/models/sotu-neox";
const N = Number(values.windows ?? 8), T = Number(values.seq ?? 128), BATCH = Number(values.batch ?? 8);
const R = Number(values.replacements ?? 12);

const gpu = await createGpu();
using model = await loadModel(gpu, dir);
const hook = values.hook ?? `blocks.${Math.floor(model.config.numLayers / 2)}.hook_resid_post`;
const rand = seededRandom(1);
const ids = Array.from(
  { length: N },
  () => Array.from({ length: T }, () => Math.floor(rand() * model.config.vocabSize)),
);
const windows = Array.from({ length: Math.ceil(N / BATCH) }, (_, i) => ids.slice(i * BATCH, (i + 1) * BATCH));
const replacements: Record<string, Replacement> = Object.fromEntries(
  Array.from({ length: R }, (_, i) => [`m${i}`, (act: Parameters<Replacement>[0]) => copy(gpu, act)]),
);
const meanActivation = new Float32Array(model.config.hiddenSize);
await splicedMetrics(model, { hook, replacements, meanActivation, windows: windows.slice(0, 1) }); // warm-up
const t0 = performance.now();
const m = await splicedMetrics(model, { hook, replacements, meanActivation, windows });
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  model: dir,
  adapter: gpu.isSoftware ? "software" : "hardware",
  hook,
  windows: N,
  seq: T,
  batch: BATCH,
  replacements: R,
  seconds: Number(seconds.toFixed(2)),
  tokens: m.tokens,
  clean: m.clean,
  maxAbsDeltaCe: Math.max(...Object.values(m.members).map((x) => Math.abs(x.deltaCe))),
}));
