import assert from "node:assert/strict";
import { assertClose, closeness, createGpu, GpuError, sizeClass, withGpu } from "./mod.ts";

Deno.test("createGpu explains a missing WebGPU", async () => {
  await assert.rejects(() => createGpu({ navigator: {} }), (e: unknown) => {
    assert.ok(e instanceof GpuError);
    assert.match(e.message, /navigator\.gpu is missing/);
    return true;
  });
  const noAdapter = { gpu: { requestAdapter: () => Promise.resolve(null) } as unknown as GPU };
  await assert.rejects(() => createGpu({ navigator: noAdapter }), /no WebGPU adapter.*mesa-vulkan-drivers/s);
});

Deno.test("in a page (no Deno global) createGpu says how to enable WebGPU in the browser, not Mesa", async () => {
  const noAdapter = { gpu: { requestAdapter: () => Promise.resolve(null) } as unknown as GPU };
  const deno = Object.getOwnPropertyDescriptor(globalThis, "Deno")!;
  const errors: string[] = [];
  Reflect.deleteProperty(globalThis, "Deno");
  try {
    for (const navigator of [{}, noAdapter]) {
      await createGpu({ navigator }).catch((e: Error) => errors.push(`${e.name}: ${e.message}`));
    }
  } finally {
    Object.defineProperty(globalThis, "Deno", deno);
  }
  assert.equal(errors.length, 2);
  assert.match(errors[0], /^GpuError: .*this browser has no WebGPU \(navigator\.gpu is missing\)/);
  assert.match(errors[0], /secure context/);
  assert.match(errors[1], /^GpuError: .*gave no adapter.*chrome:\/\/gpu/);
  for (const e of errors) {
    for (const how of ["--enable-unsafe-webgpu", "chrome://flags/#enable-unsafe-webgpu"]) {
      assert.ok(e.includes(how), how);
    }
    assert.doesNotMatch(e, /Mesa|apt-get|DENO_WEBGPU_BACKEND|Deno 2/);
  }
});

Deno.test("tensors round-trip through the GPU", () =>
  withGpu(async (gpu) => {
    const f = gpu.upload(new Float32Array([1.5, -2, 3e-8, 1e30]), [2, 2]);
    assert.deepEqual([...await f.read()], [1.5, -2, Math.fround(3e-8), Math.fround(1e30)]);
    assert.deepEqual(f.shape, [2, 2]);
    const i = gpu.upload(new Int32Array([-7, 0, 2 ** 31 - 1]), [3]);
    assert.equal(i.dtype, "i32");
    assert.deepEqual([...await i.read()], [-7, 0, 2 ** 31 - 1]);
    const z = gpu.zeros([3, 5]);
    assert.ok((await z.read()).every((v) => v === 0));
    const empty = gpu.upload(new Float32Array(0), [0, 4]);
    assert.equal((await empty.read()).length, 0);
    for (const t of [f, i, z, empty]) t.dispose();
    f.dispose(); // twice is harmless
    await assert.rejects(() => f.read(), /disposed/);
    assert.equal(gpu.pool.live, 0);
  }));

Deno.test("bad shapes and oversized tensors give clear errors", () =>
  withGpu((gpu) => {
    assert.throws(() => gpu.upload(new Float32Array(5), [2, 3]), {
      name: "RangeError",
      message: /shape \[2, 3\] holds 6 values but the data has 5/,
    });
    assert.throws(() => gpu.zeros([2, -1]), RangeError);
    assert.throws(() => gpu.zeros([2, 1.5]), RangeError);
    const tooMany = Math.floor(gpu.maxTensorBytes / 4) + 1;
    assert.throws(() => gpu.empty([tooMany]), /exceed the device's largest bindable buffer/);
    const t = gpu.zeros([4, 6]);
    assert.deepEqual(t.reshape([24]).shape, [24]);
    assert.throws(() => t.reshape([5, 5]), /Cannot reshape/);
    t.dispose();
  }));

Deno.test("closeness uses atol + rtol·|ref|", () => {
  assert.ok(closeness([1.001], [1], { atol: 0, rtol: 1e-2 }).excess <= 0);
  assert.ok(closeness([1.1], [1], { atol: 0, rtol: 1e-2 }).excess > 0);
  assert.ok(closeness([NaN], [1]).excess > 0);
  assert.throws(() => assertClose([1, 2], [1, 3], { atol: 0.5, rtol: 0 }), /index 1/);
  assert.equal(sizeClass(1), 16);
  assert.ok(sizeClass(5000) >= 5000);
});
