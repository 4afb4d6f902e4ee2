import assert from "node:assert/strict";
import { resolveSpec } from "../spec.ts";
import { tied } from "./tied.ts";

Deno.test("tied: one Xavier draw and no decoder, ReLU codes, recognised by tied: true", () => {
  const spec = resolveSpec({ kind: "tied", dIn: 2, dDict: 3, l1: 1e-3 });
  let draws = 0;
  const { encoder, decoder } = tied.init(spec, () => new Float32Array(6).fill(++draws));
  assert.equal(draws, 1);
  assert.equal(encoder[0], 1);
  assert.equal(decoder, null);
  const codes = new Float64Array(2);
  tied.activate(new Float64Array([-3, 3]), codes, spec);
  assert.deepEqual([...codes], [0, 3]);
  assert.ok(tied.tied);
  assert.ok(tied.saelens.matches({ tied: true }) && !tied.saelens.matches({ architecture: "standard" }));
  assert.ok(tied.saelens.matches({ kind: "tied" }) && !tied.saelens.matches({ kind: "untied", tied: true }));
});
