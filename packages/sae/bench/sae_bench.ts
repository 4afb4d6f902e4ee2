/**
 * `deno task bench:sae`: activation vectors per second for one SAE training
 * step (forward, backward through the decoder normalisation, Adam) with
 * `SweepTrainer` on this machine's WebGPU adapter, at the paper's shape
 * (d_in 512, R 4, batch 4096) and at the default model's (d_in 128, R 4),
 * next to a CPU peer run in the same process: the same step in plain Float32
 * JavaScript. PyTorch (the peer a user would reach for) is not installed
 * here; its figure on this CPU is quoted.
 *
 * Two code densities per shape: at initialisation (about half the features
 * fire — the dense worst case) and with encoder biases set so that about 5%
 * of features fire, the sparsity of a trained SAE, where the decoder and
 * gradient matmuls skip zero codes.
 *
 * @module
 */
import { createGpu } from "@saelab/gpu";
import { initWeights, type SaeSpec, type StepLog, SweepTrainer } from "@saelab/sae";
import { cpuSae, cpuStep } from "./cpu_peer.ts";

const PYTORCH = "PyTorch on this CPU with OpenBLAS: ~0.62 s per step at the paper's shape ≈ 6,500 vectors/s " +
  "(Debian's reference BLAS: ≈ 230) — quoted; PyTorch is not installed here";

const gpu = await createGpu();
const info = gpu.adapter.info;
const load = await Deno.readTextFile("/proc/loadavg").then((t) => t.split(" ").slice(0, 3).join(" ")).catch(() => "?");
console.log(
  `adapter: ${info.description || info.vendor} (${gpu.isSoftware ? "software" : "hardware"}); load average ${load}`,
);

/** CPU time of this process (all threads, including the adapter's), in seconds. */
function cpuSeconds(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function randomBatch(rows: number, d: number): Float32Array {
  return Float32Array.from({ length: rows * d }, () => Math.random() * 2 - 1);
}

/** Encoder biases at minus the (1 − fire) quantile of each feature's pre-activation on sample rows. */
function sparseWeights(spec: SaeSpec, sample: Float32Array, fire: number) {
  const w = initWeights(spec, { seed: 1 });
  const { dIn: d, dDict: n } = spec;
  const rows = sample.length / d;
  const pre = new Float32Array(rows);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < rows; b++) {
      let acc = 0;
      for (let i = 0; i < d; i++) acc += w.encoder[j * d + i] * sample[b * d + i];
      pre[b] = acc;
    }
    pre.sort();
    w.encoderBias[j] = -pre[Math.floor((1 - fire) * (rows - 1))];
  }
  return w;
}

async function gpuRate(spec: SaeSpec, batch: number, steps: number, sparse: boolean) {
  const data = [randomBatch(batch, spec.dIn), randomBatch(batch, spec.dIn)];
  const weights = sparse ? [sparseWeights(spec, data[0].subarray(0, 256 * spec.dIn), 0.05)] : undefined;
  let l0 = NaN;
  const trainer = new SweepTrainer(gpu, [spec], {
    batchSize: batch,
    weights,
    logEvery: 1,
    onLog: (l: StepLog) => l0 = l.members[0].l0,
  });
  trainer.step(data[0]); // compiles the pipelines; its log reports the code density
  await trainer.settle();
  const t0 = performance.now(), c0 = cpuSeconds();
  for (let s = 0; s < steps; s++) trainer.step(data[s % 2]);
  await trainer.weights(); // the only wait: after the loop (logs are read back asynchronously)
  const seconds = (performance.now() - t0) / 1000, cpu = cpuSeconds() - c0;
  await trainer.settle();
  trainer.dispose();
  return { rate: (steps * batch) / seconds, cpuPerStep: cpu / steps, l0 };
}

function cpuRate(d: number, ratio: number, rows: number): number {
  const sae = cpuSae(d, ratio * d);
  const x = randomBatch(rows, d);
  cpuStep(sae, x, 1e-3);
  const t0 = performance.now();
  cpuStep(sae, x, 1e-3);
  return rows / ((performance.now() - t0) / 1000);
}

const shapes = [
  { label: "paper   d_in 512, R 4, batch 4096", d: 512, ratio: 4, batch: 4096, steps: 3, cpuRows: 256 },
  { label: "default d_in 128, R 4, batch 4096", d: 128, ratio: 4, batch: 4096, steps: 8, cpuRows: 1024 },
];
const fmt = (v: number) => Math.round(v).toLocaleString("en-US").padStart(6);
console.log("shape                               codes           webgpu vec/s   (cpu-s/step)   cpu-js vec/s");
for (const s of shapes) {
  const spec: SaeSpec = { kind: "untied", dIn: s.d, dDict: s.ratio * s.d, l1: 1e-3 };
  const c = cpuRate(s.d, s.ratio, s.cpuRows);
  for (const sparse of [false, true]) {
    const g = await gpuRate(spec, s.batch, s.steps, sparse);
    const codes = `L0 ${Math.round(g.l0)} (${((100 * g.l0) / spec.dDict).toFixed(0)}%)`.padEnd(14);
    const cpu = `(${g.cpuPerStep.toFixed(2)})`.padStart(8);
    console.log(`${s.label}   ${codes}  ${fmt(g.rate)}       ${cpu}       ${sparse ? "     —" : fmt(c)}`);
  }
}
console.log("cpu-s/step: CPU time of this process (host and adapter threads) per step; with other work on the");
console.log("machine, batch ÷ (cpu-s/step ÷ 2 cores) bounds what an idle 2-core machine would give.");
console.log(`peer: ${PYTORCH}`);
console.log("target at the paper's shape: ≥ 1,500 vectors/s");
gpu.destroy();
