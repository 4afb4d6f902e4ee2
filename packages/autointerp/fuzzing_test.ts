import assert from "node:assert/strict";
import { seededRandom } from "@saelab/core";
import { fuzzItems, scoreFeature, splitSample, tokenLookupBackend } from "@saelab/autointerp";
import { noise, onCat, plantedSamples, randomText } from "./_synthetic.ts";

const [cat, rand] = plantedSamples(randomText(300, 16, 5), [onCat, noise]);

Deno.test("fuzzItems: each fragment highlighted at its activating tokens and at as many random others", () => {
  const held = [...splitSample(cat).heldTop, ...splitSample(cat).heldRandom];
  const items = fuzzItems(held, seededRandom(7));
  assert.equal(items.filter((i) => i.correct).length, held.length);
  assert.equal(items.filter((i) => !i.correct).length, held.length);
  for (const f of held) {
    const key = f.tokens.join("|");
    const mine = items.filter((i) => i.fragment.tokens.join("|") === key);
    const right = mine.find((i) => i.correct)!, wrong = mine.find((i) => !i.correct)!;
    assert.deepEqual(right.fragment.marked, f.acts.map((a) => a > 0));
    const k = f.acts.filter((a) => a > 0).length;
    assert.equal(wrong.fragment.marked.filter(Boolean).length, Math.min(k, f.acts.length - k));
    wrong.fragment.marked.forEach((m, i) => assert.ok(!m || f.acts[i] === 0, "random highlights avoid active tokens"));
  }
  // the order is shuffled, and reproducible from the seed
  assert.ok(items.slice(0, held.length).some((i) => !i.correct));
  assert.deepEqual(fuzzItems(held, seededRandom(7)), items);
  // a fragment active everywhere has no fuzzed copy; one never active has none at all
  const all = fuzzItems([{ tokens: ["a", "b"], acts: [1, 2] }, { tokens: ["c"], acts: [0] }], seededRandom(1));
  assert.deepEqual(all.map((i) => i.correct), [true]);
});

Deno.test("token-lookup fuzzing: a token feature is told from random highlighting, noise is not", async () => {
  const c = await scoreFeature(cat, tokenLookupBackend(), { seed: 1, scorers: ["detection", "fuzzing"] });
  assert.ok(c.detection && c.fuzzing, JSON.stringify(c));
  assert.ok(c.fuzzing.balancedAccuracy > 0.9, `cat feature: ${JSON.stringify(c.fuzzing)}`);
  const n = await scoreFeature(rand, tokenLookupBackend(), { seed: 1, scorers: ["fuzzing"] });
  assert.equal(n.detection, null);
  assert.ok(n.fuzzing!.balancedAccuracy < 0.8, `noise feature: ${JSON.stringify(n.fuzzing)}`);
  // detection alone by default; an unknown scorer is refused
  assert.equal((await scoreFeature(cat, tokenLookupBackend(), { seed: 1 })).fuzzing, undefined);
  await assert.rejects(
    () => scoreFeature(cat, tokenLookupBackend(), { scorers: ["intruder" as "fuzzing"] }),
    /unknown scorer "intruder"/,
  );
});
