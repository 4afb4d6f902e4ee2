/**
 * The GPU context's dispatcher as kernels use it: a shader that fails to compile surfaces as an error
 * naming its program, and pipelines are cached by their compile-time key. These tests carry WGSL of
 * their own, so they live with the kernels (every compute shader of the project is in this package).
 */
import assert from "node:assert/strict";
import { assertClose, GpuError, withGpu } from "@saelab/gpu";

Deno.test("a failing kernel surfaces as an error that names it", () =>
  withGpu(async (gpu) => {
    const program = {
      name: "broken_kernel",
      key: "x",
      code: () => "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }",
    };
    const t = gpu.zeros([4]);
    try {
      gpu.dispatch(program, { bindings: [], workgroups: [1] });
    } catch {
      // some implementations throw right away; others report asynchronously
    }
    await assert.rejects(() => t.read(), (e: unknown) => {
      assert.ok(e instanceof GpuError);
      assert.match(e.message, /broken_kernel/);
      return true;
    });
    t.dispose();
  }));

Deno.test("dispatches are batched and the pipeline cache is keyed by program", () =>
  withGpu(async (gpu) => {
    const add = (k: number) => ({
      name: "add_const",
      key: `k=${k}`,
      code: () =>
        `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
         struct U { n: u32 }
         @group(0) @binding(1) var<uniform> u: U;
         @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
           if (g.x < u.n) { a[g.x] = a[g.x] + ${k}.0; }
         }`,
    });
    const n = 1000;
    const t = gpu.upload(new Float32Array(n).fill(1), [n]);
    for (let s = 0; s < 10; s++) {
      gpu.dispatch(add(s % 2), { bindings: [t], uniforms: new Uint32Array([n]), workgroups: [Math.ceil(n / 64)] });
    }
    assert.equal(gpu.pipelineCount, 2);
    const out = await t.read();
    assertClose(out, new Float32Array(n).fill(6), { atol: 0, rtol: 0 });
    t.dispose();
  }));
