/**
 * Seeded mutation fuzzing of the JSON loaders (the safetensors reader has its own, in
 * `packages/safetensors/fuzz_test.ts`): valid `tokenizer.json`, GPT-NeoX `config.json` and SAELens
 * `cfg.json` (+ `sae_weights.safetensors`) files are damaged a thousand-odd ways each, written to a
 * temp folder and loaded through the public loaders. Every case must end in a TypeError or
 * RangeError (or a SafetensorsError) whose message names the file, or in a load that is checked
 * against what the mutated file says — never another exception, a hang or garbage.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { loadDictionary } from "@saelab/dictionary";
import type { Gpu } from "@saelab/gpu";
import { CONFIG_LIMITS, loadModel, parseConfig, randomWeights, saveModel, toHfConfig } from "@saelab/neox";
import { SafetensorsError, writeSafetensors } from "@saelab/safetensors";
import { MAX_TOKEN_ID, Tokenizer, type TokenizerJson, trainBpe } from "@saelab/tokenizer";
import { mutateJson, type Rng } from "./_json_mutate.ts";

const CASES = 1200;

/** Run `CASES` cases; each returns whether it loaded. Asserts a mix of loads and refusals. */
async function fuzz(what: string, run: (i: number, r: Rng) => Promise<{ kind: string; loaded: boolean }>) {
  const r = seededRandom(0x5ae1ab);
  const tally: Record<string, [number, number]> = {};
  for (let i = 0; i < CASES; i++) {
    const { kind, loaded } = await run(i, r);
    tally[kind] ??= [0, 0];
    tally[kind][loaded ? 0 : 1]++;
  }
  const loads = Object.values(tally).reduce((n, [a]) => n + a, 0);
  console.log(`${what}: loaded / refused by mutation`, tally);
  assert.ok(loads > 0 && loads < CASES, `${what}: a mix of loads (${loads}) and refusals`);
}

/** A refusal must be typed and name the file. */
function refusal(e: unknown, label: string, file: string): false {
  const typed = e instanceof TypeError || e instanceof RangeError || e instanceof SafetensorsError;
  if (!typed) throw new Error(`${label}: threw ${(e as Error)?.name}: ${(e as Error)?.message ?? e}`, { cause: e });
  assert.ok((e as Error).message.includes(file), `${label}: the message names ${file}: ${(e as Error).message}`);
  return false;
}

const tmp = await Deno.makeTempDir({ prefix: "saelab-fuzz-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

Deno.test(`fuzz: ${CASES} mutated tokenizer.json files are refused by name or load a working tokenizer`, async () => {
  const trained = trainBpe(["the cat sat on the mat; a hat, a bat, 12 cats"], { vocabSize: 280 });
  const next = Math.max(...Object.values(trained.model.vocab)) + 1;
  const flags = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  const base: TokenizerJson = {
    ...trained,
    added_tokens: [
      { id: next, content: "<|endoftext|>", ...flags },
      { id: next + 1, content: "<|pad|>", ...flags },
    ],
  };
  const text = "the cat<|endoftext|> sat on a mat, 12 hats é";
  const path = join(tmp, "tokenizer.json");
  await fuzz("tokenizer.json", async (i, r) => {
    const { kind, bytes } = mutateJson(r, base);
    await Deno.writeFile(path, bytes);
    let tok: Tokenizer;
    try {
      tok = await Tokenizer.fromFile(path);
    } catch (e) {
      return { kind, loaded: refusal(e, `case ${i} (${kind})`, path) };
    }
    assert.ok(Number.isInteger(tok.vocabSize) && tok.vocabSize <= MAX_TOKEN_ID, `case ${i}: vocabSize`);
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize), `case ${i}: ids in range`);
    // Byte-level BPE is lossless, up to the space its pre-tokenizer may be told to put in front.
    const json = JSON.parse(new TextDecoder().decode(bytes));
    const pre = json.pre_tokenizer?.type === "Sequence" ? json.pre_tokenizer.pretokenizers[0] : json.pre_tokenizer;
    const want = pre?.add_prefix_space === false ? text : " " + text;
    assert.equal(tok.decode(ids), want, `case ${i} (${kind}): decode(encode(text))`);
    return { kind, loaded: true };
  });
});

class Reached extends Error {}

/** A GPU whose first use ends the load: every check must come before it. */
const untouchable = new Proxy({}, {
  get() {
    throw new Reached("every check passed");
  },
}) as Gpu;

Deno.test(`fuzz: ${CASES} mutated config.json files are refused by name or agree with their weights`, async () => {
  const config = parseConfig({
    model_type: "gpt_neox",
    vocab_size: 24,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 16,
    rotary_pct: 0.5,
  });
  const dir = join(tmp, "model");
  await saveModel(dir, config, randomWeights(config, { seed: 3 }));
  const base = toHfConfig(config);
  const path = join(dir, "config.json");
  await fuzz("config.json", async (i, r) => {
    const { kind, bytes } = mutateJson(r, base);
    await Deno.writeFile(path, bytes);
    try {
      await loadModel(untouchable, dir);
      throw new Error(`case ${i}: loadModel returned without the GPU`);
    } catch (e) {
      if (!(e instanceof Reached)) return { kind, loaded: refusal(e, `case ${i} (${kind})`, dir) };
    }
    // Every check passed: the file must describe exactly the saved shapes, with usable numbers.
    const got = parseConfig(JSON.parse(new TextDecoder().decode(bytes)));
    for (const key of ["vocabSize", "hiddenSize", "numLayers", "intermediateSize", "tiedEmbeddings"] as const) {
      assert.equal(got[key], config[key], `case ${i} (${kind}): ${key}`);
    }
    assert.ok(got.numLayers <= CONFIG_LIMITS.num_hidden_layers && got.maxPositions <= 1_048_576);
    assert.ok(Number.isFinite(got.rotaryBase) && got.rotaryBase > 1, `case ${i}: rotary base ${got.rotaryBase}`);
    assert.ok(got.rotaryPct > 0 && got.rotaryPct <= 1 && Number.isFinite(got.layerNormEps), `case ${i}: numbers`);
    return { kind, loaded: true };
  });
});

Deno.test(`fuzz: ${CASES} mutated SAELens folders are refused by name or encode as their cfg.json says`, async () => {
  const rand = seededRandom(9);
  const D = 4, F = 6, ROWS = 3;
  const vec = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);
  const t = { W_enc: vec(D * F), b_enc: vec(F, 0.3), W_dec: vec(F * D), b_dec: vec(D, 0.5) };
  const x = vec(ROWS * D, 2);
  const shapes: Record<keyof typeof t, number[]> = { W_enc: [D, F], b_enc: [F], W_dec: [F, D], b_dec: [D] };
  const dir = join(tmp, "sae");
  await Deno.mkdir(dir, { recursive: true });
  const weightsPath = join(dir, "sae_weights.safetensors");
  const write = (over: Partial<typeof shapes> = {}) =>
    writeSafetensors(
      weightsPath,
      Object.fromEntries(
        (Object.keys(t) as (keyof typeof t)[]).map((
          k,
        ) => [k, { dtype: "F32", shape: over[k] ?? shapes[k], data: t[k] }]),
      ),
    );
  await write();
  const good = await Deno.readFile(weightsPath);
  const bases = [
    { d_in: D, d_sae: F, architecture: "standard", activation_fn_str: "relu", apply_b_dec_to_input: true },
    { d_in: D, d_sae: F, architecture: "topk", k: 3, apply_b_dec_to_input: false, normalize_activations: "none" },
    { d_in: D, d_sae: F, architecture: "standard", activation_fn_str: "topk", activation_fn_kwargs: { k: 2 } },
  ];
  const cfgPath = join(dir, "cfg.json");

  /** Codes as the (mutated) cfg.json says, read independently of the loader: float64. */
  const expected = (cfg: Record<string, unknown>): Float64Array => {
    const kw = (cfg.activation_fn_kwargs ?? {}) as Record<string, unknown>;
    const topk = cfg.architecture === "topk" || cfg.activation_fn_str === "topk";
    const k = topk ? Number(kw.k ?? cfg.k) : 0;
    const identity = cfg.activation_fn_str === "identity";
    const apply = cfg.apply_b_dec_to_input ?? true;
    const out = new Float64Array(ROWS * F);
    for (let b = 0; b < ROWS; b++) {
      const row = new Float64Array(F);
      for (let j = 0; j < F; j++) {
        let s = t.b_enc[j];
        for (let i = 0; i < D; i++) s += (x[b * D + i] - (apply ? t.b_dec[i] : 0)) * t.W_enc[i * F + j];
        row[j] = identity ? s : Math.max(s, 0);
      }
      if (k > 0) {
        const keep = [...row.keys()].sort((p, q) => row[q] - row[p] || p - q).slice(0, k);
        for (let j = 0; j < F; j++) if (!keep.includes(j)) row[j] = 0;
      }
      out.set(row, b * F);
    }
    return out;
  };

  await fuzz("cfg.json + weights", async (i, r) => {
    const cfg = bases[i % bases.length];
    let kind: string, bytes: Uint8Array;
    let weightsChanged = true;
    const w = Math.floor(r() * 10);
    if (w === 0) {
      kind = "weights shape swap";
      const key = (["W_enc", "W_dec"] as const)[Math.floor(r() * 2)];
      await write({ [key]: [...shapes[key]].reverse() });
      bytes = new TextEncoder().encode(JSON.stringify(cfg));
    } else if (w === 1) {
      const m = good.slice(0, Math.floor(r() * good.length));
      if (r() < 0.5) {
        m.set(good.subarray(0, m.length));
        const flip = good.slice();
        for (let n = 0; n < 3; n++) flip[Math.floor(r() * flip.length)] ^= 1 << Math.floor(r() * 8);
        kind = "weights bit flips";
        await Deno.writeFile(weightsPath, flip);
      } else {
        kind = "weights truncation";
        await Deno.writeFile(weightsPath, m);
      }
      bytes = new TextEncoder().encode(JSON.stringify(cfg));
    } else {
      ({ kind, bytes } = mutateJson(r, cfg));
      weightsChanged = false;
    }
    await Deno.writeFile(cfgPath, bytes);
    try {
      let dict;
      try {
        dict = await loadDictionary(dir);
      } catch (e) {
        return { kind, loaded: refusal(e, `case ${i} (${kind})`, dir) };
      }
      const codes = dict.encodeHost(x);
      assert.equal(codes.length, ROWS * F, `case ${i}: sizes`);
      assert.ok(codes.every(Number.isFinite), `case ${i} (${kind}): finite codes`);
      if (!weightsChanged) {
        const want = expected(JSON.parse(new TextDecoder().decode(bytes)));
        for (let j = 0; j < want.length; j++) {
          assert.ok(Math.abs(codes[j] - want[j]) <= 1e-5 + 1e-5 * Math.abs(want[j]), `case ${i} (${kind}): code ${j}`);
        }
      }
      return { kind, loaded: true };
    } finally {
      if (weightsChanged) await Deno.writeFile(weightsPath, good);
    }
  });
});
