import assert from "node:assert/strict";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { copy, scale } from "@saelab/kernels";
import {
  createModel,
  type Hooks,
  type NeoxModel,
  parseConfig,
  randomWeights,
  type Replacement,
  type SplicedMetrics,
  splicedMetrics,
  type WindowSource,
} from "./mod.ts";
import { TINY_NEOX } from "./testing.ts";

const gpu = await createGpu();
const HOOK = "blocks.0.hook_resid_post";
const cfg = parseConfig(TINY_NEOX);
const V = cfg.vocabSize, D = cfg.hiddenSize;
const IDS = [
  [5, 96, 0, 17, 17, 42, 3, 88, 9, 61, 2],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  [90, 80, 70, 60, 50, 40, 30, 20, 10, 0, 95],
];
const B = IDS.length, T = IDS[0].length;

/** The windows as a source, to run in batches of `batch` windows. */
const SOURCE: WindowSource = {
  count: B,
  contextLength: T,
  batch: (from, count) => Int32Array.from(IDS.slice(from, from + count).flat()),
};

/** The hook's clean activation `[B, T, D]` on the host. */
async function cleanActivation(model: NeoxModel): Promise<Float32Array> {
  let kept: Tensor | undefined;
  model.forward(IDS, { hooks: { [HOOK]: { keep: true, read: (_, t) => (kept = t) } } }).dispose();
  using t = kept!;
  return (await t.read()) as Float32Array;
}

/** Logits `[B, T, V]` with the hook's activation replaced by the given host values. */
async function logitsWith(model: NeoxModel, act: Float32Array | null): Promise<Float32Array> {
  const hooks: Hooks = act ? { [HOOK]: { replace: () => gpu.upload(act, [B, T, D]) } } : {};
  using logits = model.forward(IDS, { hooks });
  return (await logits.read()) as Float32Array;
}

/**
 * The metrics in float64 on the host from read-back logits: loss and KL(clean ‖ case) averaged over
 * positions 1 … T−2 of every window.
 */
function hostMetrics(clean: Float32Array, cases: Float32Array[]): { loss: number[]; kl: number[] } {
  const logSoftmax = (x: Float32Array, o: number) => {
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, x[o + i]);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(x[o + i] - m);
    const lse = m + Math.log(s);
    return Array.from({ length: V }, (_, i) => x[o + i] - lse);
  };
  const all = [clean, ...cases];
  const loss = all.map(() => 0), kl = all.map(() => 0);
  let n = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < T - 1; t++) {
      const o = (b * T + t) * V, target = IDS[b][t + 1];
      const lp = logSoftmax(clean, o);
      all.forEach((x, c) => {
        const lq = logSoftmax(x, o);
        loss[c] -= lq[target];
        for (let i = 0; i < V; i++) kl[c] += Math.exp(lp[i]) * (lp[i] - lq[i]);
      });
      n++;
    }
  }
  return { loss: loss.map((v) => v / n), kl: kl.map((v) => v / n) };
}

/** Host activation with position 0 of each window taken from `clean` (as the spliced runs keep it). */
function withCleanFirst(clean: Float32Array, act: Float32Array): Float32Array {
  const out = act.slice();
  for (let b = 0; b < B; b++) out.set(clean.subarray(b * T * D, b * T * D + D), b * T * D);
  return out;
}

function close(got: number, want: number, tol: number, what: string) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (±${tol})`);
}

const model = await createModel(gpu, cfg, { weights: randomWeights(cfg, { seed: 3 }) });
const act = await cleanActivation(model); // [B, T, D]
const meanActivation = new Float32Array(D); // the mean over these rows stands in for training rows
for (let r = 0; r < B * T; r++) for (let e = 0; e < D; e++) meanActivation[e] += act[r * D + e] / (B * T);
const meanRows = new Float32Array(B * T * D).map((_, i) => meanActivation[i % D]);

const REPLACEMENTS: Record<string, Replacement> = {
  identity: (x) => copy(gpu, x),
  half: (x) => scale(gpu, x, 0.5),
  zero: (x) => gpu.zeros(x.shape),
  mean: (x) => gpu.upload(meanRows.subarray(0, x.size), x.shape),
  /** Changes position 0 only (to 100 everywhere). */
  first: (x) => {
    const out = copy(gpu, x);
    const enc = gpu.encoder();
    using big = gpu.upload(new Float32Array(D).fill(100), [D]);
    for (let b = 0; b < x.shape[0]; b++) enc.copyBufferToBuffer(big.buffer, 0, out.buffer, b * T * D * 4, D * 4);
    return out;
  },
};

// float64 metrics from the model's own logits with host-built activations: independent of the
// chunked unembedding, the position-0 restoration and the klDiv kernel under test
const clean = await logitsWith(model, null);
const hostCases = {
  zero: await logitsWith(model, withCleanFirst(act, new Float32Array(act.length))),
  mean: await logitsWith(model, withCleanFirst(act, meanRows)),
  half: await logitsWith(model, withCleanFirst(act, act.map((v) => v * 0.5))),
};
const host = hostMetrics(clean, [hostCases.zero, hostCases.mean, hostCases.half]);
const [hClean, hZero, hMean, hHalf] = host.loss;
/** f32 GPU losses and divergences against float64 over 27 positions of logits the GPU also computed. */
const TOL = 2e-5;

function checkAll(m: SplicedMetrics, what: string) {
  assert.equal(m.tokens, B * (T - 2), `${what}: tokens`);
  close(m.clean, hClean, TOL, `${what}: clean`);
  close(m.zeroAblation, hZero, TOL, `${what}: zero ablation`);
  close(m.meanAblation, hMean, TOL, `${what}: mean ablation`);
  const h = m.members.half;
  close(h.spliced, hHalf, TOL, `${what}: half spliced`);
  close(h.deltaCe, hHalf - hClean, TOL, `${what}: half deltaCe`);
  close(h.klDiv, host.kl[3], TOL, `${what}: half klDiv`);
  close(h.lossRecovered, (hMean - hHalf) / (hMean - hClean), 1e-4, `${what}: half lossRecovered`);
  close(h.lossRecoveredZero, (hZero - hHalf) / (hZero - hClean), 1e-4, `${what}: half lossRecoveredZero`);
  for (const name of ["identity", "first"]) {
    const x = m.members[name];
    close(x.deltaCe, 0, 1e-6, `${what}: ${name} deltaCe`);
    close(x.klDiv, 0, 1e-6, `${what}: ${name} klDiv`);
    close(x.lossRecovered, 1, 1e-5, `${what}: ${name} lossRecovered`);
    close(x.lossRecoveredZero, 1, 1e-5, `${what}: ${name} lossRecoveredZero`);
  }
  close(m.members.mean.lossRecovered, 0, 1e-5, `${what}: mean member lossRecovered`);
  close(m.members.mean.klDiv, host.kl[2], TOL, `${what}: mean member klDiv`);
  close(m.members.zero.lossRecoveredZero, 0, 1e-5, `${what}: zero member lossRecoveredZero`);
  close(m.members.zero.klDiv, host.kl[1], TOL, `${what}: zero member klDiv`);
}

Deno.test("splicedMetrics matches a float64 computation from the model's logits", async () => {
  // a random model: the ablations move the loss (here the zero ablation even lowers it), which is all the ratios need
  assert.ok(Math.abs(hZero - hClean) > 0.1 && Math.abs(hMean - hClean) > 0.1, "the ablations change the loss");
  assert.ok(host.kl[3] > 1e-3, "halving the activation changes the predictions");
  const m = await splicedMetrics(model, { hook: HOOK, replacements: REPLACEMENTS, meanActivation, windows: [IDS] });
  checkAll(m, "one batch");
  assert.deepEqual(Object.keys(m.members), Object.keys(REPLACEMENTS));
});

Deno.test("splicedMetrics gives the same numbers in batches of windows and in chunks of logits rows", async () => {
  const ticks: [number, number][] = [];
  const m = await splicedMetrics(model, {
    hook: HOOK,
    replacements: REPLACEMENTS,
    meanActivation,
    windows: SOURCE,
    batch: 2, // batches of 2 and 1 windows
    maxLogitsBytes: 4 * V * 7, // 7 rows a chunk: 22 and 11 rows end in a short chunk
    progress: (done, total) => ticks.push([done, total]),
  });
  checkAll(m, "chunked");
  assert.deepEqual(ticks, [[2, 3], [3, 3]]);
});

Deno.test("splicedMetrics leaves position 0 out: changing it alone changes nothing", async () => {
  // without the restoration the change at position 0 would reach later positions through attention
  const moved = await logitsWith(
    model,
    (() => {
      const a = act.slice();
      for (let b = 0; b < B; b++) a.fill(100, b * T * D, b * T * D + D);
      return a;
    })(),
  );
  assert.ok(hostMetrics(clean, [moved]).kl[1] > 1e-4, "position 0 matters to the model");
  const m = await splicedMetrics(model, {
    hook: HOOK,
    replacements: { first: REPLACEMENTS.first },
    meanActivation,
    windows: [IDS],
  });
  assert.equal(m.members.first.deltaCe, 0);
  assert.equal(m.members.first.klDiv, 0);
});

Deno.test("splicedMetrics rejects bad options and stops when aborted", async () => {
  const base = { hook: HOOK, replacements: REPLACEMENTS, meanActivation, windows: [IDS] };
  await assert.rejects(() => splicedMetrics(model, { ...base, meanActivation: new Float32Array(3) }), {
    name: "RangeError",
    message: /meanActivation must be a Float32Array of 48 values/,
  });
  await assert.rejects(() => splicedMetrics(model, { ...base, hook: "blocks.9.hook_resid_post" }), {
    name: "RangeError",
    message: /no such hook point/,
  });
  await assert.rejects(() => splicedMetrics(model, { ...base, windows: [[[1, 2], [3, 4]]] }), {
    name: "RangeError",
    message: /at least 3 tokens/,
  });
  await assert.rejects(() => splicedMetrics(model, { ...base, windows: [] }), {
    name: "RangeError",
    message: /no windows/,
  });
  await assert.rejects(() => splicedMetrics(model, { ...base, signal: AbortSignal.abort() }), {
    name: "AbortError",
  });
  await assert.rejects(
    () => splicedMetrics(model, { ...base, replacements: { bad: () => gpu.zeros([1, 2, 3]) } }),
    { name: "RangeError", message: /Cannot use the replacement at blocks\.0\.hook_resid_post/ },
  );
});

Deno.test("normalized and unembedRows give the forward pass's logits, in any row range", async () => {
  using normed = model.normalized(IDS); // [B, T, D]
  assert.deepEqual(normed.shape, [B, T, D]);
  using all = model.unembedRows(normed);
  assertClose(await all.read(), clean, { atol: 1e-5, rtol: 1e-5 }, "all rows");
  using part = model.unembedRows(normed, { first: 5, count: 9 });
  assertClose(await part.read(), clean.subarray(5 * V, 14 * V), { atol: 1e-5, rtol: 1e-5 }, "rows 5 … 13");
  assert.throws(() => model.unembedRows(normed, { first: 30, count: 4 }), { name: "RangeError", message: /33 rows/ });
  using wrong = gpu.zeros([2, 5]);
  assert.throws(() => model.unembedRows(wrong), { name: "RangeError", message: /not 48 wide/ });
  assert.throws(() => model.normalized(IDS, { hooks: { logits: { read: () => {} } } }), {
    name: "RangeError",
    message: /stops before the unembedding/,
  });
});

globalThis.addEventListener("unload", () => {
  model.dispose();
  gpu.destroy();
});
