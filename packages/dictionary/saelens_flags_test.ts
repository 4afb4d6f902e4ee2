import assert from "node:assert/strict";
import { parseSaeLensCfg } from "./mod.ts";

const file = "sae/cfg.json";
const cfg = (extra: Record<string, unknown>) => ({ d_in: 4, d_sae: 8, architecture: "standard", ...extra });

Deno.test("cfg.json flags must be JSON booleans: null is refused, not read as SAELens' default", () => {
  for (const key of ["apply_b_dec_to_input", "rescale_acts_by_decoder_norm"]) {
    for (const bad of [null, "false", 0]) {
      assert.throws(
        () => parseSaeLensCfg(cfg({ [key]: bad }), { file }),
        (e) =>
          e instanceof RangeError &&
          e.message === `Cannot load ${file}: ${key} must be true or false, got ${JSON.stringify(bad)}`,
        `${key} ${JSON.stringify(bad)}`,
      );
    }
  }
  assert.equal(parseSaeLensCfg(cfg({}), { file }).applyBDecToInput, true);
  assert.equal(parseSaeLensCfg(cfg({ apply_b_dec_to_input: false }), { file }).applyBDecToInput, false);
});

Deno.test("the activation is read from activation_fn_str or, as SAELens' pre-6 conversion names it, activation_fn", () => {
  const topk = { d_in: 4, d_sae: 8, activation_fn_kwargs: { k: 3 } };
  assert.deepEqual([parseSaeLensCfg({ ...topk, activation_fn: "topk" }, { file }).k], [3]);
  assert.equal(parseSaeLensCfg({ ...topk, activation_fn_str: "topk" }, { file }).architecture, "topk");
  assert.equal(parseSaeLensCfg(cfg({ activation_fn: "identity" }), { file }).activation, "identity");
  assert.throws(() => parseSaeLensCfg(cfg({ activation_fn: 3 }), { file }), /activation_fn must be a string, got 3/);
});
