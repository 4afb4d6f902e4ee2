import assert from "node:assert/strict";
import { setStage } from "@saelab/runs";
import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";
import { releaseRunLocks } from "./_lock.ts";
import { recordStage, settleRuns } from "./_record.ts";
import { openRun } from "./_run.ts";

const model = { name: "tiny", path: "/models/tiny", isDefaultModel: false };

/** A run whose train stage a killed writer left `running`, opened again by this process. */
async function killedMidTrain(dir: string, id: string) {
  const deps = testDeps(dir);
  const run = await openRun(deps, { requested: id, config: {}, model, hook: "h" });
  await setStage(dir, id, { stage: "harvest", record: { status: "done" } });
  await setStage(dir, id, { stage: "train", record: { status: "running", started: new Date().toISOString() } });
  return { deps, run };
}

Deno.test("a stage that fails in a rerun after a crash leaves no stage of the run recorded running", () =>
  withTempDir(async (dir) => {
    const { run } = await killedMidTrain(dir, "k1");
    try {
      await assert.rejects(
        () => recordStage(run, "harvest", () => Promise.reject(new Error("a held-out chunk is corrupted"))),
        /held-out chunk/,
      );
    } finally {
      releaseRunLocks();
    }
    const r = await readRunJson(dir, "k1");
    assert.equal(r.status, "failed");
    assert.equal(r.error, "harvest: a held-out chunk is corrupted");
    assert.equal(r.stages.harvest.status, "failed");
    assert.equal(r.stages.train.status, "interrupted");
  }));

Deno.test("a command that fails outside a stage leaves no stage of its run recorded running", () =>
  withTempDir(async (dir) => {
    const { deps } = await killedMidTrain(dir, "k2");
    try {
      await settleRuns(deps, "train", new Error("cannot read the model"));
    } finally {
      releaseRunLocks();
    }
    const r = await readRunJson(dir, "k2");
    assert.equal(r.status, "failed");
    assert.equal(r.stages.train.status, "interrupted");
    assert.equal(r.stages.harvest.status, "done");
  }));
