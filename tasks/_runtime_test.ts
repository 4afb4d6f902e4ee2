import assert from "node:assert/strict";
import * as v from "valibot";
import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";
import { openRun } from "./_run.ts";
import { createContext, defineStage, runPipeline, runStage, type Step, UsageError } from "./_runtime.ts";
import { int, text } from "./_schema.ts";

const model = { name: "tiny", path: "/models/tiny", isDefaultModel: false };

Deno.test("runPipeline: a failing optional step is recorded and reported, and a rerun retries only it", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    const { ctx } = createContext(d);
    ctx.run = await openRun(d, { requested: "p1", config: {}, model, hook: "h" });
    const ran: string[] = [];
    let failLater = true;
    const step = (name: string, optional = false): Step<{ done: Set<string> }> => ({
      name,
      optional,
      reuse: (s) => Promise.resolve(s.done.has(name)),
      run: (s) => {
        ran.push(name);
        if (name === "later" && failLater) return Promise.reject(new Error("no dictionaries"));
        s.done.add(name);
        return Promise.resolve();
      },
    });
    const steps = [step("first"), step("later", true), step("last", true)];
    const state = { done: new Set<string>() };
    const failed = await runPipeline(ctx, { state, steps });
    assert.deepEqual(failed, ["later failed: no dictionaries"]);
    assert.deepEqual(ran, ["first", "later", "last"]);
    let r = await readRunJson(dir, "p1");
    assert.equal(r.stages.later.status, "failed");
    assert.equal(r.stages.later.error, "no dictionaries");
    assert.equal(r.stages.last.status, "done");
    assert.equal(r.status, "failed");
    assert.deepEqual(d.warnings, ["later failed: no dictionaries"]);

    failLater = false;
    ran.length = 0;
    assert.deepEqual(await runPipeline(ctx, { state, steps }), []);
    assert.deepEqual(ran, ["later"]);
    r = await readRunJson(dir, "p1");
    assert.equal(r.stages.later.status, "done");
    assert.equal(r.stages.later.error, undefined);
  });
});

Deno.test("runPipeline: a failing required step, or Ctrl-C, stops the pipeline", async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    const d = testDeps(dir, { controller });
    const { ctx } = createContext(d);
    ctx.run = await openRun(d, { requested: "p2", config: {}, model, hook: "h" });
    const ran: string[] = [];
    const steps: Step<null>[] = [
      {
        name: "train",
        run: () => {
          ran.push("train");
          controller.abort(new DOMException("stop", "AbortError"));
          return Promise.reject(controller.signal.reason);
        },
      },
      { name: "later", optional: true, run: () => (ran.push("later"), Promise.resolve()) },
    ];
    await assert.rejects(() => runPipeline(ctx, { state: null, steps }), { name: "AbortError" });
    assert.deepEqual(ran, ["train"]);
    const r = await readRunJson(dir, "p2");
    assert.equal(r.stages.train.status, "interrupted");
    assert.equal(r.stages.later, undefined);
    assert.equal(r.status, "interrupted");
  });
});

Deno.test("runStage checks the config, finds the stage's run and keeps its record", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    await openRun(d, { requested: "old", config: {}, model, hook: "h" });
    await openRun(d, { requested: "new", config: {}, model, hook: "h" });
    const seen: { run?: string; steps: number }[] = [];
    const toy = defineStage({
      name: "toy",
      schema: v.strictObject({ run: text("run"), steps: int("steps", { default: 2, min: 1 }) }),
      target: { what: "toys", has: (_runsDir, id) => Promise.resolve(id === "old") },
      run: (ctx, config) => {
        seen.push({ run: ctx.run?.id, steps: config.steps });
        return Promise.resolve({ runId: ctx.run!.id });
      },
    });
    assert.deepEqual(await runStage(toy, {}, { deps: d }), { runId: "old" });
    assert.deepEqual(await runStage(toy, { run: "new", steps: 5 }, { deps: d }), { runId: "new" });
    assert.deepEqual(seen, [{ run: "old", steps: 2 }, { run: "new", steps: 5 }]);
    assert.equal((await readRunJson(dir, "old")).stages.toy.status, "done");
    assert.equal((await readRunJson(dir, "new")).stages.toy.status, "done");
    await assert.rejects(() => runStage(toy, { steps: 0 }, { deps: d }), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.message, "Invalid --steps: 0 is not ≥ 1");
      return true;
    });
    await assert.rejects(() => runStage(toy, { stepz: 3 }, { deps: d }), {
      name: "UsageError",
      message: /Unknown option --stepz/,
    });
    await assert.rejects(() => runStage(toy, { run: "none" }, { deps: d }), /run none does not exist/);
    assert.equal(seen.length, 2);
  });
});

Deno.test("runPipeline: a step whose reuse throws is recorded as failed, and so is the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = testDeps(dir);
    const { ctx } = createContext(d);
    ctx.run = await openRun(d, { requested: "p3", config: {}, model, hook: "h" });
    const steps: Step<null>[] = [{
      name: "train",
      reuse: () => Promise.reject(new RangeError("train-state.safetensors is truncated")),
      run: () => Promise.resolve(),
    }];
    await assert.rejects(() => runPipeline(ctx, { state: null, steps }), /truncated/);
    const r = await readRunJson(dir, "p3");
    assert.equal(r.stages.train.status, "failed");
    assert.equal(r.stages.train.error, "train-state.safetensors is truncated");
    assert.equal(r.status, "failed");
    assert.equal(r.error, "train: train-state.safetensors is truncated");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStage: a stage that throws outside any record leaves its run failed, not running, and its lock released", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = testDeps(dir);
    const opener = defineStage({
      name: "opener",
      schema: v.strictObject({}),
      run: async (ctx) => {
        await openRun(ctx, { requested: "p4", config: {}, model, hook: "h" });
        throw new Error("cannot read the model");
      },
    });
    await assert.rejects(() => runStage(opener, {}, { deps: d }), /cannot read the model/);
    const r = await readRunJson(dir, "p4");
    assert.equal(r.status, "failed");
    assert.equal(r.error, "opener: cannot read the model");
    await assert.rejects(() => Deno.stat(`${dir}/p4/run.lock`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
