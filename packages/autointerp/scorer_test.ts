import assert from "node:assert/strict";
import {
  type Backend,
  scoreFeature,
  scoreFeatures,
  splitSample,
  tokenLookupBackend,
  type TokenLookupExplanation,
} from "@saelab/autointerp";
import { afterThe, noise, onCat, plantedSamples, randomText } from "./_synthetic.ts";

const text = randomText(300, 16, 5);
const [cat, after, rand] = plantedSamples(text, [onCat, afterThe, noise]);

Deno.test("the protocol's roles: 15 explained, top ranks 3, 7, 11, 15, 19 and 5 random held out, 10 negatives", () => {
  assert.equal(cat.top.length, 20);
  assert.equal(cat.random.length, 20);
  const s = splitSample(cat);
  assert.equal(s.explain.length, 15);
  assert.deepEqual(s.heldTop, [3, 7, 11, 15, 19].map((r) => cat.top[r]));
  assert.deepEqual(s.heldRandom, cat.random.slice(0, 5));
  assert.equal(s.negatives.length, 10);
  for (const f of s.negatives) assert.ok(f.acts.every((a) => a === 0));
  // top fragments are ordered by their maximum activation
  const maxes = cat.top.map((f) => Math.max(...f.acts));
  assert.deepEqual(maxes, [...maxes].sort((a, b) => b - a));
});

Deno.test("token-lookup backend: token and previous-token features score high, noise scores low", async () => {
  const backend = tokenLookupBackend();
  const [c, a, n] = await scoreFeatures([cat, after, rand], backend, { seed: 1 });
  assert.equal(c.backend, "token-lookup");
  assert.ok(c.score! > 0.9, `cat feature: ${c.score} (${c.explanation})`);
  assert.ok(c.topScore! > 0.8 && c.randomScore! > 0.8, `cat top ${c.topScore} random ${c.randomScore}`);
  assert.ok(c.detection!.auc > 0.9, `cat detection AUC ${c.detection!.auc}`);
  assert.match(c.explanation, /" cat"/);
  assert.ok(a.score! > 0.9, `after-the feature: ${a.score} (${a.explanation})`);
  assert.match(a.explanation, /after " the"/);
  assert.ok(Math.abs(n.score!) < 0.4, `noise feature: ${n.score} (${n.explanation})`);
  const e = await backend.explainer.explain(splitSample(after).explain, after);
  assert.equal((e.data as TokenLookupExplanation).mode, "previous");
});

Deno.test("scorer: correlation is taken over exactly the held-out tokens; failures are recorded, not thrown", async () => {
  const split = splitSample(cat);
  const truth = new Map([...split.heldTop, ...split.heldRandom].map((f) => [f.tokens.join("|"), f.acts]));
  const oracle: Backend = {
    name: "oracle",
    explainer: { name: "oracle", explain: () => Promise.resolve({ text: "knows" }) },
    simulator: {
      name: "oracle",
      simulate: (_e, frags) => Promise.resolve(frags.map((f) => truth.get(f.tokens.join("|"))!.map((a) => a * 3 + 1))),
    },
  };
  const s = await scoreFeature(cat, oracle);
  assert.ok(Math.abs(s.score! - 1) < 1e-12 && Math.abs(s.topScore! - 1) < 1e-12);
  assert.equal(s.detection, null);
  const broken: Backend = {
    ...oracle,
    simulator: { name: "oracle", simulate: (_e, frags) => Promise.resolve(frags.map(() => [1])) },
  };
  const b = await scoreFeature(cat, broken);
  assert.equal(b.score, null);
  assert.match(b.error!, /returned 1 values for a fragment of 16 tokens/);
  const rare = await scoreFeature({ ...cat, top: cat.top.slice(0, 1) }, oracle);
  assert.match(rare.error!, /too few active fragments/);
});
