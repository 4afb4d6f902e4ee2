import assert from "node:assert/strict";
import { join } from "node:path";
import type { StageDeps, StageModule } from "@saelab/runs";
import { makeDemoRun } from "@saelab/runs";
import * as v from "valibot";
import { defineStage } from "../../tasks/_runtime.ts";
import { int, positionals } from "../../tasks/_schema.ts";
import { type CliIo, EXIT, runCli, type StageEntry, STAGES } from "./mod.ts";
import { withTempDir } from "@saelab/runs/testing";

/** An in-memory process: captured output, captured signal listeners, exit as an exception. */
function fakeIo() {
  const out = { stdout: "", stderr: "" };
  const listeners = new Map<string, Set<() => void>>();
  const io: CliIo = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    isTTY: false,
    onSignal: (sig, fn) => {
      const set = listeners.get(sig) ?? new Set();
      set.add(fn);
      listeners.set(sig, set);
      return () => set.delete(fn);
    },
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    cwd: "/work/here",
    env: (name) => ({ HF_TOKEN: "secret", HOME: "/root" } as Record<string, string>)[name],
  };
  const signal = (sig: string) => [...(listeners.get(sig) ?? [])].forEach((f) => f());
  return { io, out, signal, listeners };
}

const here = new URL(import.meta.url);
const schema = v.strictObject({ steps: int("steps", { default: 3 }), dictRatio: int("R"), _: positionals() });
const entry = (run: StageModule["run"] | null, extra: Partial<StageEntry> = {}): StageEntry => ({
  describe: "a test stage",
  examples: ["deno task fake --steps 2"],
  file: here,
  load: () =>
    Promise.resolve({
      stage: (run ? defineStage({ name: "fake", schema, run: (ctx, config) => run(config, ctx) }) : {}) as never,
    }),
  ...extra,
});

Deno.test("help and unknown commands", async () => {
  const f = fakeIo();
  assert.equal(await runCli([], { io: f.io }), EXIT.usage);
  assert.match(f.out.stdout, /Commands:\n {2}train/);
  for (const name of Object.keys(STAGES)) assert.ok(f.out.stdout.includes(`  ${name}`), name);
  const g = fakeIo();
  assert.equal(await runCli(["--help"], { io: g.io }), EXIT.ok);
  const h = fakeIo();
  assert.equal(await runCli(["serv"], { io: h.io }), EXIT.usage);
  assert.match(h.out.stderr, /unknown command "serv" \(did you mean serve\?\)/);
  for (const name of Object.keys(STAGES)) {
    const k = fakeIo();
    assert.equal(await runCli([name, "--help"], { io: k.io }), EXIT.ok, name);
    assert.match(
      k.out.stdout,
      new RegExp(`^${name}: [^]*Usage: deno task ${name} \\[options\\][^]*Examples:\\n  deno task ${name}`),
    );
  }
});

Deno.test("a stage whose file is missing is not available: exit 2, nothing faked", async () => {
  const f = fakeIo();
  let loaded = false;
  const missing = entry(() => Promise.resolve(), {
    file: new URL("./no-such-stage.ts", import.meta.url),
    load: () => {
      loaded = true;
      return Promise.reject(new Error("should not load"));
    },
  });
  assert.equal(await runCli(["ghost", "--steps", "2"], { io: f.io, stages: { ghost: missing } }), EXIT.usage);
  assert.match(f.out.stderr, /`ghost` is not available in this build \(cli\/no-such-stage\.ts is missing\)/);
  assert.equal(loaded, false);
});

Deno.test("a stage gets the merged config and its deps, and its run id goes to stdout", async () => {
  const f = fakeIo();
  let seen: { config: Record<string, unknown>; deps: StageDeps } | null = null;
  const fake = entry((config, deps) => {
    seen = { config, deps };
    deps.progress({ label: "fake", done: 1, total: 1, unit: "step" });
    deps.log.info("hello");
    deps.log.debug("hidden unless verbose");
    return Promise.resolve({ runId: "run-7", message: "all good" });
  });
  assert.equal(await runCli(["fake", "--dict-ratio", "4", "--runs", "out"], { io: f.io, stages: { fake } }), EXIT.ok);
  assert.deepEqual(seen!.config, { steps: 3, dictRatio: 4 });
  assert.equal(seen!.deps.runsDir, "/work/here/out");
  assert.equal(seen!.deps.signal.aborted, false);
  assert.equal(seen!.deps.verbose, false);
  assert.equal(f.out.stdout, "run-7\n");
  assert.match(f.out.stderr, /fake .* 100\.0% 1\/1 step .*done\nhello\nall good\n/);
  assert.ok(!f.out.stderr.includes("hidden"));
  assert.equal(f.listeners.get("SIGINT")?.size, 0, "signal listeners are removed afterwards");
});

Deno.test("positional arguments and environment variables reach only stages that declare them", async () => {
  let seen: { config: Record<string, unknown>; deps: StageDeps } | null = null;
  const capture: StageModule["run"] = (config, deps) => {
    seen = { config, deps };
    return Promise.resolve();
  };
  const f = fakeIo();
  const withEnv = entry(capture, { env: ["HF_TOKEN", "MISSING"], positional: "[REPO]" });
  assert.equal(await runCli(["fetch", "org/model", "--steps", "1"], { io: f.io, stages: { fetch: withEnv } }), EXIT.ok);
  assert.deepEqual(seen!.config, { steps: 1, _: ["org/model"] });
  assert.deepEqual(seen!.deps.env, { HF_TOKEN: "secret", MISSING: undefined });
  const g = fakeIo();
  assert.equal(await runCli(["plain", "org/model"], { io: g.io, stages: { plain: entry(capture) } }), EXIT.usage);
  assert.match(g.out.stderr, /Unexpected argument "org\/model"/);
  assert.equal(await runCli(["plain"], { io: g.io, stages: { plain: entry(capture) } }), EXIT.ok);
  assert.equal(seen!.deps.env, undefined);
  const h = fakeIo();
  await runCli(["fetch", "--help"], { io: h.io, stages: { fetch: withEnv } });
  assert.match(h.out.stdout, /Usage: deno task fetch \[options\] \[REPO\]/);
  assert.match(h.out.stdout, /Environment variables read: HF_TOKEN, MISSING\./);
});

Deno.test("failures: exit 1 with the message only, the stack with --verbose; usage errors exit 2", async () => {
  const boom = entry(() => Promise.reject(new RangeError("Cannot train: steps must be positive")));
  const f = fakeIo();
  assert.equal(await runCli(["boom"], { io: f.io, stages: { boom } }), EXIT.failed);
  assert.match(f.out.stderr, /^error: Cannot train: steps must be positive\n\(run with --verbose for details\)\n$/);
  const g = fakeIo();
  assert.equal(await runCli(["boom", "--verbose"], { io: g.io, stages: { boom } }), EXIT.failed);
  assert.match(g.out.stderr, /RangeError: Cannot train[^]*\n {4}at /);
  const h = fakeIo();
  assert.equal(await runCli(["boom", "--steps", "x"], { io: h.io, stages: { boom } }), EXIT.usage);
  assert.match(h.out.stderr, /Invalid --steps/);
  const i = fakeIo();
  assert.equal(await runCli(["norun"], { io: i.io, stages: { norun: entry(null) } }), EXIT.failed);
  assert.match(i.out.stderr, /does not export its stage/);
});

Deno.test("Ctrl-C aborts the signal, lets the stage checkpoint, exits 130; a second Ctrl-C quits at once", async () => {
  const f = fakeIo();
  let checkpointed = false;
  const slow = entry(async (_c, deps) => {
    await new Promise<void>((r) => deps.signal.addEventListener("abort", () => r()));
    checkpointed = true;
  });
  const running = runCli(["slow"], { io: f.io, stages: { slow } });
  await new Promise((r) => setTimeout(r, 20));
  f.signal("SIGINT");
  assert.equal(await running, EXIT.interrupted);
  assert.ok(checkpointed);
  assert.match(f.out.stderr, /Interrupting: finishing the current step and saving a checkpoint/);
  assert.match(f.out.stderr, /rerun the same command to resume/);

  const g = fakeIo();
  const stuck = entry((_c, deps) =>
    new Promise((_, reject) =>
      deps.signal.addEventListener("abort", () => setTimeout(() => reject(deps.signal.reason), 50))
    )
  );
  const p = runCli(["stuck"], { io: g.io, stages: { stuck } });
  await new Promise((r) => setTimeout(r, 20));
  g.signal("SIGTERM");
  assert.throws(() => g.signal("SIGINT"), /exit 130/);
  assert.equal(await p, EXIT.interrupted);

  const h = fakeIo();
  const server = entry(async (_c, deps) => {
    await new Promise<void>((r) => deps.signal.addEventListener("abort", () => r()));
  }, { endsOnInterrupt: true });
  const q = runCli(["server"], { io: h.io, stages: { server } });
  await new Promise((r) => setTimeout(r, 20));
  h.signal("SIGINT");
  assert.equal(await q, EXIT.ok);
});

Deno.test("real process: SIGINT makes a stage checkpoint and exit 130", async () => {
  await withTempDir(async (dir) => {
    const checkpoint = join(dir, "checkpoint.txt");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./testdata/interruptible.ts", import.meta.url).pathname, checkpoint],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    while (!err.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGINT");
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        err += value;
      }
    })();
    const status = await child.status;
    await child.stdout.cancel();
    assert.equal(status.code, 130, err);
    const steps = Number(await Deno.readTextFile(checkpoint));
    assert.ok(steps > 0);
  });
});

Deno.test("real process: `serve` answers on loopback and stops cleanly on SIGINT", async () => {
  await withTempDir(async (runs) => {
    await makeDemoRun(runs, 1);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "serve", "--runs", runs, "--port", "0"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
      url = err.match(/at (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    }
    assert.ok(url, err);
    const res = await fetch(`${url}/api/runs`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).runs[0].id, "demo-1");
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    await child.stdout.cancel();
    assert.equal((await child.status).code, 0, err);
    assert.match(err, /Stopping/);
  });
});

Deno.test("usage errors of the real stages exit 2 and name the flag", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "c.json");
    await Deno.writeTextFile(config, JSON.stringify({ ratioz: [1] }));
    const cases: [string[], RegExp][] = [
      [["train", "--ratios", "0"], /Invalid --ratios \(item 1\): 0 is not > 0/],
      [["train", "--l1=-1"], /Invalid --l1 \(item 1\): -1 is not ≥ 0/],
      [["train", "--l1", "-1"], /Invalid --l1 \(item 1\): -1 is not ≥ 0/],
      [["train", "--lr=-5"], /Invalid --lr: -5 is not > 0/],
      [["train", "--steps", "0"], /Invalid --steps: 0 is not ≥ 1/],
      [["train", "--config", config], /Unknown option --ratioz/],
      [["train", "--ratioz", "1"], /Unknown option --ratioz/],
      [["train", "--batch-size", "6"], /Invalid --batch-size: 6 is not a multiple of 4/],
      [["train", "--l1-warmup-steps", "-2"], /Invalid --l1-warmup-steps: -2 is not ≥ 0/],
      [["train", "--resample-every", "0"], /Invalid --resample-every: 0 is not ≥ 1/],
      [["train", "--resample-dead-after", "1.5"], /Invalid --resample-dead-after: 1\.5 is not a whole number/],
      [["train", "--lr-decay-steps", "-1"], /Invalid --lr-decay-steps: -1 is not ≥ 0/],
      [["toy", "--lr-schedule", "cosine"], /Invalid --lr-schedule: "cosine" is not one of/],
      [["baselines", "--methods", "pca,svd"], /Invalid --methods \(item 2\): "svd" is not one of pca, ica/],
      [["score", "--features", "-3"], /Invalid --features: -3 is not ≥ 1/],
    ];
    for (const [argv, pattern] of cases) {
      const f = fakeIo();
      assert.equal(await runCli([...argv, "--runs", dir], { io: f.io }), EXIT.usage, argv.join(" "));
      assert.match(f.out.stderr, pattern, argv.join(" "));
    }
  });
});

Deno.test("usage errors found once the model is loaded exit 2 too: --layer past the last block, an empty corpus", async () => {
  await withTempDir(async (dir) => {
    const empty = join(dir, "texts");
    await Deno.mkdir(empty);
    const f = fakeIo();
    assert.equal(await runCli(["harvest", "--layer", "99", "--runs", dir], { io: f.io }), EXIT.usage);
    assert.match(f.out.stderr, /Invalid --layer: 99 is not a block of the model, which has \d+ layers/);
    const g = fakeIo();
    assert.equal(await runCli(["harvest", "--corpus", empty, "--runs", dir], { io: g.io }), EXIT.usage);
    assert.match(g.out.stderr, new RegExp(`Invalid --corpus: no \\.txt/\\.jsonl files in ${empty}`));
  });
});
