/**
 * Forward-pass benchmark of a pythia-70m-shaped GPT-NeoX (d 512, 6 layers, 8
 * heads, MLP 2048, vocabulary 50304, rotary_pct 0.25, parallel residual) with
 * seeded random weights made in memory: tokens/s and achieved GFLOP/s of a
 * forward to layer 3 (`stopAtLayer: 3`, what a harvest of layer-2 activations
 * runs) and of a full forward to the logits, at a context of 128.
 *
 * FLOPs counted per token: 2·(4D² + 2·D·F) per block for the projections,
 * 2·D·(T+1) per block for causal attention (scores and weighted values over
 * (T+1)/2 keys on average), and 2·D·V for the unembedding; LayerNorm, GELU,
 * rotary and adds are not counted. Each measurement records one forward and
 * waits for the GPU (`gpu.sync()`), nothing is read back; the median and best
 * of `rounds` are reported after one warm-up.
 *
 * Peer: the same forwards (same shape, random weights, no gradients) in PyTorch
 * on the CPU (`bench/torch_peer.py`, 2 threads), warmed up and timed the same
 * way in the same run; `cases` holds both rates and ours ÷ PyTorch's.
 *
 * Run: `deno task bench:neox` (prints one JSON object). Options:
 * `--batch B` (default 4), `--seq T` (128), `--rounds R` (3), `--tiny` (a
 * d 32, 2-layer model, for tests).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { matmulVariant } from "@saelab/kernels";
import { seededRandom } from "@saelab/core";
import { createModel, parseConfig, randomWeights } from "@saelab/neox";
import { PYTHIA_70M_SIZES } from "@saelab/neox/testing";
import { compare, loadAverage, peerSummary, peerTiming, runTorchPeer, timing } from "../../../bench/torch_peer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string" },
    seq: { type: "string" },
    rounds: { type: "string" },
    tiny: { type: "boolean" },
  },
});
const B = Number(values.batch ?? 4), T = Number(values.seq ?? (values.tiny ? 16 : 128));
const ROUNDS = Number(values.rounds ?? 3);

const TINY = { model_type: "gpt_neox", vocab_size: 64, hidden_size: 32, num_hidden_layers: 4, num_attention_heads: 2 };
const hf = {
  ...(values.tiny ? { ...TINY, intermediate_size: 128 } : PYTHIA_70M_SIZES),
  rotary_pct: 0.25,
  rotary_emb_base: 10000,
  layer_norm_eps: 1e-5,
  use_parallel_residual: true,
  max_position_embeddings: 2048,
};
const config = parseConfig(hf);
const loadBefore = loadAverage();
const gpu = await createGpu();
const t0 = performance.now();
const weights = randomWeights(config, { seed: 1 });
const model = await createModel(gpu, config, { weights });
const loadSeconds = (performance.now() - t0) / 1000;
const rand = seededRandom(2);
const ids = Array.from(
  { length: B },
  () => Array.from({ length: T }, () => Math.floor(rand() * Math.min(50277, config.vocabSize))),
);

const { hiddenSize: D, intermediateSize: F, vocabSize: V } = config;
const perBlock = 2 * (4 * D * D + 2 * D * F) + 2 * D * (T + 1);

async function measure(stopAtLayer: number | undefined) {
  const layers = stopAtLayer ?? config.numLayers;
  const flops = B * T * (layers * perBlock + (stopAtLayer === undefined ? 2 * D * V : 0));
  const times: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const start = performance.now();
    const out = model.forward(ids, { stopAtLayer });
    await gpu.sync();
    const s = (performance.now() - start) / 1000;
    out.dispose();
    if (r > 0) times.push(s); // round 0 compiles pipelines and fills the pool
  }
  const rounds = timing(times);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)], best = times[0];
  return {
    rounds,
    layers,
    unembedding: stopAtLayer === undefined,
    gflop: +(flops / 1e9).toFixed(3),
    seconds: { median: +median.toFixed(4), best: +best.toFixed(4) },
    tokensPerSecond: { median: Math.round((B * T) / median), best: Math.round((B * T) / best) },
    gflopPerSecond: { median: +(flops / median / 1e9).toFixed(2), best: +(flops / best / 1e9).toFixed(2) },
  };
}

const probe = gpu.zeros([B * T, D]), qkvShaped = gpu.zeros([3 * D, D]);
const results = {
  benchmark: "neox forward",
  model: { dModel: D, layers: config.numLayers, heads: config.numHeads, dMlp: F, vocab: V },
  batch: B,
  context: T,
  rounds: ROUNDS,
  adapter: gpu.adapter.info?.description || gpu.adapter.info?.vendor || "unknown",
  backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
  matmul: matmulVariant(gpu, probe, qkvShaped, { transposeB: true }),
  loadSeconds: +loadSeconds.toFixed(2),
  toLayer3: await measure(3),
  toLogits: await measure(undefined),
};
probe.dispose();
qkvShaped.dispose();
model.dispose();
const forward = (layers: number | null) => ({
  kind: "neox_forward" as const,
  config: hf,
  batch: B,
  seq: T,
  layers,
  rounds: ROUNDS,
});
const peer = await runTorchPeer([forward(3), forward(null)], {});
const cases = [results.toLayer3, results.toLogits].map((r, i) =>
  compare(`forward B ${B}, T ${T}, ${i === 0 ? "to layer 3" : "to the logits"}`, {
    unit: "tokens/s",
    work: B * T,
    ours: r.rounds,
    pytorch: peerTiming(peer, i),
  })
);
const loadAfter = loadAverage();
console.log(JSON.stringify(
  {
    ...results,
    date: new Date().toISOString(),
    loadAverage: { before: loadBefore, after: loadAfter },
    peer: peerSummary(peer),
    notes:
      "cases: tokens per second at the median seconds per forward over the rounds; ratio: ours ÷ pytorch; ratioFastest: the same from each side's fastest round",
    cases,
  },
  null,
  2,
));
gpu.destroy();
