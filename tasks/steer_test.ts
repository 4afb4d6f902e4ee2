import assert from "node:assert/strict";
import { join } from "node:path";
import { steer } from "@saelab/causal";
import { createGpu } from "@saelab/gpu";
import { LinearDictionary, saveDictionary } from "@saelab/dictionary";
import { loadModel } from "@saelab/neox";
import { createRun } from "@saelab/runs";
import { withTempDir } from "@saelab/runs/testing";
import { seededRandom } from "@saelab/core";
import { Tokenizer } from "@saelab/tokenizer";
import { type CliIo, runCli } from "../apps/cli/cli.ts";
import { writeTinyInputs } from "../tests/_tiny_inputs.ts";

const HOOK = "blocks.1.hook_resid_post";
const PROMPT = "the nation and the people of";

/** A run with the tiny model and one SAE (d 16 → 32) at HOOK, written without training. */
async function makeRun(root: string) {
  const { model } = await writeTinyInputs(join(root, "inputs"), { maxPositions: 64 });
  const runsDir = join(root, "runs");
  await createRun(runsDir, {
    id: "s1",
    config: {},
    hook: HOOK,
    model: { name: "tiny", path: model, isDefaultModel: false },
  });
  const rand = seededRandom(4);
  const decoder = new Float32Array(32 * 16).map(() => 2 * rand() - 1);
  const dict = new LinearDictionary({
    name: "untied_r2_test",
    kind: "sae",
    dIn: 16,
    dDict: 32,
    encoder: decoder.map((x) => 0.5 * x + 0.1 * (2 * rand() - 1)),
    encoderBias: new Float32Array(32),
    decoder,
    decoderBias: new Float32Array(16),
  });
  await saveDictionary(join(runsDir, "s1", "saes", dict.name), dict, { hookName: HOOK });
  return { runsDir, model, dict };
}

async function cli(args: string[]) {
  const out: string[] = [], err: string[] = [];
  const io: CliIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    isTTY: false,
    onSignal: () => () => {},
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    cwd: Deno.cwd(),
    env: () => undefined,
  };
  const code = await runCli(["steer", ...args], { io });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

Deno.test("steer --json prints both continuations and the feature's mean activations, as the library computes them", async () => {
  await withTempDir(async (root) => {
    const { runsDir, model: dir, dict } = await makeRun(root);
    const base = ["--runs", runsDir, "--run", "s1", "--dict", "untied_r2_test", "--feature", "5", "--prompt", PROMPT];
    const r = await cli([...base, "--strength", "6", "--tokens", "10", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(answer), ["unsteered", "steered", "featureActivation"]);
    assert.deepEqual(Object.keys(answer.featureActivation), ["unsteered", "steered"]);
    assert.match(
      r.stderr,
      /feature 5 of untied_r2_test at blocks\.1\.hook_resid_post, x ← x \+ 6·d_j, 10 tokens greedy/,
    );

    const gpu = await createGpu();
    try {
      using model = await loadModel(gpu, dir);
      using bound = dict.bind(gpu);
      const tokenizer = await Tokenizer.fromFile(join(dir, "tokenizer.json"));
      const want = await steer(model, bound, {
        prompt: tokenizer.encode(PROMPT),
        hook: HOOK,
        feature: 5,
        strength: 6,
        maxNewTokens: 10,
      });
      assert.equal(answer.unsteered, tokenizer.decode(want.unsteered.tokens));
      assert.equal(answer.steered, tokenizer.decode(want.steered.tokens));
      assert.ok(Math.abs(answer.featureActivation.steered - want.steered.meanActivation) < 1e-5);
      assert.ok(Math.abs(answer.featureActivation.unsteered - want.unsteered.meanActivation) < 1e-5);
      assert.ok(answer.featureActivation.steered > answer.featureActivation.unsteered, "steering raises the feature");
    } finally {
      gpu.destroy();
    }

    const zero = JSON.parse((await cli([...base, "--strength", "0", "--tokens", "10", "--json"])).stdout);
    assert.equal(zero.steered, zero.unsteered, "strength 0 changes nothing");
    assert.equal(zero.unsteered, answer.unsteered);

    const human = await cli([...base, "--clamp", "3", "--tokens", "6"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^prompt: {4}"the nation and the people of"\nunsteered: ".*"\nsteered: {3}".*"\n/);
    assert.match(
      human.stdout,
      /feature 5's mean activation on the generated tokens .* steered vs .* unsteered \(the reference\)/,
    );
    assert.match(human.stderr, /clamped: x ← x \+ \(3 − f_j\(x\)\)·d_j/);
    // the run is only read: no stage record, no lock left
    const runJson = JSON.parse(await Deno.readTextFile(join(runsDir, "s1", "run.json")));
    assert.equal(runJson.stages?.steer, undefined);
  });
});

Deno.test("steer's usage errors name the flag and exit 2; --help teaches the edit", async () => {
  await withTempDir(async (root) => {
    const { runsDir } = await makeRun(root);
    const base = ["--runs", runsDir, "--prompt", PROMPT, "--strength", "1"];
    const cases: [string[], RegExp][] = [
      [["--run", "nope", "--dict", "untied_r2_test", "--feature", "1"], /Invalid --run "nope": no run/],
      [
        ["--run", "s1", "--dict", "pca", "--feature", "1"],
        /Invalid --dict "pca": run s1 has no such dictionary \(it has untied_r2_test\)/,
      ],
      [
        ["--run", "s1", "--dict", "untied_r2_test", "--feature", "32"],
        /Invalid --feature 32: untied_r2_test has 32 features \(0 … 31\)/,
      ],
      [["--run", "s1", "--dict", "untied_r2_test", "--feature", "1", "--clamp", "2"], /not both/],
      [["--run", "s1", "--feature", "1"], /Missing --dict/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...base, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const none = await cli(["--runs", runsDir, "--dict", "untied_r2_test", "--feature", "1", "--prompt", PROMPT]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Missing --strength or --clamp/);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    for (const s of ["--strength", "x ← x + s·d_j", "--clamp", "--json", "--tokens"]) {
      assert.ok(help.stdout.includes(s), s);
    }
  });
});
