import { MMCS_CHANCE_BAND, verdict, verdictText, WEAK_MODEL_MARGIN } from "./verdict.ts";

function assert(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("a weak model, unconverged members, MMCS at chance and costly splices are not supported", () => {
  const v = verdict({
    model: { name: "tiny", loss: 4.483, bigram: 4.556 },
    members: [
      { name: "untied_r1", converged: false, mmcs: 0.26, mmcsChance: 0.25, deltaCe: 0.3 },
      { name: "untied_r2", converged: true, mmcs: 0.6, mmcsChance: 0.25, deltaCe: 0.01 },
    ],
  });
  const text = v.doesNotSupport.join("\n");
  assert(text.includes("0.073 nats below the bigram"), text);
  assert(text.includes("1 of 2 members did not converge") && text.includes("untied_r1"), text);
  assert(/MMCS of untied_r1 is within/.test(text) && !/MMCS of [^\n]*untied_r2/.test(text), text);
  assert(text.includes("Splicing in untied_r1 adds more next-token loss"), text);
  assert(v.supports.some((s) => s.includes("best: untied_r2")), v.supports.join("\n"));
});

Deno.test("a margin at the threshold, converged members and separated scores are supported", () => {
  const v = verdict({
    model: { name: "m", loss: 4, bigram: 4 + WEAK_MODEL_MARGIN },
    members: [{ name: "a", converged: true, mmcs: 0.26 + MMCS_CHANCE_BAND, mmcsChance: 0.25, deltaCe: 0.1 }],
    scores: {
      backend: "token-lookup",
      dicts: {
        a: { mean: 0.7, ci95: [0.65, 0.75] },
        random: { mean: 0.4, ci95: [0.35, 0.45] },
        neurons: { mean: 0.68, ci95: [0.6, 0.7] },
      },
    },
    references: { random: "random", neurons: "neurons" },
  });
  assert(v.doesNotSupport.length === 0, v.doesNotSupport.join("\n"));
  const text = v.supports.join("\n");
  assert(text.includes("models more than token pairs"), text);
  assert(text.includes("All 1 members converged"), text);
  assert(text.includes("above random directions (0.400), and 0 of them above neurons"), text);
});

Deno.test("scores whose intervals overlap the random baseline's are no better than random", () => {
  const v = verdict({
    model: { name: "m" },
    members: [{ name: "a" }, { name: "b" }],
    scores: {
      backend: "token-lookup",
      dicts: {
        a: { mean: 0.5, ci95: [0.4, 0.6] },
        b: { mean: 0.9, ci95: [0.85, 0.95] },
        r: { mean: 0.47, ci95: [0.4, 0.55] },
      },
    },
    references: { random: "r" },
  });
  const text = v.doesNotSupport.join("\n");
  assert(text.includes("no bigram baseline recorded"), text);
  assert(text.includes("a is no better than random directions (0.470)"), text);
  assert(v.supports.some((s) => s.includes("b scores above random")), v.supports.join("\n"));
  const missing = verdict({
    model: { name: "m" },
    members: [{ name: "a" }],
    scores: { backend: "x", dicts: { a: { mean: 1, ci95: [1, 1] } } },
  });
  assert(missing.doesNotSupport.some((s) => s.includes("no random-direction baseline")), "no random reference");
  assert(verdictText(v).startsWith("What this run supports"), verdictText(v));
});
