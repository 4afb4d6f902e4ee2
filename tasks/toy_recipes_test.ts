import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readToy, type ToyJson } from "@saelab/runs";
import { runStage, UsageError } from "./_runtime.ts";
import { toyStage } from "./toy.ts";
import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

// α 3 starves most features of the large members within the first steps: they are dead when resampling comes
async function toyJson(runsDir: string, id: string): Promise<ToyJson> {
  const file = await readToy(runsDir, id);
  if (file.status !== "ok") throw new Error(`toy.json of ${id}: ${JSON.stringify(file)}`);
  return file.value;
}

const base = { d: 8, ratios: [1, 2], l1: [1e-3, 3], lr: 5e-2, steps: 40, batchSize: 32, seed: 1 };

Deno.test("toy --resample --l1-warmup-steps: dead features of the starved members are resampled, logged and recorded", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    const config = {
      ...base,
      run: "toy-r",
      resample: true,
      resampleEvery: 20,
      resampleDeadAfter: 5,
      l1WarmupSteps: 3,
      lrSchedule: "warmup-decay",
      lrWarmupSteps: 2,
      lrDecaySteps: 8,
    };
    await runStage(toyStage, config, { deps, gpu });
    const toy = await toyJson(runsDir, "toy-r");
    const training = toy.training as {
      l1WarmupSteps: number;
      lrSchedule: Record<string, unknown>;
      resample: { every: number; deadAfter: number; events: { step: number; counts: number[] }[] };
    };
    assert.equal(training.l1WarmupSteps, 3);
    assert.deepEqual(training.lrSchedule, { schedule: "warmup-decay", warmupSteps: 2, decaySteps: 8 });
    assert.deepEqual(training.resample.events.map((e) => e.step), [20, 40]);
    const starved = toy.members.map((m, i) => ({ m, i })).filter(({ m }) => m.l1 === 3);
    assert.equal(starved.length, 2);
    for (const { m, i } of starved) {
      assert.ok(training.resample.events[0].counts[i] > 0, `${m.name}: features resampled at step 20`);
    }
    const lines = deps.messages.filter((l) => l.includes("resampled dead features"));
    assert.equal(lines.length, 2, deps.messages.join("\n"));
    assert.match(lines[0], /^toy: step 20: resampled dead features — untied_r1_a1\.0e-3 \d+ of 8, /);
    assert.ok(lines[0].includes(`untied_r2_a3.0e+0 ${training.resample.events[0].counts[3]} of 16`), lines[0]);
    const run = await readRunJson(runsDir, "toy-r");
    for (
      const [k, v] of Object.entries({ resample: true, resampleEvery: 20, resampleDeadAfter: 5, l1WarmupSteps: 3 })
    ) {
      assert.equal(run.config[k], v, `run.json records ${k}`);
    }
    const summary = deps.messages.join("\n");
    assert.match(summary, /Training: 40 steps of 32 vectors;.*\(warm-up 2 steps, decay over the last 8\)/);
    assert.match(summary, /α warmed up from 0 over 3 steps \(SAELens' L1 warm-up\)/);
    assert.match(summary, /dead features resampled every 20 steps, dead after 5 steps without firing/);
  });
});

Deno.test("toy without the recipes trains as before: no resampling recorded, a constant rate, no L1 warm-up", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    await runStage(toyStage, { ...base, run: "toy-p" }, { deps, gpu });
    const toy = await toyJson(runsDir, "toy-p");
    assert.equal(toy.training?.resample, null);
    assert.equal(toy.training?.l1WarmupSteps, 0);
    assert.deepEqual(toy.training?.lrSchedule, { schedule: "constant" });
    assert.ok(!deps.messages.some((l) => l.includes("resampled")));
    const run = await readRunJson(runsDir, "toy-p");
    assert.equal(run.config.resample, false);
    assert.equal(run.config.l1WarmupSteps, undefined);
  });
});

Deno.test("toy: bad recipe values are usage errors naming the flag", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    const refuse = (config: Record<string, unknown>, flag: RegExp) =>
      assert.rejects(() => runStage(toyStage, config, { deps, gpu }), (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, flag);
        return true;
      });
    await refuse({ l1WarmupSteps: -1 }, /Invalid --l1-warmup-steps: -1 is not ≥ 0/);
    await refuse({ resampleEvery: 0 }, /Invalid --resample-every: 0 is not ≥ 1/);
    await refuse({ resampleDeadAfter: 2.5 }, /Invalid --resample-dead-after: 2\.5 is not a whole number/);
    await refuse({ lrSchedule: "cosine" }, /Invalid --lr-schedule: "cosine" is not one of constant, warmup-decay/);
    await refuse({ lrWarmupSteps: -3 }, /Invalid --lr-warmup-steps: -3 is not ≥ 0/);
    await refuse({ resample: "yes" }, /Invalid --resample: expected true or false/);
    await refuse({ decoderBias: "mean" }, /Invalid --decoder-bias: "mean" is not one of none, zero, geometric-median/);
    await refuse({ l1Penalty: "standard" }, /Invalid --l1-penalty: "standard" is not one of paper, decoder-norm/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
  });
});

Deno.test("toy --l1-penalty decoder-norm: the untied members train with SAELens' standard penalty, named …_dn", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    await runStage(toyStage, { ...base, l1: [1e-3], run: "toy-dn", l1Penalty: "decoder-norm" }, { deps, gpu });
    const toy = await toyJson(runsDir, "toy-dn");
    assert.deepEqual(toy.members.map((m) => m.name), ["untied_r1_a1.0e-3_dn", "untied_r2_a1.0e-3_dn"]);
    for (const m of toy.members) assert.ok(m.mmcsTruth > 0 && m.l0 > 0, JSON.stringify(m));
    assert.equal((await readRunJson(runsDir, "toy-dn")).config.l1Penalty, "decoder-norm");
    assert.match(deps.messages.join("\n"), /untied members penalise α·Σ\|c_j\|·‖D_j‖ with an unnormalised decoder/);
  });
});

Deno.test("toy --decoder-bias geometric-median: every member trains a b_dec from the median of toy rows, named …_bdec", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    const config = { ...base, l1: [1e-3], kinds: ["untied", "tied"], run: "toy-b", decoderBias: "geometric-median" };
    await runStage(toyStage, config, { deps, gpu });
    const toy = await toyJson(runsDir, "toy-b");
    assert.deepEqual(toy.members.map((m) => m.name), [
      "untied_r1_a1.0e-3_bdec",
      "untied_r2_a1.0e-3_bdec",
      "tied_r1_a1.0e-3_bdec",
      "tied_r2_a1.0e-3_bdec",
    ]);
    assert.equal(toy.training?.decoderBias, "geometric-median");
    assert.equal((await readRunJson(runsDir, "toy-b")).config.decoderBias, "geometric-median");
    assert.match(deps.messages.join("\n"), /a trainable b_dec from the geometric median of training rows/);
  });
});
