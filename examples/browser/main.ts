/// <reference lib="dom" />
/**
 * The kernels on their own in a page: a matmul and one Adam step on the browser's WebGPU, each compared
 * with a float64 CPU reference. The page's `<body data-state>` ends `ready` when both agree within
 * tolerance, else `error`; `#result` holds the report as JSON (or the error). Bundled for the browser by
 * `deno task bundle:example` into `.cache/examples/browser/main.js`, which `serve.ts` serves as `/main.js`.
 *
 * @module
 */
import { closeness, createGpu, type Gpu } from "@saelab/gpu";
import { adam, matmul, matmulRef } from "@saelab/kernels";

/** Tolerances of the comparisons (float32 on the GPU against float64 on the CPU). */
const TOL = { atol: 1e-5, rtol: 1e-4 };

/** One kernel's comparison with its reference. */
interface Check {
  /** What ran, with its shape. */
  what: string;
  /** Largest |GPU − CPU|. */
  maxAbs: number;
  /** Whether every element is within `atol + rtol·|ref|`. */
  ok: boolean;
}

/** A small seeded generator of uniform numbers in [-1, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  };
}

async function checkMatmul(gpu: Gpu): Promise<Check> {
  const m = 64, k = 96, n = 48, rand = uniform(1);
  const a = Float32Array.from({ length: m * k }, rand), b = Float32Array.from({ length: k * n }, rand);
  using ta = gpu.upload(a, [m, k], "example.a");
  using tb = gpu.upload(b, [k, n], "example.b");
  using c = matmul(gpu, ta, tb);
  const got = await c.read();
  const c64 = closeness(got, matmulRef(a, b, { m, n, k }), TOL);
  return { what: `matmul [${m}, ${k}]·[${k}, ${n}]`, maxAbs: c64.maxAbs, ok: c64.excess <= 0 };
}

async function checkAdam(gpu: Gpu): Promise<Check> {
  const size = 1000, rand = uniform(2);
  const p = Float32Array.from({ length: size }, rand), g = Float32Array.from({ length: size }, rand);
  const m = Float32Array.from({ length: size }, () => 0.1 * rand());
  const v = Float32Array.from({ length: size }, () => 0.01 * (rand() + 1));
  const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3, weightDecay: 0.01 };
  using param = gpu.upload(p, [size], "example.param");
  using grad = gpu.upload(g, [size], "example.grad");
  using tm = gpu.upload(m, [size], "example.m");
  using tv = gpu.upload(v, [size], "example.v");
  adam(gpu, { param, grad, m: tm, v: tv }, o);
  const got = await param.read();
  const want = new Float64Array(size); // AdamW with bias correction, in float64
  for (let i = 0; i < size; i++) {
    const mi = o.beta1 * m[i] + (1 - o.beta1) * g[i], vi = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    const mHat = mi / (1 - o.beta1 ** o.step), vHat = vi / (1 - o.beta2 ** o.step);
    want[i] = p[i] - o.lr * mHat / (Math.sqrt(vHat) + o.eps) - o.lr * o.weightDecay * p[i];
  }
  const c = closeness(got, want, TOL);
  return { what: `adam step ${o.step} on ${size} parameters`, maxAbs: c.maxAbs, ok: c.excess <= 0 };
}

async function main(): Promise<void> {
  const out = document.getElementById("result")!;
  try {
    const gpu = await createGpu();
    try {
      const checks = [await checkMatmul(gpu), await checkAdam(gpu)];
      const report = { adapter: gpu.isSoftware ? "software" : "hardware", tolerance: TOL, checks };
      out.textContent = JSON.stringify(report, null, 2);
      const bad = checks.filter((c) => !c.ok).map((c) => c.what);
      if (bad.length) throw new Error(`GPU and CPU disagree beyond tolerance: ${bad.join(", ")}`);
      document.body.dataset.state = "ready";
    } finally {
      gpu.destroy();
    }
  } catch (e) {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    out.textContent = out.textContent === "Running…" ? text : `${out.textContent}\n\n${text}`;
    document.body.dataset.state = "error";
  }
}

main();
