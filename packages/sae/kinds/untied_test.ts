import assert from "node:assert/strict";
import { resolveSpec } from "../spec.ts";
import { untied } from "./untied.ts";

Deno.test("untied: ReLU codes, two Xavier draws (encoder first), SAELens standard/relu", () => {
  const spec = resolveSpec({ kind: "untied", dIn: 2, dDict: 3, l1: 1e-3 });
  const codes = new Float64Array(3);
  untied.activate(new Float64Array([-1, 0.5, 2]), codes, spec);
  assert.deepEqual([...codes], [0, 0.5, 2]);
  let draws = 0;
  const { encoder, decoder } = untied.init(spec, () => new Float32Array(6).fill(++draws));
  assert.equal(encoder[0], 1);
  assert.equal(decoder?.[0], 2);
  assert.deepEqual(untied.saelens.cfg(spec), { architecture: "standard", activation_fn_str: "relu" });
  assert.equal(untied.nameTail(spec), "a1.0e-3");
  assert.ok(untied.saelens.matches({ architecture: "standard" }));
  assert.ok(!untied.saelens.matches({ architecture: "standard", tied: true }));
});
