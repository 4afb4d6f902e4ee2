import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readRun, type StageDeps } from "@saelab/runs";
import { STATE_FILE } from "./_train.ts";
import { train } from "./train.ts";

const gpu = await createGpu();
const config = {
  run: "t1",
  tokens: 1024,
  corpusTokens: 30_000,
  context: 32,
  heldOutFraction: 0.3,
  kinds: ["untied"],
  ratios: [1],
  l1: [1e-3],
  steps: 4,
  batchSize: 32,
  logEvery: 2,
  lossWindows: 0,
  skip: ["baselines", "score"],
};

function deps(runsDir: string): StageDeps {
  const log = { info: () => {}, warn: () => {}, debug: () => {} };
  return { runsDir, progress: () => {}, signal: new AbortController().signal, log, verbose: false };
}

Deno.test("a damaged train state fails the train stage naming the file, and run.json says failed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await train(config, deps(dir), { gpu });
    const path = `${dir}/t1/${STATE_FILE}`;
    const good = await Deno.readFile(path);
    for (
      const damaged of [good.subarray(0, good.length - 64), good.map((b, i) => (i === good.length - 2 ? b ^ 0x7f : b))]
    ) {
      await Deno.writeFile(path, damaged);
      await assert.rejects(() => train({ ...config, steps: 8 }, deps(dir), { gpu }), (e: Error) => {
        assert.equal(e.name, "CheckpointError");
        assert.ok(e.message.startsWith(`Cannot resume from ${path}: `), e.message);
        assert.match(e.message, /out of bounds|SHA-256 of its tensors differs/);
        return true;
      });
      const r = (await readRun(dir, "t1"))!.run!;
      assert.equal(r.status, "failed");
      assert.equal(r.stages.train.status, "failed");
      assert.match(r.error!, /^train: Cannot resume from /);
    }
    await Deno.writeFile(path, good);
    await train({ ...config, steps: 8 }, deps(dir), { gpu });
    assert.equal((await readRun(dir, "t1"))!.run!.status, "done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
