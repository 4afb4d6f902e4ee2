import assert from "node:assert/strict";
import { createGpu, Gpu, type Program } from "@saelab/gpu";
import { MAX_TEXTURE_OPERANDS, textureReads } from "@saelab/kernels";
import { initWeights, KIND_NAMES, KINDS, type SaeSpec, type SaeWeights, SweepTrainer } from "./mod.ts";

// The SAE kernels read texture operands as read-only storage textures where the device allows
// MAX_TEXTURE_OPERANDS storage textures per stage, and as sampled textures elsewhere (a device with
// WebGPU's default limit of 4, as Chromium's SwiftShader adapter). Both read the same values, so every
// kind trains to the same bits either way.

const fast = await createGpu();
const adapter = fast.adapter;
// WebGPU's default limits: 4 storage textures per stage
const plain = new Gpu(adapter, await adapter.requestDevice({ label: "saelab.default-limits" }));
globalThis.addEventListener("unload", () => {
  fast.destroy();
  plain.destroy();
});

/** Texture declarations of every program each device compiles, by program name. */
function watchPrograms(gpu: Gpu): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const compile = gpu.pipeline.bind(gpu);
  gpu.pipeline = (program: Program) => {
    const decls = program.code().match(/var \w+: texture_[a-z0-9_]+(<[^>]*>)?/g) ?? [];
    seen.set(`${program.name}|${program.key}`, decls);
    return compile(program);
  };
  return seen;
}
const fastPrograms = watchPrograms(fast), plainPrograms = watchPrograms(plain);

const D = 8, N = 32, ROWS = 16;
let state = 5;
const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const batches = Array.from({ length: 3 }, () => Float32Array.from({ length: ROWS * D }, uniform));

/** One member of each kind, and an untied one whose codes are sparse enough for the sparse path. */
function members(): SaeWeights[] {
  const specs: SaeSpec[] = KIND_NAMES.map((kind) => ({
    kind,
    dIn: D,
    dDict: N,
    l1: 1e-3,
    ...(KINDS[kind].needs.includes("k") ? { k: 4 } : {}),
  }));
  const ws = specs.map((s, i) => initWeights(s, { seed: 11 + i }));
  const sparse = initWeights({ kind: "untied", dIn: D, dDict: N, l1: 1e-3 }, { seed: 3 });
  sparse.encoderBias.fill(-0.45);
  return [...ws, sparse];
}

async function train(gpu: Gpu, w: SaeWeights): Promise<SaeWeights> {
  const trainer = new SweepTrainer(gpu, [w.spec], {
    batchSize: ROWS,
    weights: [w],
    logEvery: 0,
    operands: "texture",
  });
  try {
    for (const x of batches) trainer.step(x);
    await trainer.settle();
    return (await trainer.weights())[0];
  } finally {
    trainer.dispose();
  }
}

Deno.test("SAE texture operands: a device with the default limit of 4 storage textures reads them sampled", () => {
  assert.equal(plain.limits.maxStorageTexturesPerShaderStage, 4);
  assert.equal(textureReads(plain), "sampled");
  assert.equal(
    textureReads({ limits: { maxStorageTexturesPerShaderStage: MAX_TEXTURE_OPERANDS } as GPUSupportedLimits }),
    textureReads(fast),
  );
});

Deno.test("SAE texture operands: every kind trains to the same bits with storage-texture and sampled reads", async () => {
  const all = members();
  for (const [i, w] of all.entries()) {
    const a = await train(fast, structuredClone(w)), b = await train(plain, structuredClone(w));
    const name = `${w.spec.kind}${i === all.length - 1 ? " (sparse codes)" : ""}`;
    for (const key of Object.keys(a) as (keyof SaeWeights)[]) {
      assert.deepEqual(a[key], b[key], `${String(key)} of ${name} differs between the two reads`);
    }
  }
  const decls = (m: Map<string, string[]>) => [...m.values()].flat();
  // both paths really ran: each device compiled the SAE kernels with its own reads
  assert.ok(decls(plainPrograms).some((d) => d.includes("texture_2d_array<f32>")));
  assert.ok(!decls(plainPrograms).some((d) => d.includes("rgba32float, read>")));
  if (textureReads(fast) === "storage") {
    assert.ok(decls(fastPrograms).some((d) => d.includes("texture_storage_2d_array<rgba32float, read>")));
    assert.ok(!decls(fastPrograms).some((d) => d.includes("texture_2d_array<f32>")));
  }
  // no kernel binds more textures than storage reads were allowed for
  for (const [program, ds] of fastPrograms) {
    assert.ok(ds.length <= MAX_TEXTURE_OPERANDS, `${program} binds ${ds.length} textures`);
  }
});
