/**
 * Elementwise benchmark: GB/s of ReLU and of the fused Adam step over 8M
 * floats, for several ways of walking storage buffers (one f32 per invocation,
 * `vec4` loads with various workgroup sizes and units per invocation) and for
 * TensorFlow.js's WebGPU backend on the same adapter in the same run.
 *
 * Bytes counted per element: ReLU reads 4 and writes 4; Adam reads param,
 * grad, m, v (16) and writes param, m, v (12). TensorFlow.js's Adam runs as
 * several kernels that move more bytes; it is scored on the same 28 bytes, so
 * its figure is an effective rate.
 *
 * Each measurement records `iterations` dispatches into one command encoder,
 * then reads one float back (one submit and one wait per measurement). The
 * cases are timed round-robin, `rounds` times, so that load from other
 * processes on the CPU behind a software adapter falls on all of them alike;
 * the median and the best round are reported, with the load average.
 *
 * Run: `deno run -A packages/kernels/bench/elementwise_bench.ts` (prints one JSON object).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { createGpu, type Gpu, type Tensor } from "@saelab/gpu";
import { MAP_VARIANTS, type MapVariant, runMap } from "../_map.ts";
import { RELU } from "../relu.ts";
import { ADAM, adamParams } from "../adam.ts";

const N = 8 * 1024 * 1024;
const ITERATIONS = 20;
const ROUNDS = 3;
const BYTES = { relu: 8, adam: 28 };

interface Variant {
  name: string;
  variant: MapVariant;
  tuning: { wg: number; per: number };
}

const VARIANTS: Variant[] = [
  { name: "naive_f32_wg64", variant: "scalar", tuning: { wg: 64, per: 1 } },
  { name: "f32_wg256", variant: "scalar", tuning: { wg: 256, per: 1 } },
  { name: "vec4_wg256_per1", variant: "vec4", tuning: { wg: 256, per: 1 } },
  { name: "vec4_wg256_per4", variant: "vec4", tuning: { wg: 256, per: 4 } },
  { name: "vec4_wg512_per4", variant: "vec4", tuning: { wg: 512, per: 4 } },
  { name: "vec4_wg256_per8", variant: "vec4", tuning: { wg: 256, per: 8 } },
];

/** Result of one kernel/variant pair. */
interface Rate {
  /** Median GB/s over the rounds (wall clock). */
  gbps: number;
  /** Best GB/s over the rounds (wall clock). */
  best: number;
  /** Median milliseconds per call. */
  ms: number;
  /**
   * GB/s if this process had every core to itself: bytes over (CPU seconds of the process ÷ cores),
   * median over the rounds; absent where `/proc/self/stat` cannot be read.
   */
  cpuGbps?: number;
}

/** User + system CPU seconds of this process (all threads, the software adapter's included), or NaN. */
function cpuSeconds(): number {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, 100 per second on Linux
  } catch {
    return NaN;
  }
}

/** One timed configuration: `step` records one call, `sync` waits for all recorded calls via a one-float read. */
interface Case {
  kernel: "relu" | "adam";
  name: string;
  step: () => void;
  sync: () => Promise<void>;
}

function summarise(t: Timing, bytes: number): Rate {
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const round = (v: number) => Math.round(v * 100) / 100;
  const wall = median(t.wall), cpu = median(t.cpu) / navigator.hardwareConcurrency;
  const rate: Rate = {
    gbps: round(bytes / wall / 1e9),
    best: round(bytes / Math.min(...t.wall) / 1e9),
    ms: round(wall * 1e3),
  };
  if (Number.isFinite(cpu) && cpu > 0) rate.cpuGbps = round(bytes / cpu / 1e9);
  return rate;
}

/** The elementwise engine's variants, on this package's GPU context. */
function saelabCases(gpu: Gpu, owned: Tensor[]): Case[] {
  const x = gpu.upload(Float32Array.from({ length: N }, (_, i) => (i % 7) - 3), [N], "bench.x");
  const y = gpu.empty([N], "f32", "bench.y");
  const param = gpu.upload(Float32Array.from({ length: N }, (_, i) => Math.sin(i)), [N], "bench.param");
  const grad = gpu.upload(Float32Array.from({ length: N }, (_, i) => Math.cos(i)), [N], "bench.grad");
  const m = gpu.zeros([N], "f32", "bench.m");
  const v = gpu.zeros([N], "f32", "bench.v");
  owned.push(x, y, param, grad, m, v);
  const params = adamParams({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 10, weightDecay: 0.01 });
  const maxWg = Math.min(gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  return VARIANTS.filter((c) => c.tuning.wg <= maxWg).flatMap((c): Case[] => [
    {
      kernel: "relu",
      name: c.name,
      step: () => runMap(gpu, RELU, { tensors: { x, y }, variant: c.variant, tuning: c.tuning }),
      sync: async () => void await gpu.readBuffer(y.buffer, 4),
    },
    {
      kernel: "adam",
      name: c.name,
      step: () =>
        runMap(gpu, ADAM, { tensors: { p: param, g: grad, m, v }, params, variant: c.variant, tuning: c.tuning }),
      sync: async () => void await gpu.readBuffer(param.buffer, 4),
    },
  ]);
}

/** TensorFlow.js's WebGPU backend: `tf.relu` and `tf.train.adam` on tensors of the same size. */
async function tfjsCases(cleanup: (() => void)[]): Promise<Case[]> {
  if (!(await tf.setBackend("webgpu"))) throw new Error("the webgpu backend did not initialise");
  await tf.ready();
  const readFirst = async (t: tf.Tensor) => {
    const first = tf.slice(tf.reshape(t, [-1]), 0, 1);
    await first.data();
    first.dispose();
  };
  const x = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => (i % 7) - 3));
  let last: tf.Tensor | null = null;
  const param = tf.variable(tf.tensor1d(Float32Array.from({ length: N }, (_, i) => Math.sin(i))));
  const grad = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => Math.cos(i)));
  const optimizer = tf.train.adam(1e-4, 0.9, 0.999, 1e-8);
  cleanup.push(() => {
    last?.dispose();
    for (const t of [x, param, grad, optimizer]) t.dispose();
  });
  return [
    {
      kernel: "relu",
      name: "tfjs_webgpu",
      step: () => {
        last?.dispose(); // the previous result, already recorded, is not needed
        last = tf.relu(x);
      },
      sync: () => readFirst(last!),
    },
    {
      kernel: "adam",
      name: "tfjs_webgpu_effective",
      step: () => optimizer.applyGradients([{ name: param.name, tensor: grad }]),
      sync: () => readFirst(param),
    },
  ];
}

/** Seconds per call, wall clock and process CPU time, one entry per round. */
interface Timing {
  wall: number[];
  cpu: number[];
}

/** Time every case round-robin, so that load from other processes falls on all of them alike. */
async function run(cases: Case[]): Promise<Map<Case, Timing>> {
  const times = new Map<Case, Timing>(cases.map((c) => [c, { wall: [], cpu: [] }]));
  for (const c of cases) {
    c.step();
    await c.sync(); // compile and warm up
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const t0 = performance.now(), c0 = cpuSeconds();
      for (let i = 0; i < ITERATIONS; i++) c.step();
      await c.sync();
      times.get(c)!.wall.push((performance.now() - t0) / ITERATIONS / 1e3);
      times.get(c)!.cpu.push((cpuSeconds() - c0) / ITERATIONS);
    }
    console.error(`round ${r + 1} of ${ROUNDS} done`);
  }
  return times;
}

async function main(): Promise<void> {
  const loadBefore = Deno.loadavg();
  const gpu = await createGpu();
  const info = gpu.adapter.info;
  const owned: Tensor[] = [];
  const cleanup: (() => void)[] = [];
  const cases = saelabCases(gpu, owned);
  let peerError: string | undefined;
  try {
    cases.push(...await tfjsCases(cleanup));
  } catch (e) {
    peerError = e instanceof Error ? e.message : String(e);
  }
  const times = await run(cases);
  for (const t of owned) t.dispose();
  for (const f of cleanup) f();
  gpu.destroy();
  const table = (kernel: "relu" | "adam") => {
    const rows: Record<string, Rate | { error: string }> = {};
    for (const c of cases) if (c.kernel === kernel) rows[c.name] = summarise(times.get(c)!, BYTES[kernel] * N);
    if (peerError) rows[kernel === "relu" ? "tfjs_webgpu" : "tfjs_webgpu_effective"] = { error: peerError };
    return rows;
  };
  const relu = table("relu"), adam = table("adam");
  const fastest = (rows: Record<string, Rate | { error: string }>) =>
    Object.entries(rows).filter(([, r]) => "gbps" in r).sort((a, b) => (b[1] as Rate).gbps - (a[1] as Rate).gbps)[0][0];
  const result = {
    bench: "elementwise",
    backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
    adapter: { software: gpu.isSoftware, vendor: info?.vendor ?? "", description: info?.description ?? "" },
    // other processes share the CPU that runs a software adapter: 1-minute load averages before and after
    loadAverage: [loadBefore[0], Deno.loadavg()[0]],
    floats: N,
    iterations: ITERATIONS,
    rounds: ROUNDS,
    bytesPerElement: BYTES,
    targetGbps: 5,
    libraryDefault: `vec4_wg${MAP_VARIANTS.vec4.wg}_per${MAP_VARIANTS.vec4.per}`,
    relu,
    adam,
    fastest: { relu: fastest(relu), adam: fastest(adam) },
  };
  console.log(JSON.stringify(result, null, 2));
}

if (import.meta.main) await main();
