/**
 * `deno task bench:sae`: activation vectors per second for one SAE training
 * step (forward, backward through the decoder normalisation, Adam) with
 * `SweepTrainer` on this machine's WebGPU adapter, and the same step in
 * PyTorch on the CPU (`bench/torch_peer.py`, 2 threads) measured in the same
 * run, at the paper's shape (d_in 512, R 4, batch 4096) and at the default
 * one (d_in 128, R 4, batch 1024). Prints one JSON object with both rates and
 * their ratio per case, and the load average before and after.
 *
 * `kinds` then gives our vectors/s for every SAE kind of the registry (`KIND_NAMES`, kinds added later
 * included) at both shapes, each from weights at initialisation; kinds that keep a fixed number of codes per
 * row (`topk`, `batchtopk`) keep k = 4% of the features, the sparsity of the sparse case. Each rate is
 * compared with the untied kind's at the same shape (`vsUntied`, the paper's SAE and the kind the PyTorch
 * peer runs); the peer itself runs only the untied cases above.
 *
 * Two code densities per shape, set up alike on both sides: at initialisation
 * (about half the features fire — the dense worst case) and with each
 * encoder bias at minus the feature's 96th-percentile pre-activation on 256
 * sample rows, so that about 4% fire (the sparsity of a trained SAE).
 *
 * Each side warms up with one step, then times `rounds` rounds of `steps`
 * steps (one wait per round, after its last step); the median seconds per
 * step give the rate.
 *
 * Run: `deno task bench:sae [--rounds R] [--shape paper|default] [--tiny]` (`--shape`: that shape
 * only; `--tiny`: a d_in 16 shape, for tests; `--kinds a,b`: those kinds only in `kinds`). Progress goes to stderr.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { KIND_NAMES, KINDS, type SaeKind, type SaeSpec, type StepLog, SweepTrainer } from "@saelab/sae";
import {
  compare,
  loadAverage,
  type PeerCase,
  peerSummary,
  peerTiming,
  runTorchPeer,
  timing,
} from "../../../bench/torch_peer.ts";
import { sparseWeights } from "./_sparse_weights.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string" },
    tiny: { type: "boolean" },
    shape: { type: "string" },
    kinds: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds ?? 3);
const FIRE = 0.04, L1 = 1e-3;

const SHAPES = values.tiny ? [{ name: "tiny", d: 16, ratio: 2, batch: 64, steps: 2 }] : [
  { name: "paper", d: 512, ratio: 4, batch: 4096, steps: 1 },
  { name: "default", d: 128, ratio: 4, batch: 1024, steps: 8 },
];
const RUN_SHAPES = SHAPES.filter((s) => values.shape === undefined || s.name === values.shape);
const CASES = RUN_SHAPES.flatMap((s) => [false, true].map((sparse) => ({ ...s, sparse, kind: "untied" as SaeKind })));
const KIND_LIST: readonly SaeKind[] = values.kinds === undefined ? KIND_NAMES : values.kinds.split(",").map((k) => {
  if (!(KIND_NAMES as readonly string[]).includes(k)) {
    throw new RangeError(`Invalid --kinds: ${JSON.stringify(k)} is not one of ${KIND_NAMES.join(", ")}`);
  }
  return k as SaeKind;
});
/** Every registered kind at every shape, from weights at initialisation. */
const KIND_CASES = RUN_SHAPES.flatMap((s) => KIND_LIST.map((kind) => ({ ...s, sparse: false, kind })));

/** The spec of a case: kinds that keep k codes per row keep the sparse case's fraction of the features. */
function caseSpec(c: { d: number; ratio: number; kind: SaeKind }): SaeSpec {
  const dDict = c.ratio * c.d;
  const fixedK = KINDS[c.kind].needs.includes("k");
  return {
    kind: c.kind,
    dIn: c.d,
    dDict,
    l1: fixedK ? 0 : L1,
    ...(fixedK ? { k: Math.max(1, Math.round(FIRE * dDict)) } : {}),
  };
}

function randomBatch(rows: number, d: number): Float32Array {
  return Float32Array.from({ length: rows * d }, () => Math.random() * 2 - 1);
}

const gpu = await createGpu();

/** Our seconds per step over the rounds, and the code density of the last step. */
async function ours(c: (typeof CASES)[number]) {
  const spec = caseSpec(c);
  const data = [randomBatch(c.batch, c.d), randomBatch(c.batch, c.d)];
  const sample = data[0].subarray(0, Math.min(256, c.batch) * c.d);
  const weights = c.sparse ? [sparseWeights(spec, { sample, fire: FIRE })] : undefined;
  const total = 1 + ROUNDS * c.steps;
  let l0 = NaN;
  const trainer = new SweepTrainer(gpu, [spec], {
    batchSize: c.batch,
    weights,
    logEvery: 0,
    logAlso: total,
    onLog: (l: StepLog) => l0 = l.members[0].l0,
  });
  trainer.step(data[0]); // compiles the pipelines
  await gpu.sync();
  const seconds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let s = 0; s < c.steps; s++) trainer.step(data[s % 2]);
    await gpu.sync(); // the round's only wait
    seconds.push((performance.now() - t0) / 1000 / c.steps);
  }
  await trainer.settle();
  trainer.dispose();
  return { timing: timing(seconds), l0 };
}

const loadBefore = loadAverage();
const info = gpu.adapter.info;
const mine: Awaited<ReturnType<typeof ours>>[] = [];
for (const c of CASES) {
  mine.push(await ours(c));
  console.error(`ours: ${c.name} ${c.sparse ? "sparse" : "dense"}: ${mine.at(-1)!.timing.median} s per step`);
}
const byKind: { timing: ReturnType<typeof timing>; l0: number }[] = [];
for (const c of KIND_CASES) {
  const same = c.kind === "untied" ? CASES.findIndex((d) => d.name === c.name && !d.sparse) : -1;
  byKind.push(same >= 0 ? mine[same] : await ours(c));
  console.error(`ours: ${c.name} ${c.kind}: ${byKind.at(-1)!.timing.median} s per step`);
}
const peerCases: PeerCase[] = CASES.map((c) => ({
  kind: "sae",
  dIn: c.d,
  ratio: c.ratio,
  batch: c.batch,
  l1: L1,
  fire: c.sparse ? FIRE : null,
  rounds: ROUNDS,
  steps: c.steps,
}));
const peer = await runTorchPeer(peerCases);
const loadAfter = loadAverage();

const cases = CASES.map((c, i) => {
  const p = peerTiming(peer, i);
  const dDict = c.ratio * c.d;
  const row = compare(`${c.name} d_in ${c.d}, R ${c.ratio}, batch ${c.batch}, ${c.sparse ? "sparse" : "dense"}`, {
    unit: "vectors/s",
    work: c.batch,
    ours: mine[i].timing,
    pytorch: p,
  });
  const density = (l0: number) => ({ l0: +l0.toFixed(1), fraction: +(l0 / dDict).toFixed(3) });
  return {
    ...row,
    shape: { dIn: c.d, ratio: c.ratio, batch: c.batch },
    codes: c.sparse ? `about ${FIRE * 100}% fire (encoder bias set)` : "at initialisation",
    density: { ours: density(mine[i].l0), pytorch: p ? density(p.l0 as number) : null },
  };
});

const kinds = KIND_CASES.map((c, i) => {
  const rate = Math.round(c.batch / byKind[i].timing.median);
  const untied = KIND_CASES.findIndex((u) => u.name === c.name && u.kind === "untied");
  const reference = untied >= 0 ? Math.round(c.batch / byKind[untied].timing.median) : null;
  const spec = caseSpec(c);
  return {
    name: `${c.name} d_in ${c.d}, R ${c.ratio}, batch ${c.batch}, ${c.kind}`,
    kind: c.kind,
    unit: "vectors/s",
    ours: rate,
    untied: reference,
    vsUntied: reference ? +(rate / reference).toFixed(2) : null,
    shape: { dIn: c.d, ratio: c.ratio, batch: c.batch },
    codes: spec.k ? `k ${spec.k} of ${spec.dDict} kept per row` : "at initialisation (ReLU)",
    l0: +byKind[i].l0.toFixed(1),
    // a kind that keeps k codes per row and fired fewer or more did not compute what it says: its rate means nothing
    ...(spec.k && !KINDS[c.kind].batch && Math.abs(byKind[i].l0 - spec.k) > 0.01 * spec.k
      ? { problem: `L0 ${byKind[i].l0.toFixed(2)} is not the k ${spec.k} this kind keeps per row` }
      : {}),
    seconds: byKind[i].timing,
  };
});

console.log(JSON.stringify(
  {
    bench: "sae step",
    date: new Date().toISOString(),
    adapter: { software: gpu.isSoftware, description: info?.description || info?.vendor || "" },
    loadAverage: { before: loadBefore, after: loadAfter },
    rounds: ROUNDS,
    peer: peerSummary(peer),
    notes:
      "ours and pytorch: work per second at the median seconds per step over the rounds; ratio: ours ÷ pytorch; ratioFastest: the same from each side's fastest round; " +
      "kinds: our vectors/s per registered SAE kind (weights at initialisation), vsUntied: ÷ the untied kind's rate " +
      "at the same shape (the PyTorch peer runs the untied cases only)",
    cases,
    kinds,
  },
  null,
  2,
));
gpu.destroy();
