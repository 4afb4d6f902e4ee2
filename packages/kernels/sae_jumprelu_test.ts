import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { jumpReluSelect, jumpReluThresholdGrad } from "./sae_jumprelu.ts";
import { jumpReluSelectRef, jumpReluThresholdGradRef } from "./sae_jumprelu_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const ROWS = 16, N = 12, D = 8, MEMBERS = 2, AT = 20, EPS = 0.1;

/** Member z's pre-activations: random, some just inside the kernel's window around θ, none near its edges. */
function preOf(z: number, logTheta: Float32Array): Float32Array {
  const pre = randomFloats(ROWS * N, 70 + z, -1, 1);
  for (let e = 0; e < pre.length; e++) {
    const theta = Math.exp(logTheta[z * N + (e % N)]);
    if (e % 5 === 0) pre[e] = theta + (e % 2 ? 0.02 : -0.03); // inside the window, both sides of θ
    const u = Math.abs((pre[e] - theta) / EPS);
    if (Math.abs(u - 0.5) < 1e-3 || u < 1e-3) pre[e] += 0.011; // off the window's edges and off θ itself
  }
  return pre;
}

for (const mode of ["texture", "storage"] as OperandMode[]) {
  const named = ` (${mode} operands)`;
  const logTheta = Float32Array.from(randomFloats(MEMBERS * N, 9, 0.05, 0.5), Math.log);
  const state = new Float32Array(AT + MEMBERS * N).fill(7); // the log-thresholds sit after other parameters
  state.set(logTheta, AT);
  const pres = Array.from({ length: MEMBERS }, (_, z) => preOf(z, logTheta));
  const mat = (rows: number, cols: number, label: string) =>
    createMatrix(gpu, mode, { shape: [MEMBERS, rows, cols], label });

  Deno.test(`sae_jumprelu_select keeps z where z > exp ℓ of its feature, per member${named}`, async () => {
    const p = mat(ROWS, N, "test.p"), c = mat(ROWS, N, "test.c"), ct = mat(N, ROWS, "test.ct");
    pres.forEach((x, z) => p.write(gpu, x, z));
    using params = gpu.upload(state, [state.length], "test.params");
    using fired = gpu.zeros([MEMBERS * N], "u32", "test.fired");
    jumpReluSelect(gpu, { p, state: params, stateAt: AT }, {
      c,
      ct,
      fired,
      rows: ROWS,
      n: N,
      k: 0,
      members: MEMBERS,
      step: 5,
    });
    const gotFired = await fired.read();
    for (let z = 0; z < MEMBERS; z++) {
      const want = jumpReluSelectRef(pres[z], logTheta.subarray(z * N, (z + 1) * N));
      assert.ok(want.some((v) => v > 0) && want.some((v, e) => v === 0 && pres[z][e] > 0), "θ cuts some positives");
      assertClose(await c.read(gpu, z), want, { atol: 0, rtol: 0 }, `codes of member ${z}`);
      const wantT = new Float64Array(N * ROWS);
      for (let b = 0; b < ROWS; b++) for (let j = 0; j < N; j++) wantT[j * ROWS + b] = want[b * N + j];
      assertClose(await ct.read(gpu, z), wantT, { atol: 0, rtol: 0 }, `transposed codes of member ${z}`);
      for (let j = 0; j < N; j++) {
        let any = false;
        for (let b = 0; b < ROWS; b++) any ||= want[b * N + j] > 0;
        assert.equal(gotFired[z * N + j], any ? 5 : 0, `fired mark of feature ${j}, member ${z}`);
      }
    }
    for (const t of [p, c, ct]) t.destroy();
  });

  Deno.test(`sae_jumprelu_threshold_grad is the rectangle-kernel estimator of ∂L/∂log θ${named}`, async () => {
    const p = mat(ROWS, N, "test.p"), g = mat(ROWS, D, "test.g"), dh = mat(N, D, "test.dh");
    const gs = Array.from({ length: MEMBERS }, (_, z) => randomFloats(ROWS * D, 80 + z, -0.2, 0.2));
    const dhs = Array.from({ length: MEMBERS }, (_, z) => randomFloats(N * D, 90 + z, -0.5, 0.5));
    pres.forEach((x, z) => p.write(gpu, x, z));
    gs.forEach((x, z) => g.write(gpu, x, z));
    dhs.forEach((x, z) => dh.write(gpu, x, z));
    const lambdas = [0.3, 0];
    using params = gpu.upload(state, [state.length], "test.params");
    using lam = gpu.upload(Float32Array.from(lambdas), [MEMBERS], "test.lambdas");
    using grad = gpu.upload(new Float32Array(state.length).fill(-9), [state.length], "test.grad");
    jumpReluThresholdGrad(gpu, { p, g, dh, state: params, stateAt: AT, lambdas: lam }, {
      grad,
      rows: ROWS,
      n: N,
      d: D,
      members: MEMBERS,
      bandwidth: EPS,
    });
    const got = await grad.read();
    assert.deepEqual([...got.subarray(0, AT)], new Array(AT).fill(-9), "nothing before the ℓ block is written");
    for (let z = 0; z < MEMBERS; z++) {
      const want = jumpReluThresholdGradRef(
        { pre: pres[z], g: gs[z], dh: dhs[z], logTheta: logTheta.subarray(z * N, (z + 1) * N) },
        { lambda: lambdas[z], bandwidth: EPS },
      );
      assert.ok(want.filter((v) => v !== 0).length >= N / 2, "most features have codes inside the window");
      assertClose(got.subarray(AT + z * N, AT + (z + 1) * N), want, { atol: 1e-6, rtol: 1e-5 }, `∂ℓ of member ${z}`);
    }
    for (const t of [p, g, dh]) t.destroy();
  });
}

Deno.test("the JumpReLU kernels refuse a missing state, sizes not a multiple of 4 and a bad bandwidth", () => {
  const p = createMatrix(gpu, "storage", { shape: [1, 4, 4], label: "test.p" });
  using fired = gpu.zeros([4], "u32");
  using state = gpu.zeros([4]);
  const out = { c: p, ct: p, fired, rows: 4, n: 4, k: 0, members: 1, step: 1 };
  assert.throws(() => jumpReluSelect(gpu, { p, state }, out), /needs the log-thresholds/);
  assert.throws(() => jumpReluSelect(gpu, { p, state, stateAt: 0 }, { ...out, rows: 6 }), /rows 6 and n 4/);
  const inputs = { p, g: p, dh: p, state, stateAt: 0, lambdas: state };
  const sizes = { grad: state, rows: 4, n: 4, d: 4, members: 1 };
  assert.throws(() => jumpReluThresholdGrad(gpu, inputs, { ...sizes, bandwidth: 0 }), /bandwidth 0 is not/);
  assert.throws(() => jumpReluThresholdGrad(gpu, inputs, { ...sizes, d: 6, bandwidth: 1 }), /d 6 must be/);
  p.destroy();
});
