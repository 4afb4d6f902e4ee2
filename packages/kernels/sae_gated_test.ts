import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { gatedBiasGrad, gatedCodes, gatedGrad, type GatedParamsAt, gatedSelect } from "./sae_gated.ts";
import { gatedGradRef, gatedSelectRef } from "./sae_gated_ref.ts";
import { randomFloats, sparseFloats } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const rows = 8, n = 12, members = 2, d = 4;
const TOL = { atol: 1e-6, rtol: 1e-5 };

/** A packed buffer laid out as the trainer's: W_ext rows of d + 4 (bias at column d), then r_mag, b_mag per member. */
function packed(
  seed: number,
): {
  host: Float32Array;
  at: GatedParamsAt;
  member: (z: number) => { bGate: number[]; rMag: number[]; bMag: number[] };
} {
  const encStride = (d + 4) * n;
  const at: GatedParamsAt = {
    bias: d,
    biasStride: encStride,
    biasStep: d + 4,
    rMag: members * encStride,
    bMag: members * encStride + n,
    stride: 2 * n,
  };
  const host = randomFloats(members * encStride + members * 2 * n, seed, -0.8, 0.8);
  const member = (z: number) => ({
    bGate: Array.from({ length: n }, (_, j) => host[at.bias + z * at.biasStride + j * at.biasStep]),
    rMag: Array.from({ length: n }, (_, j) => host[at.rMag + z * at.stride + j]),
    bMag: Array.from({ length: n }, (_, j) => host[at.bMag + z * at.stride + j]),
  });
  return { host, at, member };
}

for (const mode of ["texture", "storage"] as OperandMode[]) {
  const named = ` (${mode} operands)`;
  const matrix = (r: number, c: number, label: string) => createMatrix(gpu, mode, { shape: [members, r, c], label });

  Deno.test(`sae_gated_select writes the gated codes, the gate codes and fired marks${named}`, async () => {
    const { host, at, member } = packed(3);
    using params = gpu.upload(host, [host.length], "test.params");
    const [p, c, gc] = ["p", "c", "gc"].map((l) => matrix(rows, n, `test.${l}`));
    const [ct, gct] = ["ct", "gct"].map((l) => matrix(n, rows, `test.${l}`));
    const hp = Array.from({ length: members }, (_, z) => randomFloats(rows * n, 10 + z, -1, 1));
    hp[1].fill(-0.5, 0, 3 * n); // member 1: some features never fire
    hp.forEach((x, z) => p.write(gpu, x, z));
    using fired = gpu.zeros([members * n], "u32", "test.fired");
    gatedSelect(gpu, { p, params }, { c, ct, gc, gct, fired, step: 5, rows, n, members, at });
    const gotFired = await fired.read();
    for (let z = 0; z < members; z++) {
      const want = gatedSelectRef(hp[z], member(z));
      assert.ok(want.codes.some((v) => v > 0) && want.gate.some((v, e) => v > 0 && want.codes[e] === 0));
      assertClose(await c.read(gpu, z), want.codes, TOL, `codes of member ${z}`);
      assertClose(await gc.read(gpu, z), want.gate, TOL, `gate codes of member ${z}`);
      const t = (m: Float64Array) =>
        Float64Array.from({ length: rows * n }, (_, e) => m[(e % rows) * n + Math.floor(e / rows)]);
      assertClose(await ct.read(gpu, z), t(want.codes), TOL, `transposed codes of member ${z}`);
      assertClose(await gct.read(gpu, z), t(want.gate), TOL, `transposed gate codes of member ${z}`);
      for (let j = 0; j < n; j++) {
        const any = Array.from({ length: rows }, (_, b) => want.codes[b * n + j]).some((v) => v > 0);
        assert.equal(gotFired[z * n + j], any ? 5 : 0, `fired mark of feature ${j}, member ${z}`);
      }
    }
    assert.ok([...gotFired].some((f) => f === 0), "a feature that never fired keeps its mark");
    for (const m of [p, c, gc, ct, gct]) m.destroy();
  });

  Deno.test(`sae_gated_grad and sae_gated_bias_grad give ∂π + exp(r)·∂m and the per-feature sums${named}`, async () => {
    const { host, at, member } = packed(7);
    using params = gpu.upload(host, [host.length], "test.params");
    const size = members * rows * n;
    const dpg = sparseFloats(size, 21, 0.5), dpm = sparseFloats(size, 22, 0.3);
    using gDpg = gpu.upload(dpg, [size], "test.dpg");
    using gDpm = gpu.upload(dpm, [size], "test.dpm");
    const c = matrix(rows, n, "test.c");
    const codes = Array.from({ length: members }, (_, z) => randomFloats(rows * n, 30 + z, 0, 2));
    codes.forEach((x, z) => c.write(gpu, x, z));
    const seed = randomFloats(host.length, 40); // whatever the gradient buffer held before
    using grads = gpu.upload(seed, [host.length], "test.grads");
    using gsum = gpu.zeros([members * n], "f32", "test.gsum");
    gatedGrad(gpu, { dpg: gDpg, dpm: gDpm, c, params }, { grads, gsum, rows, n, members, at });
    gatedBiasGrad(gpu, gsum, { grads, rows, n, members, at });
    const gotDp = await gDpg.read(), gotGrads = await grads.read();
    const touched = new Set<number>();
    for (let z = 0; z < members; z++) {
      const slice = (a: Float32Array) => a.subarray(z * rows * n, (z + 1) * rows * n);
      const want = gatedGradRef({ dpg: slice(dpg), dpm: slice(dpm), codes: codes[z] }, member(z));
      assertClose(slice(gotDp), want.dp, TOL, `∂π + exp(r)∂m of member ${z}`);
      const pick = (base: number, stride: number) =>
        Array.from({ length: n }, (_, j) => (touched.add(base + j * stride), gotGrads[base + j * stride]));
      assertClose(pick(at.rMag + z * at.stride, 1), want.rMag, TOL, `∂r_mag of member ${z}`);
      assertClose(pick(at.bMag + z * at.stride, 1), want.bMag, TOL, `∂b_mag of member ${z}`);
      assertClose(pick(at.bias + z * at.biasStride, at.biasStep), want.bGate, TOL, `∂b_gate of member ${z}`);
    }
    const kept = [...seed.keys()].filter((e) => !touched.has(e));
    assert.deepEqual(kept.map((e) => gotGrads[e]), kept.map((e) => seed[e]), "nothing else of grads is written");
    c.destroy();
  });
}

Deno.test("sae_gated refuses sizes that are not multiples of 4", () => {
  const p = createMatrix(gpu, "storage", { shape: [1, 4, 4], label: "test.p" });
  using b = gpu.zeros([64]);
  const at = { bias: 0, biasStride: 0, biasStep: 1, rMag: 0, bMag: 0, stride: 0 };
  assert.throws(
    () =>
      gatedSelect(gpu, { p, params: b }, {
        c: p,
        ct: p,
        gc: p,
        gct: p,
        fired: b,
        step: 1,
        rows: 6,
        n: 4,
        members: 1,
        at,
      }),
    /rows 6 and features 4 must be multiples of 4/,
  );
  p.destroy();
});

Deno.test("gatedCodes gives the gated codes of a plain pre-activation tensor, ReLU'd or not", async () => {
  const pre = randomFloats(rows * n, 50, -1, 1);
  const bGate = randomFloats(n, 51, -0.5, 0.5), rMag = randomFloats(n, 52), bMag = randomFloats(n, 53, -0.5, 0.5);
  const want = gatedSelectRef(pre, { bGate, rMag, bMag }).codes;
  assert.ok(want.some((v) => v > 0) && want.some((v, e) => v === 0 && pre[e] > 0), "closed and open gates both occur");
  using bias = gpu.upload(bGate, [n]);
  using r = gpu.upload(rMag, [n]);
  using m = gpu.upload(bMag, [n]);
  for (const input of [pre, pre.map((v) => Math.max(v, 0))]) {
    using x = gpu.upload(input, [rows, n]);
    using got = gatedCodes(gpu, x, { bias, rMag: r, bMag: m });
    assertClose(await got.read(), want, TOL, "codes");
  }
  using x = gpu.upload(pre, [rows, n]);
  using short = gpu.zeros([n - 1]);
  assert.throws(() => gatedCodes(gpu, x, { bias, rMag: short, bMag: m }), /rMag must hold one value per column/);
});
