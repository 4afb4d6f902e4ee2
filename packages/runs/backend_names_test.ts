import assert from "node:assert/strict";
import { join } from "node:path";
import { readJson, type ScoresJson, validate } from "@saelab/runs";
import type { FeatureDetail } from "@saelab/runs";

const entry = (backend: string, extra: Record<string, unknown> = {}) => ({
  kind: "sae",
  method: "sae",
  mean: 0.5,
  ci95: [0.45, 0.55],
  n: 40,
  backend,
  ...extra,
});

Deno.test("scores.json written under the old backend name reads back as token-lookup", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "r1"));
    const file = {
      dicts: { a: entry("offline"), b: entry("openai:m") },
      backends: { offline: { a: entry("offline") }, "openai:m": { b: entry("openai:m") } },
    };
    await Deno.writeTextFile(join(dir, "r1", "scores.json"), JSON.stringify(file));
    const r = await readJson<ScoresJson>(dir, ["r1", "scores.json"], { kind: "scores" });
    assert.equal(r.status, "ok");
    if (r.status !== "ok") return;
    assert.equal(r.value.dicts.a.backend, "token-lookup");
    assert.equal(r.value.dicts.b.backend, "openai:m");
    assert.deepEqual(Object.keys(r.value.backends!).sort(), ["openai:m", "token-lookup"]);
    assert.equal(r.value.backends!["token-lookup"].a.backend, "token-lookup");

    // a feature detail: the shown backend and the per-backend results, the current name winning
    const detail = {
      index: 3,
      density: 0.1,
      maxActivation: 2,
      dict: "a",
      backend: "offline",
      top: [],
      random: [],
      histogram: { edges: [0, 1], counts: [1] },
      results: {
        offline: { explanation: "old", score: 0.1 },
        "token-lookup": { explanation: "new", score: 0.2, fuzzing: null, simulated: [] },
      },
    };
    await Deno.mkdir(join(dir, "r1", "features", "a"), { recursive: true });
    await Deno.writeTextFile(join(dir, "r1", "features", "a", "3.json"), JSON.stringify(detail));
    const f = await readJson<FeatureDetail>(dir, ["r1", "features", "a", "3.json"], { kind: "featureDetail" });
    assert.ok(f.status === "ok");
    assert.equal(f.value.backend, "token-lookup");
    assert.deepEqual(Object.keys(f.value.results!), ["token-lookup"]);
    assert.equal(f.value.results!["token-lookup"].explanation, "new");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scores.json: references, verdict, measures and fuzzing are checked when present", () => {
  const ref = { dict: "random", mean: 0.4, ci95: [0.38, 0.42], n: 40 };
  const good = entry("token-lookup", {
    measures: "how well the current token predicts the feature",
    references: { random: ref, neurons: null },
    verdict: "no better than random directions",
    fuzzing: { balancedAccuracy: { mean: 0.6, ci95: [0.55, 0.65], n: 40 } },
  });
  assert.deepEqual(validate("scores", { dicts: { a: good } }), []);
  const bad = (extra: Record<string, unknown>) => validate("scores", { dicts: { a: { ...good, ...extra } } });
  assert.match(bad({ verdict: 3 }).join(), /\.dicts\.a\.verdict: expected a string/);
  assert.match(bad({ references: { random: { ...ref, ci95: [0.5, 0.4] } } }).join(), /interval low is above high/);
  assert.match(bad({ references: { random: ref } }).join(), /references\.neurons/);
  assert.match(bad({ fuzzing: { balancedAccuracy: { mean: 0.5 } } }).join(), /fuzzing\.balancedAccuracy\.ci95/);
});

Deno.test("feature details: stored results' fuzzing and simulation methods are checked when present", () => {
  const detail = (result: Record<string, unknown>) => ({
    index: 0,
    density: 0.1,
    maxActivation: 1,
    dict: "a",
    top: [],
    random: [],
    histogram: { edges: [0, 1], counts: [1] },
    results: { "token-lookup": { explanation: "x", score: 0.3, ...result } },
  });
  const fuzzing = { balancedAccuracy: 0.7, correctAccuracy: 0.8, fuzzedAccuracy: 0.6, nCorrect: 5, nFuzzed: 5 };
  const simulated = [{ role: "top", method: "expected-value" }, { role: "random", method: "sampled" }];
  assert.deepEqual(validate("featureDetail", detail({ fuzzing, simulated })), []);
  assert.match(validate("featureDetail", detail({ fuzzing: { ...fuzzing, balancedAccuracy: 2 } })).join(), /above 1/);
  assert.match(
    validate("featureDetail", detail({ simulated: [{ role: "top", method: "guessed" }] })).join(),
    /expected one of expected-value, sampled/,
  );
});
