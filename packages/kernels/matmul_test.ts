import assert from "node:assert/strict";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { matmul, type MatmulOptions, matmulVariant, releaseMatmulTextures } from "./matmul.ts";
import { matmulRef } from "./matmul_ref.ts";
import { cachedTextureCount, wrapShift } from "./_matmul_stage.ts";
import { textureLoadsSupported } from "./_matmul_texture.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
if (!textureLoadsSupported()) {
  console.warn("WGSL has no read-only storage textures here: the texture variant's tests run the tiled fallback");
}
const VARIANTS = ["naive", "tiled", "texture"] as const;

const random = (n: number, seed: number) => randomFloats(n, seed);

interface Case {
  m: number;
  k: number;
  n: number;
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: boolean;
  relu?: boolean;
  alpha?: number;
  accumulate?: boolean;
}

/** Run one case on one variant and compare with the float64 reference. */
async function check(c: Case, variant: (typeof VARIANTS)[number], seed = 1): Promise<void> {
  const { m, k, n } = c;
  const ha = random(m * k, seed), hb = random(k * n, seed + 1);
  const hbias = random(n, seed + 2), hprev = random(m * n, seed + 3);
  const a = gpu.upload(ha, c.transposeA ? [k, m] : [m, k], "a"); // [m, k] or [k, m]
  const b = gpu.upload(hb, c.transposeB ? [n, k] : [k, n], "b"); // [k, n] or [n, k]
  const bias = c.bias ? gpu.upload(hbias, [n], "bias") : undefined; // [n]
  const out = c.accumulate ? gpu.upload(hprev, [m, n], "out") : undefined; // [m, n]
  const options: MatmulOptions = {
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    bias,
    relu: c.relu,
    alpha: c.alpha,
    accumulate: c.accumulate,
    out,
    variant,
  };
  const result = matmul(gpu, a, b, options); // [m, n]
  try {
    assert.deepEqual(result.shape, [m, n]);
    if (out) assert.equal(result, out);
    const expected = matmulRef(ha, hb, {
      m,
      n,
      k,
      transposeA: c.transposeA,
      transposeB: c.transposeB,
      bias: c.bias ? hbias : undefined,
      relu: c.relu,
      alpha: c.alpha,
      accumulate: c.accumulate ? hprev : undefined,
    });
    const what = `${variant} ${JSON.stringify(c)}`;
    assertClose(await result.read(), expected, { atol: 1e-5 * Math.max(1, Math.sqrt(k)), rtol: 1e-4 }, what);
  } finally {
    for (const t of [a, b, bias, result]) t?.dispose();
  }
}

const SHAPES: Case[] = [
  { m: 1, k: 1, n: 1 },
  { m: 5, k: 1, n: 7 }, // K = 1
  { m: 37, k: 19, n: 45 }, // no size a multiple of any tile
  { m: 300, k: 8, n: 3 }, // tall and skinny
  { m: 2, k: 70, n: 130 }, // short and wide, several column tiles
  { m: 33, k: 64, n: 128 }, // texture staging by plain copies
];

for (const variant of VARIANTS) {
  Deno.test(`matmul ${variant}: awkward shapes × all four transpose combinations match the float64 reference`, async () => {
    for (const shape of SHAPES) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) await check({ ...shape, transposeA, transposeB }, variant);
      }
    }
  });

  Deno.test(`matmul ${variant}: bias, ReLU, alpha and accumulate epilogues`, async () => {
    const epilogues: Partial<Case>[] = [
      { bias: true },
      { relu: true },
      { bias: true, relu: true },
      { alpha: -0.5, accumulate: true },
      { bias: true, relu: true, accumulate: true, alpha: 2 },
    ];
    let seed = 10;
    for (const e of epilogues) {
      await check({ m: 19, k: 13, n: 21, transposeB: true, ...e }, variant, seed++);
      await check({ m: 6, k: 33, n: 70, transposeA: true, ...e }, variant, seed++);
    }
  });
}

Deno.test("matmul texture: operands taller than a texture wrap into side-by-side blocks", async () => {
  const tall = 2 ** wrapShift(gpu) + 8;
  await check({ m: tall, k: 64, n: 5 }, "texture"); // A copied in two blocks
  await check({ m: 3, k: tall + 1, n: 5, transposeA: true }, "texture"); // A and B packed with zero rows
  await check({ m: 7, k: 6, n: tall, transposeB: true }, "texture");
});

Deno.test("matmul: variant choice, fallback and the texture cache", async () => {
  const a = gpu.upload(random(24, 1), [4, 6]), b = gpu.upload(random(18, 2), [6, 3]);
  assert.equal(matmulVariant(gpu, a, b), gpu.isSoftware && textureLoadsSupported() ? "texture" : "tiled");
  assert.equal(matmulVariant(gpu, a, b, { variant: "naive" }), "naive");
  const before = cachedTextureCount(gpu);
  for (let i = 0; i < 3; i++) matmul(gpu, a, b, { variant: "texture" }).dispose();
  await gpu.sync();
  assert.ok(cachedTextureCount(gpu) <= before + 2, "repeated shapes reuse their textures");
  // wider than any texture row: the texture variant falls back to the tiled kernel
  const k = 4 * gpu.limits.maxTextureDimension2D + 4;
  const wa = gpu.upload(random(k, 3), [1, k]), wb = gpu.upload(random(k * 2, 4), [k, 2]);
  assert.equal(matmulVariant(gpu, wa, wb, { variant: "texture" }), "tiled");
  for (const t of [a, b, wa, wb]) t.dispose();
  await check({ m: 1, k, n: 2 }, "texture");
  releaseMatmulTextures(gpu);
  assert.equal(cachedTextureCount(gpu), 0);
});

Deno.test("matmul: k = 0 gives the epilogue alone, m = 0 an empty result", async () => {
  const a = gpu.zeros([3, 0]), b = gpu.zeros([0, 2]);
  const bias = gpu.upload(new Float32Array([1.5, -2]), [1, 2]);
  const c = matmul(gpu, a, b, { bias, relu: true });
  assert.deepEqual([...await c.read()], [1.5, 0, 1.5, 0, 1.5, 0]);
  const e = matmul(gpu, gpu.zeros([0, 4]), gpu.zeros([4, 2]));
  assert.deepEqual(e.shape, [0, 2]);
  for (const t of [a, b, bias, c, e]) t.dispose();
});

Deno.test("matmul: reusing out and accumulating over steps", async () => {
  const a = gpu.upload(random(12, 5), [3, 4]), b = gpu.upload(random(8, 6), [4, 2]);
  const out = gpu.zeros([3, 2]);
  for (let step = 0; step < 3; step++) matmul(gpu, a, b, { out, accumulate: true });
  const once = matmulRef(await a.read(), await b.read(), { m: 3, n: 2, k: 4, alpha: 3 });
  assertClose(await out.read(), once, { atol: 1e-5, rtol: 1e-5 }, "three accumulated steps");
  assert.equal(matmul(gpu, a, b, { out }), out);
  for (const t of [a, b, out]) t.dispose();
});

Deno.test("matmul: bad arguments name the shapes", () => {
  const t = (shape: number[]) => gpu.zeros(shape);
  const [a, b, x3] = [t([4, 768]), t([512, 3]), t([2, 3, 4])];
  assert.throws(() => matmul(gpu, a, b), {
    name: "RangeError",
    message: /Cannot run matmul: inner dimensions 768 and 512 differ \(a \[4, 768\], b \[512, 3\]\)/,
  });
  assert.throws(() => matmul(gpu, a, b, { transposeA: true }), /inner dimensions 4 and 512 differ/);
  assert.throws(() => matmul(gpu, x3, b), { name: "RangeError", message: /a must have rank 2, got shape \[2, 3, 4\]/ });
  const [p, q, bias4, out52] = [t([2, 3]), t([3, 5]), t([4]), t([5, 2])];
  assert.throws(() => matmul(gpu, p, q, { bias: bias4 }), {
    name: "RangeError",
    message: /bias has shape \[4\] but the result \[2, 5\] has 5 columns/,
  });
  assert.throws(() => matmul(gpu, p, q, { out: out52 }), { name: "RangeError", message: /\[5, 2\].*\[2, 5\]/ });
  assert.throws(() => matmul(gpu, p, q, { accumulate: true }), { name: "TypeError", message: /accumulate needs/ });
  const square = t([3, 3]);
  assert.throws(() => matmul(gpu, square, square, { out: square }), {
    name: "RangeError",
    message: /shares its buffer/,
  });
  const ints = gpu.upload(new Int32Array(15), [3, 5]);
  assert.throws(() => matmul(gpu, p, ints as unknown as Tensor<"f32">), { name: "TypeError", message: /dtype i32/ });
  assert.throws(() => matmul(gpu, p, q, { variant: "fast" as "auto" }), { name: "TypeError", message: /variant/ });
  assert.throws(() => matmul(gpu, p, q, { alpha: NaN }), TypeError);
  const gone = t([3, 5]);
  gone.dispose();
  assert.throws(() => matmul(gpu, p, gone), { name: "TypeError", message: /disposed/ });
  for (const x of [a, b, x3, p, q, bias4, out52, square, ints]) x.dispose();
});

Deno.test("matmul: the GPU context is released", () => {
  releaseMatmulTextures(gpu);
  gpu.destroy();
});
