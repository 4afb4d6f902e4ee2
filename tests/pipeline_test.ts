/**
 * End-to-end test of the main job on a tiny pipeline: a folder corpus, a BPE tokenizer trained on
 * it, a seeded random GPT-NeoX (d 16, 2 blocks), 512 harvested tokens and a sweep of two SAEs
 * (R 1 and 2) trained for a few steps. It checks that the run folder is complete and valid by
 * `@saelab/runs`' readers, that each `eval.json` agrees with a float64 CPU evaluation of the
 * SAELens weights on disk over the store's held-out rows, that Ctrl-C then a rerun continues
 * (and ends with the same weights as an uninterrupted run), and that a rerun of a finished run
 * redoes nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "@saelab/activations";
import { createGpu } from "@saelab/gpu";
import { type DictEval, listDicts, readMetrics, validate } from "@saelab/runs";
import { readRunJson, type TestDeps, testDeps } from "@saelab/runs/testing";
import { openSafetensors } from "@saelab/safetensors";
import { splitOf } from "@saelab/corpus";
import { train } from "../tasks/train.ts";
import { TINY_SWEEP, writeTinyInputs } from "./_tiny_inputs.ts";

const gpu = await createGpu();

async function fixture(root: string): Promise<{ corpus: string; model: string }> {
  const { corpus, files, model } = await writeTinyInputs(root, { maxPositions: 16 });
  const heldOut = files.filter((f) => splitOf(`texts:${f.name}`, { heldOutFraction: 0.3 }) === "heldout");
  assert.ok(heldOut.length > 0 && heldOut.length < 12, "the fixture needs documents on both sides of the split");
  return { corpus, model };
}

function deps(runsDir: string, options: { abortAtStep?: number } = {}): TestDeps {
  const controller = new AbortController();
  return testDeps(runsDir, {
    controller,
    progress: (e) => {
      if (e.label === "train" && e.done === options.abortAtStep) {
        controller.abort(new DOMException("Interrupted by the test", "AbortError"));
      }
    },
  });
}

/** The spliced fields of an eval.json: finite, and loss recovered as its definition from the reference losses. */
function assertSpliced(ev: DictEval, name: string): void {
  const r = ev.spliced!;
  assert.ok(r && r.tokens > 0, `${name}: reference losses`);
  assert.ok([r.clean, r.meanAblation, r.zeroAblation, r.spliced].every(Number.isFinite), JSON.stringify(r));
  assert.ok(Math.abs(ev.deltaCe! - (r.spliced - r.clean)) <= 1e-9, `${name} ΔCE`);
  assert.ok(ev.klDiv! >= -1e-6 && Number.isFinite(ev.klDiv), `${name} KL ${ev.klDiv}`);
  const mean = (r.meanAblation - r.spliced) / (r.meanAblation - r.clean);
  const zero = (r.zeroAblation - r.spliced) / (r.zeroAblation - r.clean);
  assert.ok(Math.abs(ev.lossRecovered! - mean) <= 1e-9 * Math.max(1, Math.abs(mean)), `${name} loss recovered`);
  assert.ok(Math.abs(ev.lossRecoveredZero! - zero) <= 1e-9 * Math.max(1, Math.abs(zero)), `${name} zero-ablation`);
  assert.deepEqual(validate("dictEval", ev), []);
}

async function saeTensors(dir: string): Promise<Record<string, Float32Array>> {
  const f = await openSafetensors(join(dir, "sae_weights.safetensors"));
  try {
    const out: Record<string, Float32Array> = {};
    for (const name of ["W_enc", "b_enc", "W_dec", "b_dec"]) out[name] = await f.getFloat32(name);
    return out;
  } finally {
    f.close();
  }
}

/**
 * Float64 evaluation of SAELens weights on rows: FVU, mean L0, the fraction of features that never fire and the
 * fraction that fire on more than 10% of the rows.
 */
function cpuEval(t: Record<string, Float32Array>, x: Float32Array, d: number) {
  const n = t.b_enc.length, rows = x.length / d;
  const mean = new Float64Array(d);
  for (let e = 0; e < x.length; e++) mean[e % d] += x[e] / rows;
  let se = 0, variance = 0, active = 0;
  const fired = new Uint8Array(n);
  const counts = new Float64Array(n);
  const c = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = t.b_enc[j];
      for (let i = 0; i < d; i++) s += (x[r * d + i] - t.b_dec[i]) * t.W_enc[i * n + j];
      c[j] = Math.max(0, s);
      if (c[j] > 0) active++, fired[j] = 1, counts[j]++;
    }
    for (let i = 0; i < d; i++) {
      let y = t.b_dec[i];
      for (let j = 0; j < n; j++) y += c[j] * t.W_dec[j * d + i];
      se += (x[r * d + i] - y) ** 2;
      variance += (x[r * d + i] - mean[i]) ** 2;
    }
  }
  const dead = fired.reduce((k, f) => k + (f ? 0 : 1), 0) / n;
  const dense = counts.reduce((k, f) => k + (f > 0.1 * rows ? 1 : 0), 0) / n;
  return { fvu: se / variance, mse: se / (rows * d), l0: active / rows, dead, dense };
}

/** Mean over rows of `a` of the best cosine with a row of `b`. */
function cpuMmcs(a: Float32Array, b: Float32Array, d: number): number {
  const norm = (m: Float32Array, r: number) => Math.hypot(...m.subarray(r * d, (r + 1) * d));
  let total = 0;
  for (let r = 0; r < a.length / d; r++) {
    let best = -Infinity;
    for (let s = 0; s < b.length / d; s++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += a[r * d + i] * b[s * d + i];
      best = Math.max(best, dot / (norm(a, r) * norm(b, s)));
    }
    total += best;
  }
  return total / (a.length / d);
}

Deno.test("the main job writes a complete run, agrees with a CPU evaluation, and resumes instead of redoing work", async () => {
  const root = await Deno.makeTempDir({ prefix: "saelab-pipeline-" });
  try {
    const { corpus, model } = await fixture(root);
    const runsDir = join(root, "runs");
    const config = {
      model,
      corpus,
      tokens: 512,
      context: 16,
      ...TINY_SWEEP,
      skip: ["baselines", "score"],
    };
    const id = "pipeline";

    // Interrupted in the middle of training: the run says so, and a checkpoint is on disk.
    await assert.rejects(() => train({ ...config, run: id }, deps(runsDir, { abortAtStep: 6 }), { gpu }), {
      name: "AbortError",
    });
    let runJson = await readRunJson(runsDir, id);
    assert.equal(runJson.status, "interrupted");
    assert.equal(runJson.stages.harvest.status, "done");
    assert.equal(runJson.stages.train.status, "interrupted");
    const harvested = runJson.stages.harvest;
    const state = await openSafetensors(join(runsDir, id, "train-state.safetensors"));
    assert.equal(state.metadata.step, "6");
    state.close();

    // The rerun picks the run up without naming it, reuses the store and finishes training.
    const second = deps(runsDir);
    const result = await train(config, second, { gpu });
    assert.equal(result.runId, id);
    assert.ok(second.messages.some((m) => m.startsWith(`Resuming run ${id}`)), second.messages.join("\n"));
    runJson = await readRunJson(runsDir, id);
    assert.equal(runJson.status, "done");
    assert.deepEqual(runJson.stages.harvest, harvested, "the harvest must not run again");
    for (const stage of ["harvest", "train", "evaluate"]) {
      assert.equal(runJson.stages[stage].status, "done", stage);
      assert.ok(runJson.timings[stage] > 0, `timing of ${stage}`);
    }
    assert.equal(runJson.model.isDefaultModel, false);
    assert.equal(runJson.hook, "blocks.1.hook_resid_post");

    // Every file conforms; two members with weights and evaluations.
    const store = await openStore(join(runsDir, id, "activations"));
    assert.equal(store.rows("train") + store.rows("heldout"), 512);
    assert.ok(store.rows("heldout") >= 8);
    const trainRows = await store.getRows(0, store.rows("train"));
    const scale = Math.sqrt(store.rows("train") * store.d / trainRows.x.reduce((k, v) => k + v * v, 0));
    const dicts = await listDicts(runsDir, id);
    assert.deepEqual(dicts.map((x) => x.name), ["untied_r1_a1.0e-3", "untied_r2_a1.0e-3"]);
    const metrics = await readMetrics(runsDir, id);
    assert.deepEqual(metrics.problems, []);
    for (const dict of dicts) {
      assert.equal(dict.cfg.status, "ok", JSON.stringify(dict.cfg));
      assert.equal(dict.eval.status, "ok", JSON.stringify(dict.eval));
      const trainedAt = dict.cfg.status === "ok" ? dict.cfg.value.activation_scale as number : NaN;
      assert.ok(Math.abs(trainedAt - scale) <= 1e-6 * scale, `activation scale ${trainedAt} vs ${scale}`);
      const steps = metrics.rows.filter((r) => r.member === dict.name).map((r) => r.step);
      assert.deepEqual(steps, [3, 7, 11], `each logged step once for ${dict.name}`);
    }
    for (const row of metrics.rows) assert.deepEqual(validate("metricRow", row), []);

    // eval.json against a float64 evaluation of the SAELens weights on ALL held-out rows.
    const x = (await store.getRows(0, store.rows("heldout"), { split: "heldout" })).x;
    const heldRows = x.length / store.d;
    const tensors = await Promise.all(dicts.map((dict) => saeTensors(join(runsDir, id, "saes", dict.name))));
    const evals = dicts.map((dict) => dict.eval.status === "ok" ? dict.eval.value : assert.fail("no eval"));
    dicts.forEach((dict, i) => {
      const ev = evals[i];
      const ref = cpuEval(tensors[i], x, store.d);
      assert.equal(ev.tokens, heldRows);
      assert.equal(ev.deadResolution, 1 / heldRows);
      assert.ok(Math.abs(ev.fvu - ref.fvu) <= 1e-5 + 1e-3 * ref.fvu, `FVU ${ev.fvu} vs ${ref.fvu}`);
      assert.ok(Math.abs(ev.mse! - ref.mse) <= 1e-6 + 1e-3 * ref.mse, `MSE ${ev.mse} vs ${ref.mse}`);
      assert.ok(Math.abs(ev.l0 - ref.l0) <= 0.05, `L0 ${ev.l0} vs ${ref.l0}`);
      assert.ok(Math.abs(ev.deadFraction - ref.dead) <= 1 / 16, `dead ${ev.deadFraction} vs ${ref.dead}`);
      assert.ok(Math.abs(ev.denseFraction! - ref.dense) <= 1 / 16, `dense ${ev.denseFraction} vs ${ref.dense}`);
      const l = ev.splicedLoss!;
      assert.ok([l.clean, l.spliced, l.zeroAblation].every(Number.isFinite), JSON.stringify(l));
      assertSpliced(ev, dict.name);
      assert.equal(ev.trainingVectors, config.steps * config.batchSize);
      assert.equal(ev.distinctVectors, Math.min(config.steps * config.batchSize, store.rows("train")));
      // converged by the plateau rule, from the held-out FVU followed in metrics.jsonl
      const points = metrics.rows.filter((r) => r.member === dict.name && typeof r.heldOutFvu === "number")
        .map((r) => ({ step: r.step + 1, fvu: r.heldOutFvu as number }));
      assert.ok(points.length >= 2, `held-out FVU of ${dict.name} followed: ${JSON.stringify(points)}`);
      assert.ok(points.every((p) => p.fvu > 0 && p.fvu < 10), JSON.stringify(points));
      const end = points[points.length - 1];
      const from = points.filter((p) => p.step <= 0.8 * end.step && p.step < end.step).pop() ?? points[0];
      assert.equal(end.step, config.steps);
      assert.equal(ev.converged, (from.fvu - end.fvu) / from.fvu < 0.02, `converged of ${dict.name}`);
    });
    // MMCS as the seed code defines it: over the larger dictionary's features; the other direction under its name
    assert.equal(evals[0].mmcs!.reference, dicts[1].name);
    const seedMmcs = cpuMmcs(tensors[1].W_dec, tensors[0].W_dec, store.d);
    const otherMmcs = cpuMmcs(tensors[0].W_dec, tensors[1].W_dec, store.d);
    assert.ok(Math.abs(evals[0].mmcs!.value - seedMmcs) <= 1e-5, `MMCS ${evals[0].mmcs!.value} vs ${seedMmcs}`);
    assert.ok(Math.abs(evals[0].mmcsSmallerToLarger! - otherMmcs) <= 1e-5, `other direction vs ${otherMmcs}`);
    assert.ok(evals[0].mmcsChance! > 0 && evals[0].mmcsChance! < 1, `chance ${evals[0].mmcsChance}`);
    assert.equal(evals[1].mmcs, undefined, "the largest size has no larger member");

    // A rerun of the finished run changes nothing.
    const before = await Deno.readTextFile(join(runsDir, id, "run.json"));
    const third = deps(runsDir);
    await train({ ...config, run: id }, third, { gpu });
    const after = await readRunJson(runsDir, id);
    assert.deepEqual(
      { stages: after.stages, timings: after.timings },
      { stages: JSON.parse(before).stages, timings: JSON.parse(before).timings },
    );
    assert.deepEqual((await readMetrics(runsDir, id)).rows, metrics.rows);

    // Interrupting and resuming ends with the weights of an uninterrupted run; its baselines are evaluated the same way.
    await train({ ...config, run: "straight", skip: ["score"] }, deps(runsDir), { gpu });
    const baselines = (await listDicts(runsDir, "straight")).filter((e) => e.kind === "baseline");
    assert.ok(baselines.length >= 4, baselines.map((b) => b.name).join());
    for (const b of baselines) {
      const ev = b.eval.status === "ok" ? b.eval.value : assert.fail(`no eval of ${b.name}: ${JSON.stringify(b.eval)}`);
      assert.equal(ev.converged, null, b.name);
      assert.equal(ev.tokens, heldRows, b.name);
      assert.ok(ev.denseFraction! >= 0 && ev.denseFraction! <= 1, b.name);
      assert.ok(Number.isInteger(ev.trainingVectors), b.name);
      assertSpliced(ev, b.name);
    }
    const byName = Object.fromEntries(baselines.map((b) => [b.name, b.eval.status === "ok" ? b.eval.value : null]));
    // PCA with every component is the identity: it changes nothing downstream
    assert.ok(Math.abs(byName.pca!.deltaCe!) < 1e-3 && byName.pca!.klDiv! < 1e-3, JSON.stringify(byName.pca));
    for (const dict of dicts) {
      const a = await saeTensors(join(runsDir, id, "saes", dict.name));
      const b = await saeTensors(join(runsDir, "straight", "saes", dict.name));
      for (const key of Object.keys(a)) {
        const worst = a[key].reduce((m, v, i) => Math.max(m, Math.abs(v - b[key][i])), 0);
        assert.ok(worst <= 1e-6, `${dict.name} ${key} differs by ${worst}`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
