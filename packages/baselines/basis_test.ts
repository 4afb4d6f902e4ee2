import assert from "node:assert/strict";
import { neuronDictionary, randomDictionary } from "./mod.ts";

Deno.test("neuron basis is the identity (± split or ReLU); random directions are seeded unit vectors", () => {
  const split = neuronDictionary(3);
  assert.deepEqual([...split.encodeHost(new Float32Array([1, -2, 0.5]))], [1, 0, 0, 2, 0.5, 0]);
  assert.deepEqual([...split.decodeHost(split.encodeHost(new Float32Array([1, -2, 0.5])))], [1, -2, 0.5]);
  const a = randomDictionary(5, { seed: 2, count: 7 }), b = randomDictionary(5, { seed: 2, count: 7 });
  assert.deepEqual(a.encoder, b.encoder);
  assert.notDeepEqual(a.encoder, randomDictionary(5, { seed: 3, count: 7 }).encoder);
  assert.equal(a.dDict, 7);
  const centred = randomDictionary(2, { count: 1, mean: [1, 1] });
  const u = centred.encoder;
  assert.ok(Math.abs(centred.encodeHost(new Float32Array([1, 1]))[0]) < 1e-7, "the centre maps to 0");
  assert.ok(Math.abs(u[0] ** 2 + u[1] ** 2 - 1) < 1e-6);
  assert.throws(() => randomDictionary(3, { mean: [1] }), RangeError);
});
