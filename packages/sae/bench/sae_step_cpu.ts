/**
 * Process CPU seconds (and wall seconds) per SAE training step of `SweepTrainer`, for one case: steadier than
 * wall time on a shared machine, where llvmpipe's threads, which run in this process, wait for cores. Same
 * setup as `sae_bench.ts` (untied, α 1e-3, random rows in [−1, 1]); `--fire f` sets each encoder bias at minus
 * its feature's (1 − f) quantile of pre-activations on 256 rows, so that about f of the codes fire (default:
 * weights at initialisation, about half fire). Two warm-up steps, then `--steps` timed steps and one wait.
 *
 * Run: `deno run -A packages/sae/bench/sae_step_cpu.ts [--shape paper|default] [--fire 0.04]
 * [--sparse-limit x] [--steps s]` (`--sparse-limit 0`: the dense path only). Prints one JSON line.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { type SaeSpec, type StepLog, SweepTrainer } from "@saelab/sae";
import { sparseWeights } from "./_sparse_weights.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    shape: { type: "string", default: "paper" },
    fire: { type: "string" },
    "sparse-limit": { type: "string" },
    steps: { type: "string" },
  },
});
const paper = values.shape === "paper";
if (!paper && values.shape !== "default") {
  console.error(`Invalid --shape: ${JSON.stringify(values.shape)} is not paper or default`);
  Deno.exit(2);
}
const d = paper ? 512 : 128, n = 4 * d, rows = paper ? 4096 : 1024;
const steps = Number(values.steps ?? (paper ? 3 : 16));
const fire = values.fire === undefined ? null : Number(values.fire);
const spec: SaeSpec = { kind: "untied", dIn: d, dDict: n, l1: 1e-3 };
const data = Float32Array.from({ length: rows * d }, () => Math.random() * 2 - 1);

const gpu = await createGpu();
let l0 = NaN;
const trainer = new SweepTrainer(gpu, [spec], {
  batchSize: rows,
  weights: fire === null ? undefined : [sparseWeights(spec, { sample: data.subarray(0, 256 * d), fire })],
  logEvery: 0,
  logAlso: 2 + steps,
  onLog: (l: StepLog) => l0 = l.members[0].l0,
  sparseLimit: values["sparse-limit"] === undefined ? undefined : Number(values["sparse-limit"]),
});
trainer.step(data);
trainer.step(data);
await gpu.sync();
const cpu0 = process.cpuUsage(), t0 = performance.now();
for (let s = 0; s < steps; s++) trainer.step(data);
await gpu.sync();
const cpu = process.cpuUsage(cpu0), wall = (performance.now() - t0) / 1000 / steps;
await trainer.settle();
console.log(JSON.stringify({
  shape: { dIn: d, ratio: 4, batch: rows },
  codes: { l0: +l0.toFixed(1), fraction: +(l0 / n).toFixed(3) },
  sparseLimit: values["sparse-limit"] ?? "default",
  cpuSecondsPerStep: +((cpu.user + cpu.system) / 1e6 / steps).toFixed(3),
  wallSecondsPerStep: +wall.toFixed(3),
  loadAverage: Deno.loadavg(),
}));
trainer.dispose();
gpu.destroy();
