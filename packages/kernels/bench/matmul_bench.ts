/**
 * Matmul benchmark: GFLOP/s (2·m·n·k per call) on the SAE shapes for each
 * kernel of `matmul` — naive, storage-tiled, texture — for TensorFlow.js's
 * WebGPU backend (`tf.matMul`) on the same adapter, and for PyTorch on the
 * CPU (`torch.matmul` in `bench/torch_peer.py`, 2 threads), all in the same run.
 *
 * Shapes (batch 4096, d_in 512, d_sae 2048):
 * - `[4096×512]·[512×2048]`   encoder forward, x·W_enc;
 * - `[4096×2048]ᵀ·[4096×512]` decoder weight gradient, fᵀ·δ;
 * - `[4096×2048]·[2048×512]`  decoder forward, f·W_dec.
 *
 * Each case is compiled and warmed up first. A measurement records
 * `iterations` calls (enough for about two seconds; texture staging and the
 * epilogue included) and then reads one float back: one submit and one wait.
 * Cases run round-robin so that load from other processes falls on all of
 * them alike; every case, TensorFlow.js's included, is measured in every round
 * (one call per measurement where a call takes longer than two seconds), and
 * the median and the best of the rounds are reported.
 *
 * PyTorch runs after our rounds, once the adapter is destroyed (so that a
 * software adapter's threads are idle), on the same shapes, inputs and
 * transposes (views of the same storage): one warm-up call, then the same
 * number of rounds of a fixed number of calls. Each shape's row gives its
 * GFLOP/s and the ratio of our default kernel and of our fastest one to it;
 * `cases` holds those comparisons with both sides' seconds per call, and
 * `loadAverage` the load before our side and after the peer's.
 *
 * Run: `deno run -A packages/kernels/bench/matmul_bench.ts [--skip naive,tfjs,torch] [--rounds R] [--tiny]`
 * (`--skip`: leave out those kernels, TensorFlow.js or the PyTorch peer; `--tiny`: the same three products
 * at batch 64, d_in 8, d_sae 32 and short measurements, for tests). Prints one JSON object; progress goes
 * to stderr.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { createGpu, type Gpu, type Tensor } from "@saelab/gpu";
import { matmul, type MatmulVariant, matmulVariant } from "../matmul.ts";
import { type Comparison, loadAverage, peerSummary } from "../../../bench/torch_peer.ts";
import { matmulPeer, type MatmulShape as Shape, peerColumns } from "./_matmul_peer.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { skip: { type: "string" }, rounds: { type: "string" }, tiny: { type: "boolean" } },
});

/** The three products of an SAE step at batch `b`, input width `d` and dictionary size `f`. */
function saeShapes(b: number, d: number, f: number): Shape[] {
  return [
    { name: `[${b}×${d}]·[${d}×${f}]`, m: b, k: d, n: f, transposeA: false, transposeB: false },
    { name: `[${b}×${f}]ᵀ·[${b}×${d}]`, m: f, k: b, n: d, transposeA: true, transposeB: false },
    { name: `[${b}×${f}]·[${f}×${d}]`, m: b, k: f, n: d, transposeA: false, transposeB: false },
  ];
}

const SHAPES = args.tiny ? saeShapes(64, 8, 32) : saeShapes(4096, 512, 2048);
const KERNELS = ["naive", "tiled", "texture", "tfjs_webgpu"] as const;
type Kernel = (typeof KERNELS)[number];
const ROUNDS = Number(args.rounds ?? 3);
const SECONDS_PER_MEASUREMENT = args.tiny ? 0.05 : 2;
/** Calls per round of the PyTorch peer (its calls are far shorter than ours, so a round holds several). */
const PEER_STEPS = args.tiny ? 2 : 20;

/** One timed configuration: `step` records one call, `sync` waits for everything recorded. */
interface Case {
  shape: Shape;
  kernel: Kernel;
  step: () => void;
  sync: () => Promise<void>;
  times: number[];
  cpu: number[];
}

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
}

function stored(s: Shape): { a: number[]; b: number[] } {
  return { a: s.transposeA ? [s.k, s.m] : [s.m, s.k], b: s.transposeB ? [s.n, s.k] : [s.k, s.n] };
}

function saelabCases(gpu: Gpu, kernels: Kernel[], owned: Tensor[]): Case[] {
  const cases: Case[] = [];
  for (const shape of SHAPES) {
    const dims = stored(shape);
    const a = gpu.upload(values(shape.m * shape.k, 1), dims.a, "bench.a");
    const b = gpu.upload(values(shape.k * shape.n, 2), dims.b, "bench.b");
    const out = gpu.empty([shape.m, shape.n], "f32", "bench.c");
    owned.push(a, b, out);
    for (const kernel of kernels) {
      if (kernel === "tfjs_webgpu") continue;
      const options = { transposeA: shape.transposeA, transposeB: shape.transposeB, out, variant: kernel };
      cases.push({
        shape,
        kernel,
        step: () => void matmul(gpu, a, b, options),
        sync: async () => void await gpu.readBuffer(out.buffer, 4),
        times: [],
        cpu: [],
      });
    }
  }
  return cases;
}

async function tfjsCases(cleanup: (() => void)[]): Promise<Case[]> {
  if (!(await tf.setBackend("webgpu"))) throw new Error("the webgpu backend did not initialise");
  await tf.ready();
  return SHAPES.map((shape) => {
    const dims = stored(shape);
    const a = tf.tensor2d(values(shape.m * shape.k, 1), dims.a as [number, number]);
    const b = tf.tensor2d(values(shape.k * shape.n, 2), dims.b as [number, number]);
    let last: tf.Tensor | null = null;
    cleanup.push(() => {
      last?.dispose();
      a.dispose();
      b.dispose();
    });
    return {
      shape,
      kernel: "tfjs_webgpu" as const,
      step: () => {
        last?.dispose(); // already recorded; only the newest result is read
        last = tf.matMul(a, b, shape.transposeA, shape.transposeB);
      },
      sync: async () => {
        const first = tf.slice(tf.reshape(last!, [-1]), 0, 1);
        await first.data();
        first.dispose();
      },
      times: [],
      cpu: [],
    };
  });
}

/**
 * Record `iterations` calls back to back and wait once; push the wall-clock
 * and the process CPU seconds (all threads, the software adapter's included) per call.
 */
async function measure(c: Case, iterations: number): Promise<number> {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < iterations; i++) c.step();
  await c.sync();
  const wall = (performance.now() - t0) / 1e3 / iterations;
  const cpu = process.cpuUsage(cpu0);
  c.times.push(wall);
  c.cpu.push((cpu.user + cpu.system) / 1e6 / iterations);
  return wall;
}

async function run(cases: Case[]): Promise<Map<Case, number>> {
  const iterations = new Map<Case, number>();
  for (const c of cases) {
    c.step();
    await c.sync(); // compile and warm up
    const once = await measure(c, 1);
    iterations.set(c, Math.max(1, Math.round(SECONDS_PER_MEASUREMENT / once)));
    console.error(`${c.kernel} ${c.shape.name}: ${(once * 1e3).toFixed(0)} ms per call`);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      if (r === 0) c.times.length = c.cpu.length = 0; // drop the calibration call
      await measure(c, iterations.get(c)!);
    }
    console.error(`round ${r + 1} of ${ROUNDS} done`);
  }
  return iterations;
}

function summary(c: Case, iterations: number, cores: number) {
  const flops = 2 * c.shape.m * c.shape.n * c.shape.k;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const round = (v: number) => Math.round(v * 100) / 100;
  const wall = median(c.times), cpu = median(c.cpu);
  return {
    gflops: round(flops / wall / 1e9),
    best: round(flops / Math.min(...c.times) / 1e9),
    ms: round(wall * 1e3),
    cpuMs: round(cpu * 1e3),
    cpuNormalisedGflops: round(flops / (cpu / cores) / 1e9),
    iterations,
    rounds: c.times.length,
  };
}

async function main(): Promise<void> {
  const skip = (args.skip ?? "").split(",");
  const kernels = KERNELS.filter((k) => !skip.includes(k) && !(k === "tfjs_webgpu" && skip.includes("tfjs")));
  const loadBefore = loadAverage();
  const cores = navigator.hardwareConcurrency;
  const gpu = await createGpu();
  const owned: Tensor[] = [];
  const cleanup: (() => void)[] = [];
  const cases = saelabCases(gpu, kernels, owned);
  const defaults: Record<string, MatmulVariant> = {};
  for (const s of SHAPES) {
    const t = stored(s);
    const [a, b] = [gpu.empty(t.a), gpu.empty(t.b)];
    defaults[s.name] = matmulVariant(gpu, a, b, s);
    a.dispose();
    b.dispose();
  }
  let peerError: string | undefined;
  if (kernels.includes("tfjs_webgpu")) {
    try {
      cases.push(...await tfjsCases(cleanup));
    } catch (e) {
      peerError = e instanceof Error ? e.message : String(e);
    }
  }
  const iterations = await run(cases);
  for (const t of owned) t.dispose();
  for (const f of cleanup) f();
  const info = gpu.adapter.info;
  gpu.destroy();
  const torch = await matmulPeer(SHAPES, { rounds: ROUNDS, steps: PEER_STEPS, skip: skip.includes("torch") });
  const loadAfter = loadAverage();
  const shapes: Record<string, Record<string, unknown>> = {};
  const comparisons: Comparison[] = [];
  for (const [i, s] of SHAPES.entries()) {
    const row: Record<string, unknown> = {
      m: s.m,
      k: s.k,
      n: s.n,
      transposeA: s.transposeA,
      default: defaults[s.name],
    };
    for (const c of cases) if (c.shape === s) row[c.kernel] = summary(c, iterations.get(c)!, cores);
    if (peerError) row.tfjs_webgpu = { error: peerError };
    const rate = (k: string) => (row[k] as { gflops?: number } | undefined)?.gflops;
    const [best, peer] = [rate(defaults[s.name]), rate("tfjs_webgpu")];
    if (best !== undefined && peer !== undefined) row.defaultOverTfjs = Math.round((best / peer) * 10) / 10;
    const ours = cases.filter((c) => c.shape === s && c.kernel !== "tfjs_webgpu");
    const columns = peerColumns(s, { peer: torch, index: i, steps: PEER_STEPS, ours, defaultKernel: defaults[s.name] });
    Object.assign(row, columns.fields);
    comparisons.push(...columns.cases);
    shapes[s.name] = row;
  }
  console.log(JSON.stringify(
    {
      bench: "matmul",
      date: new Date().toISOString(),
      backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
      adapter: { software: gpu.isSoftware, vendor: info?.vendor ?? "", description: info?.description ?? "" },
      // other processes share the CPU that runs a software adapter: before our side, after the peer's
      loadAverage: { before: loadBefore, after: loadAfter },
      cores,
      unit: "GFLOP/s",
      peer: peerSummary(torch),
      notes: "gflops: median wall-clock rate; best: fastest round; cpuMs: process CPU time per call (all " +
        "threads); cpuNormalisedGflops: flops / (cpuMs / cores), the rate the CPU work would give with " +
        "the cores to itself (a software adapter shares them with every other process); pytorch_cpu: " +
        "torch.matmul on the CPU, run after our rounds; fastest: our kernel with the highest median rate; " +
        "defaultOverPytorch, fastestOverPytorch: our rate ÷ PyTorch's (null when the peer did not run); " +
        "cases: those comparisons in MFLOP/s with both sides' seconds per call (the fastest kernel's row " +
        "only where it is not the default)",
      targets: { gflops: 20, timesTfjs: 10 },
      shapes,
      cases: comparisons,
    },
    null,
    2,
  ));
}

if (import.meta.main) await main();
