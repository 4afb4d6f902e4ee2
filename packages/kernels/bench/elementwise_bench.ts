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
 * then reads one float back (one submit and one wait per measurement); the
 * median and the best of `rounds` measurements are reported.
 *
 * Run: `deno run -A packages/kernels/bench/elementwise_bench.ts` (prints one JSON object).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { createGpu, type Gpu, type Tensor } from "@saelab/gpu";
import { mapTuning, type MapVariant, runMap } from "../_map.ts";
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
  { name: "vec4_wg64_per1", variant: "vec4", tuning: { wg: 64, per: 1 } },
  { name: "vec4_wg256_per1", variant: "vec4", tuning: { wg: 256, per: 1 } },
  { name: "vec4_wg256_per2", variant: "vec4", tuning: { wg: 256, per: 2 } },
  { name: "vec4_wg256_per4", variant: "vec4", tuning: { wg: 256, per: 4 } },
  { name: "vec4_wg512_per4", variant: "vec4", tuning: { wg: 512, per: 4 } },
  { name: "vec4_wg256_per8", variant: "vec4", tuning: { wg: 256, per: 8 } },
];

/** Result of one kernel/variant pair. */
interface Rate {
  /** Median GB/s over the rounds. */
  gbps: number;
  /** Best GB/s over the rounds. */
  best: number;
  /** Median milliseconds per call. */
  ms: number;
}

function summarise(seconds: number[], bytes: number): Rate {
  const sorted = [...seconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const round = (v: number) => Math.round(v * 100) / 100;
  return { gbps: round(bytes / median / 1e9), best: round(bytes / sorted[0] / 1e9), ms: round(median * 1e3) };
}

/** Seconds per call of `step`, measured `ROUNDS` times after a warm-up; `probe` is read once per round. */
async function measure(gpu: Gpu, step: () => void, probe: Tensor): Promise<number[]> {
  step();
  await gpu.readBuffer(probe.buffer, 4); // compile and warm up
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) step();
    await gpu.readBuffer(probe.buffer, 4);
    out.push((performance.now() - t0) / ITERATIONS / 1e3);
  }
  return out;
}

async function saelab(gpu: Gpu): Promise<{ relu: Record<string, Rate>; adam: Record<string, Rate> }> {
  const x = gpu.upload(Float32Array.from({ length: N }, (_, i) => (i % 7) - 3), [N], "bench.x");
  const y = gpu.empty([N], "f32", "bench.y");
  const param = gpu.upload(Float32Array.from({ length: N }, (_, i) => Math.sin(i)), [N], "bench.param");
  const grad = gpu.upload(Float32Array.from({ length: N }, (_, i) => Math.cos(i)), [N], "bench.grad");
  const m = gpu.zeros([N], "f32", "bench.m");
  const v = gpu.zeros([N], "f32", "bench.v");
  const params = adamParams({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 10, weightDecay: 0.01 });
  const relu: Record<string, Rate> = {};
  const adam: Record<string, Rate> = {};
  try {
    for (const c of VARIANTS) {
      const reluStep = () => runMap(gpu, RELU, { tensors: { x, y }, variant: c.variant, tuning: c.tuning });
      relu[c.name] = summarise(await measure(gpu, reluStep, y), BYTES.relu * N);
      const adamStep = () =>
        runMap(gpu, ADAM, { tensors: { p: param, g: grad, m, v }, params, variant: c.variant, tuning: c.tuning });
      adam[c.name] = summarise(await measure(gpu, adamStep, param), BYTES.adam * N);
      console.error(`${c.name}: relu ${relu[c.name].gbps} GB/s, adam ${adam[c.name].gbps} GB/s`);
    }
  } finally {
    for (const t of [x, y, param, grad, m, v]) t.dispose();
  }
  return { relu, adam };
}

async function tfjs(): Promise<{ relu: Rate; adam: Rate } | { error: string }> {
  try {
    if (!(await tf.setBackend("webgpu"))) return { error: "the webgpu backend did not initialise" };
    await tf.ready();
    const time = async (step: () => tf.Tensor): Promise<number[]> => {
      const read = async (t: tf.Tensor) => {
        const first = tf.slice(tf.reshape(t, [-1]), 0, 1);
        await first.data();
        first.dispose();
      };
      let last = step();
      await read(last);
      const out: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        for (let i = 0; i < ITERATIONS; i++) {
          const next = step();
          if (next !== last) last.dispose();
          last = next;
        }
        await read(last);
        out.push((performance.now() - t0) / ITERATIONS / 1e3);
      }
      last.dispose();
      return out;
    };
    const x = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => (i % 7) - 3));
    const relu = summarise(await time(() => tf.relu(x)), BYTES.relu * N);
    x.dispose();
    const param = tf.variable(tf.tensor1d(Float32Array.from({ length: N }, (_, i) => Math.sin(i))));
    const grad = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => Math.cos(i)));
    const optimizer = tf.train.adam(1e-4, 0.9, 0.999, 1e-8);
    const adam = summarise(
      await time(() => {
        optimizer.applyGradients([{ name: param.name, tensor: grad }]);
        return param;
      }),
      BYTES.adam * N,
    );
    optimizer.dispose();
    grad.dispose();
    param.dispose();
    console.error(`tfjs-webgpu: relu ${relu.gbps} GB/s, adam ${adam.gbps} GB/s (effective)`);
    return { relu, adam };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

async function main(): Promise<void> {
  const gpu = await createGpu();
  const info = gpu.adapter.info;
  const tuning = mapTuning(gpu, "vec4");
  const library = `vec4_wg${tuning.wg}_per${tuning.per}`;
  const ours = await saelab(gpu);
  gpu.destroy();
  const peer = await tfjs();
  const best = (rates: Record<string, Rate>) => Object.entries(rates).reduce((a, b) => (b[1].gbps > a[1].gbps ? b : a));

  const result = {
    bench: "elementwise",
    backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
    adapter: { software: gpu.isSoftware, vendor: info?.vendor ?? "", description: info?.description ?? "" },
    floats: N,
    iterations: ITERATIONS,
    rounds: ROUNDS,
    bytesPerElement: BYTES,
    targetGbps: 5,
    libraryDefault: library,
    relu: { ...ours.relu, tfjs_webgpu: "error" in peer ? peer : peer.relu },
    adam: { ...ours.adam, tfjs_webgpu_effective: "error" in peer ? peer : peer.adam },
    fastest: { relu: best(ours.relu)[0], adam: best(ours.adam)[0] },
  };
  console.log(JSON.stringify(result, null, 2));
}

if (import.meta.main) await main();
