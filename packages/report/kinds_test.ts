import assert from "node:assert/strict";
import type { DictEval, ScoresJson } from "@saelab/runs";
import { atL0, kindFrontiers, kindFrontierSpec, kindMembers, matchedL0, matchedL0TableHtml } from "./mod.ts";
import { saeEval } from "./_eval_for_tests.ts";
import { render } from "./_render_for_tests.ts";

/** Three kinds, each with a frontier FVU = c / L0 and one dominated member; a kind name no list holds. */
const KINDS = { untied: 2, tied: 3, "future-kind": 1.5 } as Record<string, number>;
const evals = Object.entries(KINDS).flatMap(([kind, c]) => [
  ...[2, 4, 8, 16].map((l0) => ({
    name: `${kind}_l${l0}`,
    eval: saeEval(
      { l0, fvu: c / l0, deltaCe: c / (10 * l0), klDiv: c / (20 * l0), variant: kind } as Partial<DictEval>,
    ),
  })),
  { name: `${kind}_bad`, eval: saeEval({ l0: 8, fvu: 0.99, variant: kind } as Partial<DictEval>) },
]);
const spliced = { tokens: 100, clean: 3, meanAblation: 4.5, zeroAblation: 6, spliced: 3.1 };
evals[0].eval.spliced = spliced;
evals.push({
  name: "pca_topk",
  eval: { kind: "baseline", method: "pca", dIn: 4, dSae: 8, fvu: 0.4, l0: 4, deadFraction: 0, deltaCe: 0.3 },
});
const score = (kind: "sae" | "baseline", method: string, mean: number) => ({
  kind,
  method,
  mean,
  ci95: [mean - 0.1, mean + 0.1] as [number, number],
  n: 20,
  backend: "token-lookup",
});
const scores: ScoresJson = {
  dicts: {
    untied_l2: score("sae", "sae", 0.5),
    untied_l16: score("sae", "sae", 0.3),
    random: score("baseline", "random", 0.1),
  },
};

Deno.test("kinds come from the members' records: every kind, and a frontier without dominated members", () => {
  const { members, references } = kindMembers(evals, { scores });
  assert.deepEqual([...new Set(members.map((m) => m.kind))].sort(), ["future-kind", "tied", "untied"]);
  const fronts = kindFrontiers(members, "fvu");
  for (const [kind, front] of fronts) {
    assert.deepEqual(front.map((p) => p.l0), [2, 4, 8, 16], kind);
    assert.ok(!front.some((p) => p.name.endsWith("_bad")), `${kind}: the dominated member is off the frontier`);
  }
  assert.equal(references.meanAblation, 1.5);
  assert.equal(references.zeroAblation, 3);
  assert.deepEqual(references.baselines.map((b) => b.name), ["pca_topk"]);
  assert.deepEqual(references.scores.map((s) => s.mean), [0.1]);
});

Deno.test("matched L0: values interpolated in log L0 agree with the frontier's own law", () => {
  const { members } = kindMembers(evals, { scores });
  const { rows, range } = matchedL0(members, { count: 4 });
  assert.deepEqual(range, [2, 16]);
  assert.equal(rows.length, 4 * 3);
  for (const r of rows) {
    const c = KINDS[r.kind];
    // between frontier points FVU = c/L0 is convex in log L0, so the chord lies above the curve, below the ends
    const exact = c / r.l0;
    const lower = c / 16, upper = c / 2;
    assert.ok(r.values.fvu! >= exact - 1e-12 && r.values.fvu! <= upper && r.values.fvu! >= lower, `${r.kind} ${r.l0}`);
    if ([2, 4, 8, 16].some((p) => Math.abs(p - r.l0) < 1e-9)) assert.ok(Math.abs(r.values.fvu! - exact) < 1e-12);
    assert.ok(Math.abs(r.values.deltaCe! - r.values.fvu! / 10) < 1e-12, "ΔCE on its own frontier");
  }
  const untied = rows.filter((r) => r.kind === "untied").map((r) => r.values.score);
  assert.equal(untied[0], 0.5, "the score at L0 2 is the scored member's");
  assert.equal(rows.find((r) => r.kind === "tied")!.values.score, null, "tied was not scored");
  // log-space interpolation: halfway between L0 2 and 16 in log space is √32
  assert.ok(Math.abs(atL0([{ l0: 2, value: 1 }, { l0: 16, value: 0 }], Math.sqrt(32))! - 0.5) < 1e-12);
  assert.equal(atL0([{ l0: 2, value: 1 }, { l0: 16, value: 0 }], 17), null, "never extrapolated");
});

Deno.test("matched L0: no rows with one kind or disjoint ranges, and the table says why", () => {
  const { members, references } = kindMembers(evals);
  const one = members.filter((m) => m.kind === "untied");
  assert.equal(matchedL0(one).rows.length, 0);
  assert.match(String(matchedL0TableHtml(one, references)), /Only one SAE kind \(untied\)/);
  const apart = [
    ...one,
    ...members.filter((m) => m.kind === "tied").map((m) => ({ ...m, l0: m.l0 * 100 })),
  ];
  assert.equal(matchedL0(apart).range, null);
  const html = String(matchedL0TableHtml(members, references));
  assert.match(html, /interpolated linearly in log L0/);
  assert.match(html, /mean ablation/);
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 3 * 3, "a header and a row per kind and L0");
});

Deno.test("kind frontier chart: a line per kind, every member, baselines and reference rules", async () => {
  const { members, references } = kindMembers(evals, { scores });
  const r = await render(kindFrontierSpec(members, references)!);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 2 * 3, "one line per kind in each of the two panels");
  // 15 members in the FVU panel, 12 with ΔCE, one baseline diamond in each
  assert.equal(r.marks.symbol, 15 + 12 + 2);
  assert.equal(r.marks.rule, 1 + 2, "FVU 1; mean and zero ablation");
  const noCe = kindMembers(evals.map((e) => ({ ...e, eval: { ...e.eval, deltaCe: undefined } })));
  const single = await render(kindFrontierSpec(noCe.members, { ...noCe.references, meanAblation: null })!);
  assert.equal(single.marks.line, 3, "FVU panel only without ΔCE");
});
