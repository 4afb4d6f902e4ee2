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

Deno.test("parseConfig bounds every size before anything is allocated, and names the file", () => {
  const file = "models/x/config.json";
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ num_hidden_layers: 10_000_000 }, /num_hidden_layers must be a positive integer at most 1024, got 10000000/],
    [{ hidden_size: 1e308 }, /hidden_size must be a positive integer at most 65536, got 1e\+308/],
    [{ vocab_size: 2 ** 40 }, /vocab_size must be a positive integer at most 4194304/],
    [{ intermediate_size: 1e9 }, /intermediate_size must be a positive integer at most 262144/],
    [{ num_attention_heads: 2048 }, /num_attention_heads must be a positive integer at most 1024/],
    [{ max_position_embeddings: 1e12 }, /max_position_embeddings must be a positive integer at most 1048576/],
    [{ hidden_size: -512 }, /hidden_size must be a positive integer, got -512/],
    [{ hidden_size: "512" }, /hidden_size must be a positive integer, got "512"/],
    [{ num_hidden_layers: 2.5 }, /num_hidden_layers must be a positive integer/],
    [{ rotary_emb_base: 1e-300 }, /rotary_emb_base must be a finite number above 1, got 1e-300/],
    [{ rotary_emb_base: 1 }, /rotary_emb_base must be a finite number above 1, got 1/],
    [{ rotary_emb_base: -10000 }, /rotary_emb_base must be a finite number above 1/],
    [{ rope_theta: 0.5 }, /rope_theta must be a finite number above 1, got 0\.5/],
    [{ rotary_pct: 0 }, /rotary_pct must be between 0 and 1 \(above 0, at most 1\), got 0/],
    [{ rotary_pct: -0.25 }, /rotary_pct must be between 0 and 1/],
    [{ partial_rotary_factor: 2 }, /partial_rotary_factor must be between 0 and 1/],
    [{ tie_word_embeddings: "false" }, /tie_word_embeddings must be true or false, got "false"/],
    [{ attention_bias: 1 }, /attention_bias must be true or false, got 1/],
    [{ rope_scaling: [1] }, /rope_scaling must be an object or null/],
  ];
  for (const [fields, message] of bad) {
    assert.throws(() => parseConfig({ ...BASE, ...fields }, { file }), {
      name: "RangeError",
      message: new RegExp(`^Cannot use GPT-NeoX config models/x/config\\.json: ${message.source.replace(/^\//, "")}`),
    }, JSON.stringify(fields));
  }
  assert.throws(() => parseConfig("nope", { file }), { name: "TypeError", message: /config models\/x\/config\.json/ });
  // The limits themselves are accepted.
  const top = parseConfig({ ...BASE, num_hidden_layers: 1024, rotary_pct: 1, rotary_emb_base: 1.5 });
  assert.equal(top.numLayers, 1024);
  assert.equal(top.rotaryDims, 64);
});
