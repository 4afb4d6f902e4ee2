import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { writeSafetensors } from "@saelab/safetensors";
import { loadDictionary, parseSaeLensCfg, readSaeLensCfg } from "./mod.ts";

const random = seededRandom(11);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * s);
const D = 5, F = 7, ROWS = 12;
const W_ENC = rand(D * F), B_ENC = rand(F, 0.2), W_DEC = rand(F * D), B_DEC = rand(D, 0.8);
const X = rand(ROWS * D, 2);

async function folder(
  cfg: unknown,
  tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: string }> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "saelens-strict-" });
  type T = { shape: number[]; data: Float32Array; dtype?: string };
  const all: Record<string, T> = {
    W_enc: { shape: [D, F], data: W_ENC },
    b_enc: { shape: [F], data: B_ENC },
    W_dec: { shape: [F, D], data: W_DEC },
    b_dec: { shape: [D], data: B_DEC },
    ...tensors,
  };
  await writeSafetensors(
    join(dir, "sae_weights.safetensors"),
    Object.fromEntries(
      Object.entries(all).map(([k, t]) => [k, { dtype: (t.dtype ?? "F32") as "F32", shape: t.shape, data: t.data }]),
    ),
  );
  await Deno.writeTextFile(join(dir, "cfg.json"), typeof cfg === "string" ? cfg : JSON.stringify(cfg));
  return dir;
}

/** Codes of SAELens' standard SAE, in float64: ReLU((x − b_dec·apply) W_enc + b_enc). */
function reference(apply: boolean): Float64Array {
  const out = new Float64Array(ROWS * F);
  for (let r = 0; r < ROWS; r++) {
    for (let j = 0; j < F; j++) {
      let s = B_ENC[j];
      for (let i = 0; i < D; i++) s += (X[r * D + i] - (apply ? B_DEC[i] : 0)) * W_ENC[i * F + j];
      out[r * F + j] = Math.max(s, 0);
    }
  }
  return out;
}

const close = (got: Float32Array, want: Float64Array) => {
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 + 1e-5 * Math.abs(want[i]), `${i}`);
  }
};

Deno.test("SAELens' defaults: apply_b_dec_to_input true and normalize_activations none when absent", async () => {
  for (
    const [cfg, apply] of [
      [{ d_in: D, d_sae: F }, true],
      [{ d_in: D, d_sae: F, apply_b_dec_to_input: true, normalize_activations: "none" }, true],
      [{ d_in: D, d_sae: F, apply_b_dec_to_input: false }, false],
      [{ d_in: D, d_sae: F, normalize_activations: false }, true], // legacy boolean: false means "none"
    ] as const
  ) {
    const dir = await folder(cfg);
    try {
      close((await loadDictionary(dir)).encodeHost(X), reference(apply));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("a transposed or misshapen tensor is refused shape by shape", async () => {
  const cases: [Record<string, { shape: number[]; data: Float32Array; dtype?: string }>, RegExp][] = [
    [{ W_enc: { shape: [F, D], data: W_ENC } }, /W_enc has shape \[7, 5\], expected \[5, 7\]/],
    [{ W_dec: { shape: [D, F], data: W_DEC } }, /W_dec has shape \[5, 7\], expected \[7, 5\]/],
    [{ W_enc: { shape: [D * F], data: W_ENC } }, /W_enc has shape \[35\], expected \[5, 7\]/],
    [{ b_enc: { shape: [1, F], data: B_ENC } }, /b_enc has shape \[1, 7\], expected \[7\]/],
    [{ b_dec: { shape: [D], data: Float32Array.of(1, NaN, 0, 0, 0) } }, /b_dec\[1\] is NaN/],
    [{ W_dec: { shape: [F, D], data: W_DEC.map((v, i) => i === 3 ? Infinity : v) } }, /W_dec\[3\] is Infinity/],
  ];
  for (const [tensors, message] of cases) {
    const dir = await folder({ d_in: D, d_sae: F }, tensors);
    try {
      await assert.rejects(() => loadDictionary(dir), (e) => {
        return e instanceof RangeError && message.test(e.message) && e.message.includes(dir);
      }, message.source);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("cfg.json fields are typed and bounded, each refusal naming cfg.json and the field", async () => {
  const topk = { d_in: D, d_sae: F, architecture: "topk" };
  const cases: [unknown, RegExp][] = [
    [{ ...topk, k: 0 }, /k must be an integer from 1 to d_sae \(7\), got 0/],
    [{ ...topk, k: F + 1 }, /k must be an integer from 1 to d_sae \(7\), got 8/],
    [{ ...topk, k: "3" }, /k must be an integer from 1 to d_sae \(7\), got "3"/],
    [{ ...topk, k: 2.5 }, /k must be an integer/],
    [{ ...topk, activation_fn_kwargs: { k: 1e9 } }, /activation_fn_kwargs\.k must be an integer from 1 to d_sae/],
    [{ ...topk, k: 2, activation_fn_kwargs: { k: 3 } }, /k \(2\) disagrees with activation_fn_kwargs\.k \(3\)/],
    [topk, /k is missing/],
    [{ d_in: D, d_sae: F, activation_fn_str: "topk" }, /k is missing/],
    [{ d_in: D, d_sae: F, apply_b_dec_to_input: "false" }, /apply_b_dec_to_input must be true or false, got "false"/],
    [{ d_in: D, d_sae: F, apply_b_dec_to_input: 0 }, /apply_b_dec_to_input must be true or false, got 0/],
    [{ d_in: D, d_sae: F, normalize_activations: true }, /normalize_activations "expected_average_only_in"/],
    [{ d_in: D, d_sae: F, normalize_activations: "layer_norm" }, /normalize_activations "layer_norm" is not supported/],
    [{ d_in: D, d_sae: F, normalize_activations: 3 }, /normalize_activations must be a string/],
    [{ d_in: D, d_sae: F, rescale_acts_by_decoder_norm: true }, /rescale_acts_by_decoder_norm true is not supported/],
    [{ ...topk, k: 2, rescale_acts_by_decoder_norm: "no" }, /rescale_acts_by_decoder_norm must be true or false/],
    [{ d_in: D, d_sae: F, architecture: 7 }, /architecture must be a string, got 7/],
    [{ d_in: D, d_sae: F, architecture: "gated", activation_fn_str: "topk" }, /architecture "gated" with/],
    [{ d_in: D, d_sae: F, architecture: "jumprelu", activation_fn_str: "topk" }, /architecture "jumprelu" with/],
    [{ d_in: D, d_sae: F, saelab: { activation: "gelu" } }, /saelab\.activation must be "relu" or "identity"/],
    [{ d_in: D, d_sae: F, saelab: [] }, /saelab must be an object/],
  ];
  for (const [cfg, message] of cases) {
    const dir = await folder(cfg);
    try {
      await assert.rejects(() => loadDictionary(dir), (e) => {
        return e instanceof RangeError && e.message.startsWith(`Cannot load ${join(dir, "cfg.json")}: `) &&
          message.test(e.message);
      }, message.source);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("truncated, non-object or oversized cfg.json is reported with the file name", async () => {
  const good = JSON.stringify({ d_in: D, d_sae: F, architecture: "standard" });
  const cases: [string, string, RegExp][] = [
    [good.slice(0, 20), "TypeError", /is not valid JSON/],
    ["", "TypeError", /is not valid JSON/],
    ["[1, 2]", "RangeError", /is not a JSON object/],
    ["null", "RangeError", /is not a JSON object/],
    [JSON.stringify({ d_in: 1e308, d_sae: F }), "RangeError", /d_in is missing or not an integer from 1 to 1048576/],
    [JSON.stringify({ d_in: D, d_sae: -1 }), "RangeError", /d_sae is missing or not an integer/],
    [JSON.stringify({ d_in: D }), "RangeError", /d_sae is missing/],
  ];
  for (const [text, name, message] of cases) {
    const dir = await folder(text);
    try {
      const path = join(dir, "cfg.json");
      for (const read of [() => readSaeLensCfg(dir), () => loadDictionary(dir)]) {
        await assert.rejects(read, (e) => {
          return (e as Error).name === name && (e as Error).message.startsWith(`Cannot read ${path}: `) &&
            message.test((e as Error).message);
        }, `${JSON.stringify(text)}: ${message.source}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("parseSaeLensCfg: the product d_in · d_sae is bounded, and TopK reads k from either field", () => {
  assert.throws(() => parseSaeLensCfg({ d_in: 2 ** 20, d_sae: 2 ** 13 }, { file: "c.json" }), /d_in · d_sae/);
  assert.equal(parseSaeLensCfg({ d_in: 4, d_sae: 8, architecture: "topk", k: 8 }, { file: "c" }).k, 8);
  const v5 = parseSaeLensCfg({ d_in: 4, d_sae: 8, activation_fn_str: "topk", activation_fn_kwargs: { k: 3 } }, {
    file: "c",
  });
  assert.deepEqual([v5.architecture, v5.k], ["topk", 3]);
  assert.equal(parseSaeLensCfg({ d_in: 4, d_sae: 8, k: 0 }, { file: "c" }).k, 0, "k of a ReLU SAE is not read");
});
