import assert from "node:assert/strict";
import { validate } from "./mod.ts";

const feature = {
  dict: "d",
  index: 0,
  density: 0.1,
  maxActivation: 2,
  top: [{ tokens: [" a", " b"], acts: [0, 2] }],
  random: [],
  histogram: { edges: [0, 1, 2], counts: [3, 1] },
};

Deno.test("validate accepts conforming records and allows extra fields", () => {
  assert.deepEqual(validate("featureDetail", { ...feature, extra: true }), []);
  assert.deepEqual(validate("metricRow", { member: "m", step: 3, loss: 1, mse: 1, l0: 2, custom: 7 }), []);
  assert.deepEqual(validate("saeCfg", { d_in: 4, d_sae: 16, metadata: { hook_name: "h" } }), []);
});

Deno.test("validate names each problem with its path", () => {
  const cases: [Parameters<typeof validate>[0], unknown, RegExp][] = [
    ["metricRow", { member: "m", step: -1, loss: 1, mse: 1, l0: 2 }, /\$\.step: -1 is below 0/],
    ["metricRow", { member: "../m", step: 0, loss: 1, mse: 1, l0: 2 }, /\$\.member: .* not a valid id/],
    ["metricRow", { member: "m", step: 0, loss: "1", mse: 1, l0: 2 }, /\$\.loss: expected a finite number, got string/],
    [
      "featureDetail",
      { ...feature, top: [{ tokens: [" a"], acts: [1, 2] }] },
      /\$\.top\[0\]: 1 tokens but 2 activations/,
    ],
    ["featureDetail", { ...feature, histogram: { edges: [0, 1], counts: [1, 2] } }, /2 edges for 2 bins/],
    ["featureDetail", { ...feature, density: 1.5 }, /\$\.density: 1.5 is above 1/],
    [
      "scores",
      { dicts: { a: { kind: "sae", method: "sae", mean: 0.3, ci95: [0.4, 0.2], n: 3, backend: "x" } } },
      /interval low is above high/,
    ],
    [
      "scores",
      { dicts: { a: { kind: "x", method: "sae", mean: 0.3, ci95: [0.1, 0.4], n: 3, backend: "x" } } },
      /\$\.dicts\.a\.kind: expected one of sae, baseline/,
    ],
    ["run", { format: 1, id: "r", created: "yesterday" }, /\$\.created: "yesterday" is not a date/],
    ["run", [], /\$: expected an object, got array/],
    [
      "dictEval",
      { kind: "sae", method: "sae", dIn: 4, dSae: 8, fvu: 0.1, l0: 2, deadFraction: 2 },
      /deadFraction: 2 is above 1/,
    ],
    ["circuits", { nodes: [{ id: "a", layer: 0.5, dict: "d", feature: 1 }], edges: [] }, /layer: expected an integer/],
    [
      "patch",
      { task: "t", metric: "m", curves: [{ dict: "d", method: "sae", points: [{ k: 1 }] }] },
      /value: expected a finite number/,
    ],
  ];
  for (const [kind, value, pattern] of cases) {
    const problems = validate(kind, value);
    assert.ok(problems.some((p) => pattern.test(p)), `${kind}: ${JSON.stringify(problems)} should match ${pattern}`);
  }
  assert.throws(() => validate("nope" as never, {}), TypeError);
});

Deno.test("validate checks toy.json: member fields, cosine ranges, and a chosen member that exists", () => {
  const m = { kind: "untied", ratio: 2, l1: 3e-3, l0: 5, deadFraction: 0.1, mmcsTruth: 0.97, mmcsBetween: null };
  const toy = { members: [{ ...m, name: "a" }, { ...m, name: "b", ratio: 1, mmcsBetween: 0.8 }], chosen: "b" };
  assert.deepEqual(validate("toy", { ...toy, truthChance: [{ ratio: 2, value: 0.4 }], extra: 1 }), []);
  assert.deepEqual(validate("toy", { ...toy, chosen: "c" }), [`$: chosen "c" names no member`]);
  const bad = validate("toy", { members: [{ ...m, name: "a", mmcsTruth: 1.5, deadFraction: -1 }], chosen: "a" });
  assert.equal(bad.length, 2, bad.join("; "));
  assert.ok(bad.some((p) => p.includes("members[0].mmcsTruth")), bad.join("; "));
  assert.ok(validate("toy", { members: [], chosen: "a" }).length > 0);
  assert.ok(validate("toy", { chosen: "a" }).length > 0);
  const { mmcsBetween: _, ...partner } = { ...m, name: "a_partner", ratio: 4 };
  const training = (p: unknown) => validate("toy", { ...toy, training: { steps: 10, partner: p } });
  assert.deepEqual(training({ ratio: 4, members: [partner] }), []);
  assert.deepEqual(training(null), [], "null: no partner trained");
  assert.deepEqual(training({ ratio: 4, truthChance: 0.45, members: [partner] }), [], "with its chance level");
  const badChance = training({ ratio: 4, truthChance: 3, members: [partner] });
  assert.ok(badChance.some((p) => p.includes("training.partner.truthChance")), badChance.join("; "));
  assert.deepEqual(validate("toy", { ...toy, training: { steps: 10 } }), [], "older files: no partner field");
  const badPartner = training({ ratio: 4, members: [{ ...partner, mmcsTruth: 2 }] });
  assert.ok(badPartner.some((p) => p.includes("training.partner.members[0].mmcsTruth")), badPartner.join("; "));
  assert.ok(training({ members: [partner] }).length > 0, "a partner without its ratio");
});
