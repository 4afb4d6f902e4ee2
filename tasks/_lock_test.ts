import assert from "node:assert/strict";
import { readRun } from "@saelab/runs";
import { testDeps, withTempDir } from "@saelab/runs/testing";
import { holdInChild } from "./_child_testing.ts";
import { LOCK_FILE, releaseRunLocks } from "./_lock.ts";
import { openRun } from "./_run.ts";

const model = { name: "tiny", path: "/models/tiny", isDefaultModel: false };
const config = { model: "/models/tiny", hook: "blocks.1.hook_resid_post", tokens: 512 };
const RUN = new URL("./_run.ts", import.meta.url).href;

/**
 * A writer in another process: opens run `id` (or the newest unfinished one), prints what happened as one
 * JSON line, holds the run until its stdin closes, then exits (which releases the lock).
 */
function writer(
  runsDir: string,
  id: string | null,
): { ready: Promise<{ id?: string; error?: string }>; stop(): Promise<number> } {
  const code = `
    import { openRun } from ${JSON.stringify(RUN)};
    const log = { info() {}, warn() {}, debug() {} };
    const deps = { runsDir: ${
    JSON.stringify(runsDir)
  }, progress() {}, signal: new AbortController().signal, log, verbose: false };
    try {
      const run = await openRun(deps, { requested: ${JSON.stringify(id ?? undefined)}, config: ${
    JSON.stringify(config)
  },
        model: ${JSON.stringify(model)}, hook: "h" });
      console.log(JSON.stringify({ id: run.id }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.name + ": " + e.message }));
    }
  `;
  const child = holdInChild(code);
  return { ready: child.ready.then((line) => JSON.parse(line)), stop: child.stop };
}

Deno.test("run lock: of writers started at once on one run, one writes and the others are refused naming it", async () => {
  await withTempDir(async (dir) => {
    const writers = [0, 1, 2].map(() => writer(dir, "r1"));
    const results = await Promise.all(writers.map((w) => w.ready));
    const ok = results.filter((r) => r.id === "r1");
    const refused = results.filter((r) => r.error);
    assert.equal(ok.length, 1, JSON.stringify(results));
    assert.equal(refused.length, 2, JSON.stringify(results));
    const holder = JSON.parse(await Deno.readTextFile(`${dir}/r1/${LOCK_FILE}`));
    for (const r of refused) {
      assert.match(
        r.error!,
        /^RunLockedError: Cannot write run r1: it is being written by process (\d+) on .+ \(since /,
      );
      assert.equal(Number(/process (\d+)/.exec(r.error!)![1]), holder.pid);
    }
    for (const w of writers) assert.equal(await w.stop(), 0);
    // the holder's exit released the lock: this process may write the run now
    await assert.rejects(() => Deno.stat(`${dir}/r1/${LOCK_FILE}`), Deno.errors.NotFound);
    const d = testDeps(dir);
    assert.equal((await openRun(d, { requested: "r1", config, model, hook: "h" })).id, "r1");
    await releaseRunLocks();
  });
});

Deno.test("run lock: a run that another process writes is not resumed as the newest unfinished one", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    const first = await openRun(d, { config, model, hook: "h" });
    await releaseRunLocks();
    const other = writer(dir, first.id);
    assert.deepEqual(await other.ready, { id: first.id });
    const next = await openRun(d, { config, model, hook: "h" });
    assert.notEqual(next.id, first.id);
    assert.equal(next.resumed, false);
    assert.ok(d.messages.some((m) => m.startsWith(`Not resuming run ${first.id}: it is being written by process`)));
    await releaseRunLocks();
    assert.equal(await other.stop(), 0);
    // once it is free, it is resumed again
    assert.ok([first.id, next.id].includes((await openRun(d, { config, model, hook: "h" })).id));
    await releaseRunLocks();
  });
});

Deno.test("run lock: a stale lock (its process is gone) is reported and taken over", async () => {
  await withTempDir(async (dir) => {
    const gone = await new Deno.Command(Deno.execPath(), { args: ["eval", "console.log(Deno.pid)"], stdout: "piped" })
      .output();
    const pid = Number(new TextDecoder().decode(gone.stdout).trim());
    await Deno.mkdir(`${dir}/r1`);
    const stale = { pid, host: Deno.hostname(), started: "2026-01-01T00:00:00.000Z", token: "t" };
    await Deno.writeTextFile(`${dir}/r1/${LOCK_FILE}`, JSON.stringify(stale));
    const d = testDeps(dir);
    await openRun(d, { requested: "r1", config, model, hook: "h" });
    assert.ok(
      d.warnings.includes(
        `Run r1: took over a stale lock of process ${pid} on ${stale.host} (since ${stale.started}) ` +
          `(process ${pid} is not running)`,
      ),
      d.messages.join("\n"),
    );
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/r1/${LOCK_FILE}`)).pid, Deno.pid);
    assert.equal((await readRun(dir, "r1"))?.run?.status, "running");
    await releaseRunLocks();
    await assert.rejects(() => Deno.stat(`${dir}/r1/${LOCK_FILE}`), Deno.errors.NotFound);
  });
});

Deno.test("run lock: a refused second writer leaves run.json as the first writer keeps it", async () => {
  await withTempDir(async (dir) => {
    const d = testDeps(dir);
    await openRun(d, { requested: "r1", config, model, hook: "h" });
    const before = await Deno.readTextFile(`${dir}/r1/run.json`);
    const other = writer(dir, "r1");
    const result = await other.ready;
    assert.match(result.error!, new RegExp(`it is being written by process ${Deno.pid} on `));
    assert.equal(await other.stop(), 0);
    assert.equal(await Deno.readTextFile(`${dir}/r1/run.json`), before);
    await releaseRunLocks();
  });
});

Deno.test("run lock: the CLI refuses a second writer with exit code 1, naming the holder", async () => {
  await withTempDir(async (dir) => {
    await openRun(testDeps(dir), { requested: "r1", config, model, hook: "h" });
    const cli = new URL("../apps/cli/main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "baselines", "--run", "r1", "--runs", dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(
      stderr,
      new RegExp(`error: Cannot write run r1: it is being written by process ${Deno.pid} on .+ \\(since `),
    );
    await releaseRunLocks();
  });
});
