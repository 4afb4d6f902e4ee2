import assert from "node:assert/strict";
import { join } from "node:path";
import { summarizeScores } from "@saelab/autointerp";
import { validate } from "@saelab/runs";
import { mergeScores } from "./_scores_io.ts";
import { featureScore } from "@saelab/autointerp/testing";
import { withTempDir } from "@saelab/runs/testing";

Deno.test("mergeScores keeps every backend and shows the newest per dictionary; the file validates", async () => {
  await withTempDir(async (dir) => {
    const off = summarizeScores([featureScore(0, 0.2), featureScore(1, 0.4)], {
      kind: "baseline",
      method: "pca",
      backend: "token-lookup",
    });
    const sae = summarizeScores([featureScore(0, 0.6)], { kind: "sae", method: "sae", backend: "token-lookup" });
    await mergeScores(dir, { pca: off, r1: sae });
    const llm = { ...off, mean: 0.35, backend: "openai:m" };
    const file = await mergeScores(dir, { pca: llm });
    assert.equal(file.dicts.pca.backend, "openai:m");
    assert.equal(file.dicts.r1.backend, "token-lookup");
    assert.deepEqual(Object.keys(file.backends!).sort(), ["openai:m", "token-lookup"]);
    assert.equal(file.backends!["token-lookup"].pca.mean, off.mean);
    const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "scores.json")));
    assert.deepEqual(validate("scores", onDisk), []);
  });
});

Deno.test("old scores.json under the old backend name is read as token-lookup; a later random baseline is every entry's reference", async () => {
  const s = summarizeScores([featureScore(0, 0.5)], { kind: "sae", method: "sae", backend: "token-lookup" });
  await withTempDir(async (dir) => {
    const old = { ...s, backend: "offline" };
    await Deno.writeTextFile(
      join(dir, "scores.json"),
      JSON.stringify({ dicts: { r1: old, pca: old }, backends: { offline: { r1: old, pca: old } } }),
    );
    const file = await mergeScores(dir, { pca: { ...s, mean: 0.7 } });
    assert.deepEqual(Object.keys(file.backends!), ["token-lookup"]);
    assert.equal(file.dicts.r1.backend, "token-lookup");
    assert.equal(file.backends!["token-lookup"].r1.mean, 0.5);
    assert.equal(file.backends!["token-lookup"].pca.mean, 0.7);
    // a random baseline scored later becomes every entry's reference, new and old
    const random = summarizeScores([featureScore(0, 0.5), featureScore(1, 0.55)], {
      kind: "baseline",
      method: "random",
      backend: "token-lookup",
    });
    const after = await mergeScores(dir, { random });
    assert.deepEqual(after.dicts.r1.references!.random, {
      dict: "random",
      mean: random.mean,
      ci95: random.ci95,
      n: 2,
    });
    assert.equal(after.dicts.r1.references!.neurons, null);
    assert.equal(after.dicts.r1.verdict, "no better than random directions");
    assert.equal(after.backends!["token-lookup"].pca.verdict, after.dicts.pca.verdict);
    const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "scores.json")));
    assert.equal(onDisk.dicts.random.verdict, "the random-direction reference");
    assert.deepEqual(validate("scores", onDisk), []);
  });
});
