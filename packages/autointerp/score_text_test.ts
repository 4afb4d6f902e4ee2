import assert from "node:assert/strict";
import { attachReferences, type DictScoreDetail, scoreSummaryLines } from "@saelab/autointerp";

const entry = (method: string, ci95: [number, number], backend = "token-lookup") =>
  ({
    kind: method === "sae" ? "sae" : "baseline",
    method,
    backend,
    mean: (ci95[0] + ci95[1]) / 2,
    ci95,
    n: 50,
  }) as DictScoreDetail;

Deno.test("scoreSummaryLines: what the score measures, its references, and who is no better than random", () => {
  const dicts = attachReferences({
    random: entry("random", [0.44, 0.5]),
    neurons: entry("neurons", [0.45, 0.51]),
    a: entry("sae", [0.48, 0.55]),
    b: entry("sae", [0.6, 0.7]),
  });
  const [head, verdict, ...rest] = scoreSummaryLines({ dicts });
  assert.equal(
    head,
    "Scores (token-lookup: measures how well the current or previous token predicts the feature, not " +
      "interpretability): mean per dictionary with 95% intervals; references: random directions 0.470 [0.440, " +
      "0.500], neurons 0.480 [0.450, 0.510].",
  );
  assert.equal(verdict, "Scores: a no better than random directions.");
  assert.deepEqual(rest, []);
  const above = scoreSummaryLines({ dicts: attachReferences({ random: dicts.random, b: dicts.b }) });
  assert.equal(above[1], "Scores: every dictionary scores above random directions.");
});

Deno.test("scoreSummaryLines: old backend names, missing references, nothing scored", () => {
  const lines = scoreSummaryLines({ dicts: { a: entry("sae", [0.4, 0.5], "offline") } });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^Scores \(token-lookup: .*no random directions reference, no neurons reference\.$/);
  assert.deepEqual(scoreSummaryLines(null), []);
  assert.deepEqual(scoreSummaryLines({ dicts: {} }), []);
});
