import assert from "node:assert/strict";
import { join } from "node:path";
import {
  appendJsonLines,
  appendMetrics,
  createRun,
  readMetrics,
  readRun,
  setRunStatus,
  setStage,
  validate,
  writeJsonAtomic,
} from "./mod.ts";
import { withTempDir } from "./testing.ts";

const model = { name: "tiny", path: null, isDefaultModel: true };

Deno.test("writeJsonAtomic leaves no temporary files and refuses non-finite numbers", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "a", "b.json");
    await writeJsonAtomic(p, { x: 1 });
    await writeJsonAtomic(p, { x: 2 });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(p)), { x: 2 });
    const names = [...Deno.readDirSync(join(dir, "a"))].map((e) => e.name);
    assert.deepEqual(names, ["b.json"]);
    await assert.rejects(() => writeJsonAtomic(p, { loss: NaN }), RangeError);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(p)), { x: 2 });
    assert.deepEqual([...Deno.readDirSync(join(dir, "a"))].map((e) => e.name), ["b.json"]);
  });
});

Deno.test("a reader polling during rewrites only ever sees whole files", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "big.json");
    const payload = (i: number) => ({ i, data: Array.from({ length: 20_000 }, (_, k) => k * i) });
    await writeJsonAtomic(p, payload(0));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 20; i++) await writeJsonAtomic(p, payload(i));
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const v = JSON.parse(await Deno.readTextFile(p)); // throws on a torn file
      assert.equal(v.data.length, 20_000);
      reads++;
    }
    await writer;
    assert.ok(reads > 0);
  });
});

Deno.test("createRun, setStage, setRunStatus and appendMetrics keep run.json valid and resumable", async () => {
  await withTempDir(async (dir) => {
    const now = new Date(Date.UTC(2025, 0, 2));
    const run = await createRun(dir, { id: "r1", config: { steps: 10 }, model, hook: "blocks.0.hook_resid_post", now });
    assert.equal(run.status, "running");
    assert.deepEqual(validate("run", run), []);
    await setStage(dir, "r1", { stage: "train", record: { status: "running", done: 5, total: 10 }, seconds: 1.5 });
    await setStage(dir, "r1", { stage: "train", record: { status: "interrupted" }, seconds: 2 });
    await setRunStatus(dir, "r1", { status: "interrupted" });
    let s = await readRun(dir, "r1");
    assert.equal(s?.readable, "ok");
    assert.equal(s?.run?.status, "interrupted");
    assert.deepEqual(s?.run?.stages.train, { status: "interrupted", done: 5, total: 10 });
    assert.equal(s?.run?.timings.train, 3.5);
    // Resuming keeps identity, stages and timings.
    const again = await createRun(dir, { id: "r1", config: { steps: 99 }, model, hook: "x" });
    assert.equal(again.created, now.toISOString());
    assert.deepEqual(again.config, { steps: 10 });
    assert.equal(again.status, "running");
    await setRunStatus(dir, "r1", { status: "failed", error: "out of memory" });
    s = await readRun(dir, "r1");
    assert.equal(s?.run?.error, "out of memory");
    await appendMetrics(dir, "r1", [{ member: "m", step: 0, loss: 1, mse: 1, l0: 4 }]);
    await appendMetrics(dir, "r1", [{ member: "m", step: 1, loss: 0.5, mse: 0.4, l0: 3 }]);
    const m = await readMetrics(dir, "r1");
    assert.deepEqual(m.rows.map((r) => r.step), [0, 1]);
    assert.deepEqual(m.problems, []);
    await assert.rejects(() => createRun(dir, { id: "../x", config: {}, model, hook: "h" }), TypeError);
    await assert.rejects(() => appendJsonLines(join(dir, "x.jsonl"), [{ a: Infinity }]), RangeError);
  });
});
