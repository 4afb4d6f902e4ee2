/**
 * `deno task bench:pretrain`: tokens per second of one pretraining step of the
 * default model (`fixtures/models/sotu-neox/config.json`: d 128, 4 layers,
 * 4 heads, vocabulary 4096, windows of 128, batch 8 as `pretrain` uses) — the
 * forward, the next-token loss, the backward pass, clipping and AdamW — on
 * this machine's WebGPU adapter, and the same step in PyTorch on the CPU
 * (`bench/torch_peer.py`, 2 threads) in the same run. Weights are Pythia's
 * initialisation (`initialWeights`), tokens uniformly random.
 *
 * Each side warms up with one step, then times `rounds` rounds of `steps`
 * steps (one wait per round); the median seconds per step give the rate.
 *
 * Run: `deno task bench:pretrain [--rounds R] [--tiny]` (`--tiny`: a d 32
 * model on windows of 16, for tests). Prints one JSON object.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { parseConfig } from "@saelab/neox";
import { disposeParams, initialWeights, optimizerStep, trainPass, uploadParams } from "@saelab/pretrain";
import { compare, loadAverage, peerSummary, peerTiming, runTorchPeer, timing } from "../../../bench/torch_peer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, tiny: { type: "boolean" } },
});
const ROUNDS = Number(values.rounds ?? 3), STEPS = values.tiny ? 2 : 1, BATCH = 8;
const CONFIG = new URL("../../../fixtures/models/sotu-neox/config.json", import.meta.url);
const TINY = {
  model_type: "gpt_neox",
  vocab_size: 64,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 128,
  rotary_pct: 0.25,
  use_parallel_residual: true,
  attention_bias: true,
  tie_word_embeddings: false,
  max_position_embeddings: 16,
};
const hf = values.tiny ? TINY : JSON.parse(await Deno.readTextFile(CONFIG));
const config = parseConfig(hf);
const T = config.maxPositions;

const loadBefore = loadAverage();
const gpu = await createGpu();
const params = uploadParams(gpu, config, initialWeights(config, 1));
const ids = Int32Array.from({ length: BATCH * T }, () => Math.floor(Math.random() * config.vocabSize));
const stats = gpu.zeros([2], "f32", "bench.stats");
let step = 0;
const trainStep = () => {
  step++;
  const losses = trainPass(gpu, config, params, ids, { batch: BATCH, seq: T });
  optimizerStep(gpu, params, { lr: 2e-3, step, stats });
  losses.dispose();
  gpu.flush();
};
trainStep(); // compiles the pipelines
await gpu.sync();
const seconds: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) trainStep();
  await gpu.sync(); // the round's only wait
  seconds.push((performance.now() - t0) / 1000 / STEPS);
}
const [gradNorm] = await stats.read();
stats.dispose();
disposeParams(params);
const info = gpu.adapter.info;
gpu.destroy();

const peer = await runTorchPeer([{
  kind: "neox_train",
  config: hf,
  batch: BATCH,
  seq: T,
  rounds: ROUNDS,
  steps: STEPS,
}]);
const row = compare(`pretraining step B ${BATCH}, T ${T}`, {
  unit: "tokens/s",
  work: BATCH * T,
  ours: timing(seconds),
  pytorch: peerTiming(peer, 0),
});
console.log(JSON.stringify(
  {
    bench: "pretraining step",
    date: new Date().toISOString(),
    adapter: { software: gpu.isSoftware, description: info?.description || info?.vendor || "" },
    loadAverage: { before: loadBefore, after: loadAverage() },
    model: {
      dModel: config.hiddenSize,
      layers: config.numLayers,
      heads: config.numHeads,
      dMlp: config.intermediateSize,
      vocab: config.vocabSize,
    },
    rounds: ROUNDS,
    gradNorm: +gradNorm.toPrecision(4),
    peer: peerSummary(peer),
    notes:
      "ours and pytorch: tokens per second at the median seconds per step over the rounds; ratio: ours ÷ pytorch; ratioFastest: the same from each side's fastest round",
    cases: [row],
  },
  null,
  2,
));
