import assert from "node:assert/strict";
import { parseConfig, toHfConfig } from "./mod.ts";
import { PYTHIA_70M_SIZES } from "./testing.ts";

const BASE = PYTHIA_70M_SIZES;

Deno.test("parseConfig reads Pythia's fields and Hugging Face's defaults", () => {
  const c = parseConfig({ ...BASE, rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true });
  assert.equal(c.headSize, 64);
  assert.equal(c.rotaryDims, 16);
  assert.equal(c.layerNormEps, 1e-5);
  assert.equal(c.maxPositions, 2048);
  assert.equal(c.parallelResidual, true);
  assert.equal(c.tiedEmbeddings, false);
  assert.equal(c.attentionBias, true);
  assert.deepEqual(parseConfig(toHfConfig(c)), c);
  // newer field names
  const n = parseConfig({
    ...BASE,
    rope_parameters: { rope_type: "default", rope_theta: 500, partial_rotary_factor: 0.5 },
  });
  assert.equal(n.rotaryBase, 500);
  assert.equal(n.rotaryDims, 32);
  assert.equal(parseConfig({ ...BASE, rope_theta: 77, rope_scaling: null }).rotaryBase, 77);
});

Deno.test("parseConfig refuses unsupported or inconsistent values by name", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ model_type: "gpt2" }, /model_type is "gpt2", expected "gpt_neox"/],
    [{ hidden_act: "gelu_new" }, /hidden_act is "gelu_new"; only "gelu"/],
    [{ hidden_act: "relu" }, /hidden_act/],
    [{ num_attention_heads: 7 }, /num_attention_heads \(7\) does not divide hidden_size \(512\)/],
    [{ rotary_pct: 0.3 }, /rotary_pct \(0\.3\) gives an odd number of rotary dimensions \(19 of head size 64\)/],
    [{ rotary_pct: 1.5 }, /rotary_pct must be between 0 and 1/],
    [{ rope_scaling: { type: "linear", factor: 2 } }, /rope_scaling has rope_type "linear"/],
    [{ rotary_emb_base: 10000, rope_theta: 500 }, /rotary_emb_base \(10000\) disagrees with rope_theta \(500\)/],
    [{ vocab_size: 0 }, /vocab_size must be a positive integer, got 0/],
    [{ hidden_size: undefined }, /hidden_size is missing/],
    [{ layer_norm_eps: "small" }, /layer_norm_eps must be a number ≥ 0/],
    [{ use_parallel_residual: "yes" }, /use_parallel_residual must be true or false/],
    [{ max_position_embeddings: 1.5 }, /max_position_embeddings must be a positive integer/],
  ];
  for (const [fields, message] of bad) {
    assert.throws(() => parseConfig({ ...BASE, ...fields }), { name: "RangeError", message }, JSON.stringify(fields));
  }
  assert.throws(() => parseConfig([1]), { name: "TypeError", message: /not a JSON object/ });
});
