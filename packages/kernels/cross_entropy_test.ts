import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { crossEntropy } from "./cross_entropy.ts";
import { crossEntropyRef } from "./cross_entropy_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-5, rtol: 1e-5 };

Deno.test("crossEntropy matches the reference; negative targets are ignored", async () => {
  for (const [rows, vocab, spread] of [[1, 1, 1], [3, 2, 1], [5, 257, 20], [2, 5003, 8], [70, 33, 3]]) {
    const hl = randomFloats(rows * vocab, rows + vocab, -spread, spread);
    const ht = Int32Array.from({ length: rows }, (_, r) => (r * 31) % vocab);
    if (rows > 2) ht[1] = -1;
    using logits = gpu.upload(hl, [rows, vocab]);
    using targets = gpu.upload(ht, [rows]);
    using lse = gpu.empty([rows]);
    using loss = crossEntropy(gpu, logits, targets, { lse });
    const want = crossEntropyRef(hl, ht, vocab);
    assertClose(await loss.read(), want.loss, TOL, `crossEntropy ${rows}x${vocab}`);
    assertClose(await lse.read(), want.lse, TOL, `lse ${rows}x${vocab}`);
  }
});

Deno.test("crossEntropy gives bit-identical losses with a workgroup or an invocation per row", async () => {
  for (const [rows, vocab] of [[3, 2], [70, 300], [9, 4096]]) {
    const hl = randomFloats(rows * vocab, rows * vocab, -12, 12);
    using logits = gpu.upload(hl, [rows, vocab]);
    using targets = gpu.upload(Int32Array.from({ length: rows }, (_, r) => (r % 4 === 3 ? -1 : (r * 7) % vocab)), [
      rows,
    ]);
    const run = async (mode: "workgroup" | "serial") => {
      using lse = gpu.empty([rows]);
      using loss = crossEntropy(gpu, logits, targets, { lse, mode });
      return [await loss.read(), await lse.read()];
    };
    const [a, b] = [await run("workgroup"), await run("serial")];
    assertClose(a[0], crossEntropyRef(hl, await targets.read(), vocab).loss, TOL, `workgroup ${rows}x${vocab}`);
    assert.deepEqual(b, a, `${rows}x${vocab}: serial and workgroup rows differ`);
  }
});

Deno.test("crossEntropy is stable for large logits and gives NaN for a target past the vocabulary", async () => {
  using logits = gpu.upload(new Float32Array([1000, 0, -1000, 88, 90, 89]), [2, 3]);
  using targets = gpu.upload(new Int32Array([1, 3]), [2]);
  const loss = await crossEntropy(gpu, logits, targets).read();
  assertClose([loss[0]], [1000], TOL);
  assert.ok(Number.isNaN(loss[1]));
});

Deno.test("crossEntropy rejects bad arguments", () => {
  using logits = gpu.zeros([3, 4]);
  using t2 = gpu.zeros([2], "i32");
  using tf = gpu.zeros([3]);
  assert.throws(() => crossEntropy(gpu, logits, t2), {
    name: "RangeError",
    message: /targets \[2\] must hold one id per row/,
  });
  assert.throws(() => crossEntropy(gpu, logits, tf as never), { name: "TypeError", message: /dtype f32/ });
});
