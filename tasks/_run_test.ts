import assert from "node:assert/strict";
import { type RunJson, setRunStatus, setStage, type StageDeps } from "@saelab/runs";
import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";
import { openRun } from "./_run.ts";
import { recordStage } from "./_runtime.ts";

const model = { name: "tiny", path: "/models/tiny", isDefaultModel: false };
const base = { model: "/models/tiny", hook: "blocks.1.hook_resid_post", tokens: 512, ratios: [1, 2], steps: 10 };

/** `openRun` of run `id` with `config` is refused with a TypeError whose message matches `message`. */
function refuses(
  d: StageDeps,
  o: { id: string; config: Record<string, unknown>; message: RegExp },
): Promise<void> {
  const { id, config, message } = o;
  return assert.rejects(() => openRun(d, { requested: id, config, model, hook: base.hook }), {
    name: "TypeError",
    message,
  });
}

const trained = (r: RunJson) => r.status === "done" && r.stages.evaluate?.status === "done";

Deno.test("openRun resumes the newest unfinished run with the same settings and records the new free settings", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    const first = await openRun(d, { config: base, model, hook: base.hook, finished: trained });
    assert.equal(first.resumed, false);
    await setStage(dir, first.id, { stage: "harvest", record: { status: "done" } });
    const again = await openRun(d, { config: { ...base, steps: 20 }, model, hook: base.hook, finished: trained });
    assert.equal(again.id, first.id);
    assert.equal(again.resumed, true);
    assert.equal((await readRunJson(dir, first.id)).config.steps, 20);
    assert.deepEqual((await readRunJson(dir, first.id)).stages.harvest, { status: "done" });

    // Training settings may change until training starts; harvest settings may not.
    const grid = await openRun(d, { config: { ...base, ratios: [4] }, model, hook: base.hook, finished: trained });
    assert.equal(grid.id, first.id);
    await setStage(dir, first.id, { stage: "train", record: { status: "running" } });
    await refuses(d, { id: first.id, config: { ...base, ratios: [1] }, message: /ratios differ/ });
    await refuses(d, { id: first.id, config: { ...base, ratios: [4], tokens: 9 }, message: /tokens differ/ });
    const other = await openRun(d, { config: { ...base, tokens: 1024 }, model, hook: base.hook, finished: trained });
    assert.notEqual(other.id, first.id);
  });
});

Deno.test("openRun starts a new run once the last one is finished", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    const first = await openRun(d, { config: base, model, hook: base.hook, finished: trained });
    await recordStage(first, "evaluate", () => Promise.resolve());
    assert.equal((await readRunJson(dir, first.id)).status, "running");
    await setRunStatus(dir, first.id, { status: "done" });
    const next = await openRun(d, { config: base, model, hook: base.hook, finished: trained });
    assert.notEqual(next.id, first.id);
    assert.equal(next.resumed, false);
  });
});

Deno.test("runStage records done with timings, failed with the message, and interrupted on abort", async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    const d = testDeps(dir, { controller });
    const run = await openRun(d, { requested: "r1", config: base, model, hook: base.hook });
    assert.equal(
      await recordStage(run, "harvest", (s) => (s.update({ done: 5, total: 5, unit: "tokens" }), Promise.resolve(7))),
      7,
    );
    let r = await readRunJson(dir, "r1");
    assert.equal(r.stages.harvest.status, "done");
    assert.equal(r.stages.harvest.done, 5);
    assert.ok(r.timings.harvest >= 0);

    await assert.rejects(() => recordStage(run, "train", () => Promise.reject(new RangeError("no rows"))), RangeError);
    r = await readRunJson(dir, "r1");
    assert.equal(r.stages.train.status, "failed");
    assert.equal(r.stages.train.error, "no rows");
    assert.equal(r.status, "failed");
    assert.match(r.error!, /train: no rows/);

    controller.abort(new DOMException("stop", "AbortError"));
    await assert.rejects(() => recordStage(run, "train", () => Promise.reject(controller.signal.reason)), {
      name: "AbortError",
    });
    r = await readRunJson(dir, "r1");
    assert.equal(r.stages.train.status, "interrupted");
    assert.equal(r.status, "interrupted");
  });
});

Deno.test("a run written before extra members, schedules and per-kind rates existed resumes with the settings it was trained with", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    const old = await openRun(d, { config: base, model, hook: base.hook });
    await setStage(dir, old.id, { stage: "train", record: { status: "interrupted" } });
    const now = { ...base, preset: "paper", probeRows: 4096, extra: [], lrSchedule: "constant", kindLr: {} };
    const resumed = await openRun(d, { requested: old.id, config: now, model, hook: base.hook });
    assert.equal(resumed.resumed, true);
    // what such a run did not do cannot be resumed into
    await refuses(d, { id: old.id, config: { ...now, lrSchedule: "warmup-decay" }, message: /lrSchedule differ/ });
    await refuses(d, { id: old.id, config: { ...now, extra: [{ kinds: ["tied"] }] }, message: /extra differ/ });
    await refuses(d, { id: old.id, config: { ...now, kindLr: { tied: 0.01 } }, message: /kindLr differ/ });
  });
});
