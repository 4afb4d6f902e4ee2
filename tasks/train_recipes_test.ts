import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";
import { train } from "./train.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

Deno.test("train with every recipe: b_dec from the geometric median, the decoder-norm penalty, L1 warm-up, resampling", async () => {
  await withTempDir(async (runsDir) => {
    const deps = testDeps(runsDir);
    const config = {
      run: "r1",
      tokens: 1024,
      corpusTokens: 30_000,
      context: 32,
      heldOutFraction: 0.3,
      kinds: ["untied", "tied"],
      ratios: [1],
      l1: [30],
      steps: 12,
      batchSize: 32,
      lr: 0.5,
      logEvery: 2,
      lossWindows: 0,
      skip: ["baselines", "score"],
      decoderBias: "geometric-median",
      l1Penalty: "decoder-norm",
      l1WarmupSteps: 2,
      resample: true,
      resampleEvery: 6,
      resampleDeadAfter: 3,
      lrSchedule: "warmup-decay",
      lrWarmupSteps: 2,
      lrDecaySteps: 2,
    };
    await train(config, deps, { gpu });
    const log = deps.messages.join("\n");
    assert.match(log, /train: b_dec starts at the geometric median of \d+ training rows \(Weiszfeld, \d+ iterations\)/);
    const resampled = deps.messages.filter((m) => m.includes("resampled dead features"));
    assert.equal(resampled.length, 2, log);
    assert.match(
      resampled[0],
      /^train: step 6: resampled dead features — untied_r1_a3\.0e\+1_bdec_dn \d+ of \d+, tied_r1_a3\.0e\+1_bdec \d+ of \d+$/,
    );
    // α 30 starves the features within the first steps: the resampling finds dead ones
    const counts = [...resampled[0].matchAll(/ (\d+) of /g)].map((m) => Number(m[1]));
    assert.ok(counts[0] > 0 && counts[1] > 0, resampled[0]);
    const run = await readRunJson(runsDir, "r1");
    assert.equal(run.status, "done");
    for (
      const [k, v] of Object.entries({ decoderBias: "geometric-median", l1Penalty: "decoder-norm", resample: true })
    ) {
      assert.equal(run.config[k], v, `run.json records ${k}`);
    }
    const cfg = JSON.parse(await Deno.readTextFile(`${runsDir}/r1/saes/untied_r1_a3.0e+1_bdec_dn/cfg.json`));
    assert.equal(cfg.saelab.l1_penalty, "decoder-norm");
    assert.equal(cfg.saelab.decoder_bias, true);
    assert.match(log, /Training: 12 steps of 32 vectors;.*\(warm-up 2 steps, decay over the last 2\)/);
    assert.match(log, /untied members penalise α·Σ\|c_j\|·‖D_j‖/);
    assert.match(log, /a trainable b_dec from the geometric median/);
    assert.match(log, /α warmed up from 0 over 2 steps/);
    assert.match(log, /dead features resampled every 6 steps, dead after 3 steps without firing/);
  });
});
