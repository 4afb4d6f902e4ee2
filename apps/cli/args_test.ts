import assert from "node:assert/strict";
import { join } from "node:path";
import * as v from "valibot";
import { camel, parseCommand, UsageError } from "./mod.ts";
import { flag, int, names, nums, text } from "../../tasks/_schema.ts";

const options = v.strictObject({
  steps: int("steps", { default: 100 }),
  batchSize: int("batch"),
  ratios: nums("ratios", { default: [1, 2] }),
  methods: names("methods"),
  hook: text("hook"),
  fast: flag("fast"),
  extra: v.optional(v.object({ a: v.number() })),
});

Deno.test("camel turns flags into config keys", () => {
  assert.equal(camel("batch-size"), "batchSize");
  assert.equal(camel("l1"), "l1");
  assert.equal(camel("fetch-model-2x"), "fetchModel2x");
});

Deno.test("defaults, then the config file, then flags", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "c.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        steps: 500,
        "batch-size": 64,
        hook: "blocks.0.hook_mlp_out",
        extra: { a: 1 },
        runs: "from-file",
      }),
    );
    const p = await parseCommand([
      "--config",
      file,
      "--steps",
      "7",
      "--ratios",
      "1, 4,8",
      "--methods",
      "pca,ica",
      "--fast",
    ], options);
    assert.deepEqual(p.config, {
      steps: 7,
      batchSize: 64,
      ratios: [1, 4, 8],
      methods: ["pca", "ica"],
      hook: "blocks.0.hook_mlp_out",
      extra: { a: 1 },
      fast: true,
    });
    assert.equal(p.runs, "from-file");
    assert.equal((await parseCommand(["--config", file, "--runs", "flag"], options)).runs, "flag");
    const d = await parseCommand([], options);
    assert.deepEqual(d, {
      config: { steps: 100, ratios: [1, 2], fast: false },
      runs: "runs",
      verbose: false,
      help: false,
    });
    assert.equal((await parseCommand(["-v", "--steps=3"], options)).verbose, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage mistakes are UsageErrors naming the flag or file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = join(dir, "bad.json"), arr = join(dir, "arr.json");
    await Deno.writeTextFile(bad, "{steps: 1}");
    await Deno.writeTextFile(arr, "[1]");
    const cases: [string[], RegExp][] = [
      [["--nope"], /Unknown option --nope/],
      [["--steps", "ten"], /Invalid --steps: expected a number, got "ten"/],
      [["--ratios", "1,,2"], /Invalid --ratios/],
      [["--steps"], /argument missing|requires an argument|--steps/],
      [["extra"], /Unexpected argument "extra"/],
      [["--config", join(dir, "missing.json")], /Cannot read config file .*missing\.json: no such file/],
      [["--config", bad], /not JSON/],
      [["--config", arr], /expected a JSON object/],
      [["--steps", "0.5"], /Invalid --steps: 0\.5 is not a whole number/],
      [["--fast=maybe"], /Invalid --fast/],
    ];
    for (const [argv, pattern] of cases) {
      await assert.rejects(() => parseCommand(argv, options), (e: Error) => {
        assert.ok(e instanceof UsageError, `${argv}: ${e}`);
        assert.match(e.message, pattern);
        return true;
      });
    }
    // --help does not read the config file.
    assert.equal((await parseCommand(["--help", "--config", bad], options)).help, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
