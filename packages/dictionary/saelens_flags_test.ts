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
