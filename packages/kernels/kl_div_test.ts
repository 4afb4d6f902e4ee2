import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { klDiv } from "./kl_div.ts";
import { klDivRef } from "./kl_div_ref.ts";
import { crossEntropyRef } from "./cross_entropy_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
/** f32 inputs, float64 reference: the kernel's error is that of f32 exp/log sums over V terms. */
const TOL = { atol: 2e-5, rtol: 1e-4 };

Deno.test("klDiv matches the float64 reference on awkward shapes", async () => {
  // V below, at, just past and far past the workgroup size of 256; one row, many rows
  for (
    const [rows, vocab, spread] of [[1, 1, 1], [3, 2, 1], [5, 255, 4], [4, 256, 4], [6, 257, 20], [2, 5003, 8], [
      70,
      33,
      3,
    ], [3, 4096, 6]]
  ) {
    const hp = randomFloats(rows * vocab, rows + vocab, -spread, spread);
    const hq = randomFloats(rows * vocab, 7 * rows + vocab, -spread, spread);
    using p = gpu.upload(hp, [rows, vocab]);
    using q = gpu.upload(hq, [rows, vocab]);
    using kl = klDiv(gpu, p, q);
    assert.deepEqual(kl.shape, [rows]);
    assertClose(await kl.read(), klDivRef(hp, hq, vocab), TOL, `klDiv ${rows}x${vocab}`);
  }
});

Deno.test("klDiv of a distribution with itself is 0, and of a shifted copy too", async () => {
  const vocab = 1000, rows = 4;
  const hp = randomFloats(rows * vocab, 3, -30, 30);
  const shifted = hp.map((v, i) => v + 50 * Math.floor(i / vocab)); // softmax ignores a per-row shift
  using p = gpu.upload(hp, [rows, vocab]);
  using s = gpu.upload(shifted, [rows, vocab]);
  assert.deepEqual(Array.from(await klDiv(gpu, p, p).read()), [0, 0, 0, 0]);
  assertClose(await klDiv(gpu, p, s).read(), new Float64Array(rows), { atol: 1e-4, rtol: 0 });
});

Deno.test("klDiv is stable for extreme logits", async () => {
  // rows of V = 3: P almost one-hot far from 0, Q spread; P one-hot against a Q that is one-hot elsewhere
  const hp = new Float32Array([1000, 0, -1000, 88, 90, 89, -500, -500, -499, 3e4, 0, 0]);
  const hq = new Float32Array([0, 0, 0, 89, 88, 90, -499, -500, -500, 0, 3e4, 0]);
  using p = gpu.upload(hp, [4, 3]);
  using q = gpu.upload(hq, [4, 3]);
  const got = await klDiv(gpu, p, q).read();
  const want = klDivRef(hp, hq, 3);
  assert.ok(got.every(Number.isFinite), `finite: ${got}`);
  assertClose(got, want, { atol: 1e-4, rtol: 1e-5 }, "extreme logits");
  assertClose([got[3]], [3e4], { atol: 0, rtol: 1e-6 }); // log P − log Q at P's peak
});

Deno.test("klDiv handles many rows and no rows; writes into out", async () => {
  const rows = 3000, vocab = 3;
  const hp = randomFloats(rows * vocab, 11, -2, 2), hq = randomFloats(rows * vocab, 12, -2, 2);
  using p = gpu.upload(hp, [rows, vocab]);
  using q = gpu.upload(hq, [rows, vocab]);
  using out = gpu.empty([rows]);
  assert.equal(klDiv(gpu, p, q, { out }), out);
  assertClose(await out.read(), klDivRef(hp, hq, vocab), TOL, "3000 rows");
  using e = gpu.zeros([0, 5]);
  assert.equal((await klDiv(gpu, e, e).read()).length, 0);
});

Deno.test("klDiv also writes the cross-entropy of Q against targets", async () => {
  for (const [rows, vocab] of [[1, 1], [5, 63], [7, 65], [3, 4096]]) {
    const hp = randomFloats(rows * vocab, rows, -5, 5), hq = randomFloats(rows * vocab, vocab, -5, 5);
    const ht = Int32Array.from({ length: rows }, (_, r) => (r * 17) % vocab);
    if (rows > 2) ht[1] = -1;
    using p = gpu.upload(hp, [rows, vocab]);
    using q = gpu.upload(hq, [rows, vocab]);
    using targets = gpu.upload(ht, [rows]);
    using loss = gpu.empty([rows]);
    using kl = klDiv(gpu, p, q, { targets, loss });
    assertClose(await kl.read(), klDivRef(hp, hq, vocab), TOL, `kl with loss ${rows}x${vocab}`);
    assertClose(await loss.read(), crossEntropyRef(hq, ht, vocab).loss, TOL, `loss ${rows}x${vocab}`);
  }
  using p = gpu.zeros([1, 2]);
  using t = gpu.upload(new Int32Array([2]), [1]);
  using loss = gpu.empty([1]);
  using _kl = klDiv(gpu, p, p, { targets: t, loss });
  assert.ok(Number.isNaN((await loss.read())[0]), "a target past V gives NaN");
});

Deno.test("klDiv repeats the shorter of p and q cyclically", async () => {
  const vocab = 300, few = 3, many = 12;
  const hf = randomFloats(few * vocab, 21, -6, 6), hm = randomFloats(many * vocab, 22, -6, 6);
  const tiled = new Float32Array(many * vocab);
  for (let r = 0; r < many; r++) tiled.set(hf.subarray((r % few) * vocab, (r % few + 1) * vocab), r * vocab);
  using f = gpu.upload(hf, [few, vocab]);
  using m = gpu.upload(hm, [2, many / 2, vocab]);
  using ht = gpu.upload(Int32Array.from({ length: many }, (_, r) => r * 7), [many]);
  using loss = gpu.empty([many]);
  assertClose(await klDiv(gpu, f, m).read(), klDivRef(tiled, hm, vocab), TOL, "short p");
  assertClose(await klDiv(gpu, m, f, { targets: ht, loss }).read(), klDivRef(hm, tiled, vocab), TOL, "short q");
  assertClose(await loss.read(), crossEntropyRef(tiled, await ht.read(), vocab).loss, TOL, "loss of a short q");
  using five = gpu.zeros([5, vocab]);
  assert.throws(() => klDiv(gpu, f, five), { name: "RangeError", message: /one row count divides the other/ });
});

Deno.test("klDiv rejects bad arguments", () => {
  using a = gpu.zeros([3, 4]);
  using b = gpu.zeros([3, 5]);
  using c = gpu.zeros([3, 0]);
  using i = gpu.zeros([3, 4], "i32");
  assert.throws(() => klDiv(gpu, a, b), { name: "RangeError", message: /p \[3, 4\] and q \[3, 5\] differ in shape/ });
  assert.throws(() => klDiv(gpu, c, c), { name: "RangeError", message: /V is 0/ });
  using t2 = gpu.zeros([2], "i32");
  assert.throws(() => klDiv(gpu, a, a, { targets: t2, loss: a }), { name: "RangeError", message: /one id per row/ });
  assert.throws(() => klDiv(gpu, a, a, { targets: t2 }), { name: "TypeError", message: /go together/ });
  assert.throws(() => klDiv(gpu, a, i as never), {
    name: "TypeError",
    message: /q \[3, 4\] has dtype i32, expected f32/,
  });
});
