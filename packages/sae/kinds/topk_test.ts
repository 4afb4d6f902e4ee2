import assert from "node:assert/strict";
import { resolveSpec } from "../spec.ts";
import { topk } from "./topk.ts";

Deno.test("topk: keeps the k largest pre-activations (ties to the lower index), then ReLU; k in cfg", () => {
  const spec = resolveSpec({ kind: "topk", dIn: 2, dDict: 5, l1: 0, k: 2 });
  const codes = new Float64Array(5).fill(9);
  topk.activate(new Float64Array([0.5, 2, 0.5, -1, 0.1]), codes, spec);
  assert.deepEqual([...codes], [0.5, 2, 0, 0, 0]);
  topk.activate(new Float64Array([-1, -2, -3, -4, -5]), codes, spec);
  assert.deepEqual([...codes], [0, 0, 0, 0, 0], "negative pre-activations give no codes");
  assert.deepEqual(topk.saelens.cfg(spec), {
    architecture: "topk",
    activation_fn_str: "topk",
    activation_fn_kwargs: { k: 2 },
  });
  assert.deepEqual(topk.saelens.spec({ activation_fn_kwargs: { k: 7 } }), { k: 7 });
  assert.equal(topk.nameTail(spec), "k2");
  assert.throws(
    () => resolveSpec({ kind: "topk", dIn: 2, dDict: 5, l1: 0, k: 6 }),
    /k 6 is not a whole number in 1\.\.5/,
  );
  assert.equal(topk.gpu.epilogue, "encodeRaw");
});
