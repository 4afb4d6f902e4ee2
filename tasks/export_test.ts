import assert from "node:assert/strict";
import { join } from "node:path";
import * as v from "valibot";
import { loadDictionary, readSaeLensCfg } from "@saelab/dictionary";
import { listDicts, makeDemoRun, readFeature, readFeatureIndex, RUN_FILES } from "@saelab/runs";
import { testDeps, withTempDir } from "@saelab/runs/testing";
import { EXIT, runCli } from "../apps/cli/mod.ts";
import { NEURONPEDIA_BATCH, NEURONPEDIA_EXPLANATION, neuronpediaFeature } from "./_neuronpedia.ts";
import { exportRun } from "./export.ts";
import { UsageError } from "./_runtime.ts";
import { initWeights, KIND_NAMES, KINDS, saveSae } from "@saelab/sae";
import { withGpu } from "@saelab/gpu";
import { makePipelineRun } from "../tests/e2e/_pipeline_run.ts";

/** Seeded rows around the origin, for comparing codes. */
function rows(n: number, d: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: n * d }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 4 - 2;
  });
}

Deno.test("export --format saelens writes every SAE member and baseline; each reads back with equal codes", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs"), out = join(dir, "out");
    const { id } = await makeDemoRun(runs, 3);
    const result = await exportRun({ run: id, format: "saelens", out }, testDeps(runs));
    const entries = await listDicts(runs, id);
    assert.equal(entries.filter((e) => e.kind === "baseline").length, 4, "pca, ica, neurons, random");
    assert.equal(entries.filter((e) => e.kind === "sae").length, 9);
    assert.match(result.message ?? "", new RegExp(`Exported run ${id} as SAELens v6 folders`));
    const x = rows(40, 16);
    for (const e of entries) {
      const from = join(runs, id, e.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines, e.name);
      const before = await loadDictionary(from, { kind: e.kind });
      const after = await loadDictionary(join(out, e.name), { kind: e.kind });
      assert.equal(after.dDict, before.dDict, e.name);
      const a = before.encodeHost(x), b = after.encodeHost(x);
      let worst = 0, active = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        if (a[i] !== 0) active++;
      }
      assert.ok(active > 0, `${e.name}: some codes are non-zero, so the comparison means something`);
      assert.ok(worst <= 1e-5, `${e.name}: codes differ by ${worst}`);
      assert.deepEqual(after.decoder, before.decoder, `${e.name}: decoder`);
      const cfg = await readSaeLensCfg(join(out, e.name));
      assert.equal(cfg.hook_name, "blocks.1.hook_resid_post", e.name);
      assert.equal(cfg.apply_b_dec_to_input, false, `${e.name}: b_dec is folded into b_enc`);
      const original = await readSaeLensCfg(from);
      if (e.kind === "sae") assert.equal(cfg.l1_coefficient, original.l1_coefficient, `${e.name}: α is kept`);
      else assert.equal(cfg.method, e.name, `${e.name}: the baseline's method is kept`);
    }
  });
});

Deno.test("export --format saelens keeps the codes of every registered SAE kind, b_dec subtracted from the input", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs"), out = join(dir, "out");
    const { id } = await makeDemoRun(runs, 6);
    const source = { hookName: "blocks.1.hook_resid_post", modelName: "synthetic" };
    for (const [i, kind] of KIND_NAMES.entries()) {
      const needsK = KINDS[kind].needs.includes("k");
      const w = initWeights({
        kind,
        dIn: 16,
        dDict: 32,
        l1: needsK ? 0 : 1e-3,
        decoderBias: true,
        ...(needsK ? { k: 4 } : {}),
      }, {
        seed: i + 1,
      });
      w.decoderBias = rows(1, 16).map((x) => x / 4);
      w.encoderBias = rows(1, 32).map((x) => x / 8);
      if (KINDS[kind].batch) w.threshold = 0.05;
      await saveSae(join(runs, id, RUN_FILES.saes, `${kind}_r2_test`), w, { source });
    }
    await exportRun({ run: id, format: "saelens", out, dicts: KIND_NAMES.map((k) => `${k}_r2_test`) }, testDeps(runs));
    const x = rows(64, 16);
    for (const kind of KIND_NAMES) {
      const name = `${kind}_r2_test`;
      const before = await loadDictionary(join(runs, id, RUN_FILES.saes, name));
      const after = await loadDictionary(join(out, name));
      const a = before.encodeHost(x), b = after.encodeHost(x);
      let worst = 0, active = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        if (a[i] !== 0) active++;
      }
      assert.ok(active > 0 && active < a.length, `${name}: codes are sparse but not all zero`);
      assert.ok(worst <= 1e-5, `${name}: codes differ by ${worst}`);
      const cfg = await readSaeLensCfg(join(out, name));
      assert.equal(cfg.kind, kind, `${name}: the kind is kept`);
    }
  });
});

Deno.test("export --format neuronpedia writes batches and explanations that fit Neuronpedia's format", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs"), out = join(dir, "np");
    const { id } = await makeDemoRun(runs, 4);
    const deps = testDeps(runs);
    await exportRun({ run: id, format: "neuronpedia", out }, deps);
    const featured = (await listDicts(runs, id)).filter((e) => e.hasFeatures).map((e) => e.name);
    assert.equal(featured.length, 5, "one SAE and four baselines have features in the demo run");
    for (const name of featured) {
      const batch = v.parse(NEURONPEDIA_BATCH, JSON.parse(await Deno.readTextFile(join(out, name, "batch-0.json"))));
      assert.equal(batch.layer, 1);
      assert.equal(batch.sae_set, name);
      const index = await readFeatureIndex(runs, id, name);
      assert.ok(index.status === "ok");
      assert.equal(batch.features.length, index.value.features.length);
      const f = batch.features[1];
      const detail = await readFeature(runs, id, { dict: name, index: f.feature_index });
      assert.ok(detail.status === "ok");
      const top = f.activations.filter((a) => a.bin_min === -1);
      assert.equal(top.length, detail.value.top.length);
      assert.deepEqual(top[0].tokens, detail.value.top[0].tokens);
      assert.deepEqual(top[0].values, detail.value.top[0].acts);
      for (const a of f.activations) assert.equal(a.values[a.qualifying_token_index], Math.max(...a.values));
      assert.equal(f.frac_nonzero, detail.value.density);
      assert.deepEqual(f.pos_str, detail.value.logits!.positive.map((t) => t.token));
      const h = detail.value.histogram;
      assert.deepEqual(f.freq_hist_data_bar_heights, h.counts);
      assert.equal(f.freq_hist_data_bar_values[0], (h.edges[0] + h.edges[1]) / 2);
      const explanations = v.parse(
        v.array(NEURONPEDIA_EXPLANATION),
        JSON.parse(await Deno.readTextFile(join(out, name, "explanations.json"))),
      );
      assert.equal(explanations.length, index.value.features.filter((s) => s.explanation !== undefined).length);
      assert.equal(explanations[0].layer, `1-${name}`);
    }
    const settings = JSON.parse(await Deno.readTextFile(join(out, "run_settings.json")));
    assert.equal(settings.synthetic, true, "the settings say the run was synthetic");
    assert.deepEqual(Object.keys(settings.dictionaries).sort(), [...featured].sort());
  });
});

Deno.test("the Neuronpedia schema refuses what the format does not allow", () => {
  const activation = {
    bin_min: -1,
    bin_max: 2,
    bin_contains: -1,
    tokens: ["a", "b"],
    values: [1],
    qualifying_token_index: 0,
  };
  const batch = { model_id: "m", layer: 0, sae_set: "s", sae_id_suffix: null };
  assert.equal(v.safeParse(NEURONPEDIA_BATCH, { ...batch, features: [] }).success, true);
  assert.equal(v.safeParse(NEURONPEDIA_BATCH, batch).success, false, "features missing");
  assert.equal(
    v.safeParse(NEURONPEDIA_BATCH, { ...batch, sae_id_suffix: undefined, features: [] }).success,
    false,
    "Neuronpedia's importer reads sae_id_suffix",
  );
  const source = { modelId: "m", layer: 0, saeSet: "s", dataset: "sotu", tokensPerPrompt: 2 };
  const valid = neuronpediaFeature({ index: 0, density: 0.5, maxActivation: 1 }, { source, prompts: 4 });
  const fits = (f: Record<string, unknown>) => v.safeParse(NEURONPEDIA_BATCH, { ...batch, features: [f] }).success;
  assert.equal(fits({ ...valid, activations: [{ ...activation, tokens: ["a"] }] }), true, "a valid feature");
  assert.equal(fits({ ...valid, activations: [activation] }), false, "two tokens, one value");
  assert.equal(fits({ ...valid, activations: [{ ...activation, tokens: ["a"], qualifying_token_index: 1 }] }), false);
  assert.equal(fits({ ...valid, activations: [{ ...activation, tokens: [], values: [] }] }), false, "an empty text");
  assert.equal(fits({ ...valid, frac_nonzero: 1.5 }), false, "a fraction above 1");
  assert.equal(fits({ ...valid, pos_str: ["x"] }), false, "pos_str without its value");
  const { dataset: _, ...noDataset } = valid;
  assert.equal(fits(noDataset), false, "a field missing");
});

Deno.test("export names the flag or run it cannot use; usage errors exit 2", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs");
    const { id } = await makeDemoRun(runs, 5);
    const deps = testDeps(runs);
    await assert.rejects(
      exportRun({ run: id }, deps),
      (e) => e instanceof UsageError && /Missing --format/.test(e.message),
    );
    await assert.rejects(
      exportRun({ run: "no-such-run", format: "saelens" }, deps),
      (e) => e instanceof UsageError && /Invalid --run: run no-such-run does not exist in /.test(e.message),
    );
    await assert.rejects(
      exportRun({ run: id, format: "saelens", dicts: ["pca", "nope"], out: join(dir, "o") }, deps),
      (e) => e instanceof UsageError && /Invalid --dicts: run demo-5 has no dictionary nope/.test(e.message),
    );
    const io = (out: { stderr: string }) => ({
      stdout: () => {},
      stderr: (t: string) => void (out.stderr += t),
      isTTY: false,
      onSignal: () => () => {},
      exit: (code: number): never => {
        throw new Error(`exit ${code}`);
      },
      cwd: dir,
      env: () => undefined,
    });
    const cases: [string[], RegExp][] = [
      [["export", "--run", id, "--format", "onnx"], /Invalid --format: "onnx" is not one of neuronpedia, saelens/],
      [["export", "--run", "missing", "--format", "saelens"], /Invalid --run: run missing does not exist/],
      [["export", "--run", id], /Missing --format/],
    ];
    for (const [argv, pattern] of cases) {
      const out = { stderr: "" };
      assert.equal(await runCli([...argv, "--runs", runs], { io: io(out) }), EXIT.usage, argv.join(" "));
      assert.match(out.stderr, pattern, argv.join(" "));
    }
  });
});

Deno.test("a pipeline run exports in both formats: its features fit the format, its dictionaries keep their codes", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs");
    let id = "";
    await withGpu(async (gpu) => {
      id = await makePipelineRun(runs, { gpu, work: join(dir, "inputs") });
    });
    const deps = testDeps(runs);
    await exportRun({ run: id, format: "neuronpedia", out: join(dir, "np") }, deps);
    await exportRun({ run: id, format: "saelens", out: join(dir, "sl") }, deps);
    const entries = await listDicts(runs, id);
    assert.ok(entries.some((e) => e.kind === "baseline") && entries.some((e) => e.kind === "sae"));
    const featured = entries.filter((e) => e.hasFeatures);
    assert.ok(featured.length > 0, "scoring harvested features");
    for (const e of featured) {
      const batch = v.parse(
        NEURONPEDIA_BATCH,
        JSON.parse(await Deno.readTextFile(join(dir, "np", e.name, "batch-0.json"))),
      );
      assert.ok(batch.features.some((f) => f.activations.length > 0), `${e.name}: texts`);
      assert.equal(batch.features[0].n_tokens_in_prompt, 64, "the run's windows");
    }
    const x = rows(32, 16);
    for (const e of entries) {
      const from = join(runs, id, e.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines, e.name);
      const a = (await loadDictionary(from, { kind: e.kind })).encodeHost(x);
      const b = (await loadDictionary(join(dir, "sl", e.name), { kind: e.kind })).encodeHost(x);
      assert.ok(a.every((value, i) => Math.abs(value - b[i]) <= 1e-5), `${e.name}: codes`);
    }
  });
});
