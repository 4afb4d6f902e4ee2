/**
 * The verdict of a run: what its evidence does and does not support, in plain words, each
 * sentence built from a measured number and its reference level — the model's margin over the
 * bigram baseline, members that did not converge, MMCS against the chance level of random unit
 * vectors, the next-token loss a reconstruction costs against that margin, and each
 * dictionary's score against the random-direction and neuron baselines' scores.
 *
 * @module
 */
import type { ScoresJson } from "@saelab/runs";
import type { NamedEval } from "./summary.ts";

/** The next-token losses of the model and its n-gram references, in nats per token. */
export interface ModelEvidence {
  /** Model name. */
  name: string;
  /** The model's held-out next-token loss. */
  loss?: number;
  /** The interpolated bigram baseline's loss on the same predictions. */
  bigram?: number;
}

/** One SAE member's evidence. */
export interface MemberEvidence {
  /** Member name. */
  name: string;
  /** Whether held-out FVU reached a plateau by the run's rule; null when not judged. */
  converged?: boolean | null;
  /** MMCS to the member it is compared with (seed-code direction). */
  mmcs?: number | null;
  /** The same statistic for seeded random unit vectors of the same sizes. */
  mmcsChance?: number | null;
  /** Spliced minus clean next-token loss, nats. */
  deltaCe?: number | null;
}

/** A score with its 95% interval. */
export interface ScoreEvidence {
  /** Mean score. */
  mean: number;
  /** 95% confidence interval `[low, high]`. */
  ci95: [number, number];
}

/** Everything the verdict weighs. */
export interface VerdictInput {
  /** The model and its bigram baseline. */
  model: ModelEvidence;
  /** The SAE members. */
  members: readonly MemberEvidence[];
  /** Scores per dictionary name, and the backend that produced them. */
  scores?: { backend: string; dicts: Record<string, ScoreEvidence> } | null;
  /** Names of the reference dictionaries among `scores.dicts`. */
  references?: { random?: string; neurons?: string };
}

/** What the run does and does not support. */
export interface Verdict {
  /** Claims the evidence supports. */
  supports: string[];
  /** Claims it does not support, and why. */
  doesNotSupport: string[];
}

/** A margin over the bigram below this many nats marks a model that has learned little beyond token pairs. */
export const WEAK_MODEL_MARGIN = 0.25;
/** MMCS within this distance of its chance level counts as at chance. */
export const MMCS_CHANCE_BAND = 0.05;

const f = (x: number, digits = 3) => x.toFixed(digits);

function list(names: readonly string[], most = 6): string {
  return names.length <= most ? names.join(", ") : `${names.slice(0, most).join(", ")} and ${names.length - most} more`;
}

function modelLines(m: ModelEvidence, members: readonly MemberEvidence[], v: Verdict): void {
  if (m.loss === undefined || m.bigram === undefined) {
    v.doesNotSupport.push(
      `The model ${m.name} has no bigram baseline recorded, so how much it learned beyond token pairs is unknown.`,
    );
    return;
  }
  const margin = m.bigram - m.loss;
  const text = `${m.name}'s held-out loss ${f(m.loss)} nats is ${f(margin)} nats ${
    margin >= 0 ? "below" : "above"
  } the bigram baseline's ${f(m.bigram)}`;
  if (margin < WEAK_MODEL_MARGIN) {
    v.doesNotSupport.push(
      `${text}: it has learned little beyond token pairs, so its features say little about what larger ` +
        "language models represent.",
    );
  } else v.supports.push(`${text}: it models more than token pairs.`);
  const costly = members.filter((e) => typeof e.deltaCe === "number" && margin > 0 && e.deltaCe > margin);
  if (costly.length) {
    v.doesNotSupport.push(
      `Splicing in ${list(costly.map((e) => e.name))} adds more next-token loss than the model's whole margin ` +
        `over the bigram (${f(margin)} nats): those reconstructions lose what the model learned.`,
    );
  }
}

function convergenceLines(members: readonly MemberEvidence[], v: Verdict): void {
  const judged = members.filter((e) => typeof e.converged === "boolean");
  const not = judged.filter((e) => !e.converged).map((e) => e.name);
  if (not.length) {
    v.doesNotSupport.push(
      `${not.length} of ${judged.length} members did not converge (held-out FVU still falling over the last 20% ` +
        `of training): ${list(not)}; their numbers describe unfinished training.`,
    );
  } else if (judged.length) v.supports.push(`All ${judged.length} members converged by the plateau rule.`);
}

function mmcsLines(members: readonly MemberEvidence[], v: Verdict): void {
  const measured = members.filter((e) => typeof e.mmcs === "number" && typeof e.mmcsChance === "number");
  const atChance = measured.filter((e) => e.mmcs! - e.mmcsChance! < MMCS_CHANCE_BAND);
  const above = measured.filter((e) => e.mmcs! - e.mmcsChance! >= MMCS_CHANCE_BAND);
  if (atChance.length) {
    v.doesNotSupport.push(
      `MMCS of ${list(atChance.map((e) => e.name))} is within ${MMCS_CHANCE_BAND} of what random unit vectors ` +
        "of the same sizes give: those dictionaries do not agree across sizes beyond chance.",
    );
  }
  if (above.length) {
    const best = above.reduce((a, b) => (b.mmcs! - b.mmcsChance! > a.mmcs! - a.mmcsChance! ? b : a));
    v.supports.push(
      `${above.length} of ${measured.length} members find features again at another dictionary size above chance ` +
        `(best: ${best.name}, MMCS ${f(best.mmcs!)} against chance ${f(best.mmcsChance!)}).`,
    );
  }
}

function separated(a: ScoreEvidence, b: ScoreEvidence): boolean {
  return a.ci95[0] > b.ci95[1];
}

function scoreLines(input: VerdictInput, v: Verdict): void {
  const scores = input.scores;
  if (!scores) return;
  const refs = input.references ?? {};
  const random = refs.random ? scores.dicts[refs.random] : undefined;
  const neurons = refs.neurons ? scores.dicts[refs.neurons] : undefined;
  const saes = input.members.map((m) => m.name).filter((n) => scores.dicts[n]);
  if (!random) {
    if (saes.length) {
      v.doesNotSupport.push(
        `Scores (${scores.backend}) have no random-direction baseline to compare with, so they cannot show ` +
          "that the dictionaries beat chance.",
      );
    }
    return;
  }
  const noBetter = saes.filter((n) => !separated(scores.dicts[n], random));
  const better = saes.filter((n) => separated(scores.dicts[n], random));
  const ref = `random directions (${f(random.mean)})`;
  if (noBetter.length) {
    v.doesNotSupport.push(
      `On the ${scores.backend} score, ${list(noBetter)} ${noBetter.length === 1 ? "is" : "are"} no better than ` +
        `${ref}: the 95% intervals overlap.`,
    );
  }
  if (better.length) {
    const beatNeurons = neurons ? better.filter((n) => separated(scores.dicts[n], neurons)) : [];
    v.supports.push(
      `On the ${scores.backend} score, ${list(better)} ${better.length === 1 ? "scores" : "score"} above ${ref}` +
        (neurons ? `, and ${beatNeurons.length} of them above neurons (${f(neurons.mean)})` : "") + ".",
    );
  }
}

/**
 * Weigh a run's evidence against its reference levels.
 *
 * @param input The model's losses, the members' convergence, MMCS and ΔCE, and the scores.
 * @returns What the run supports and what it does not, as sentences.
 * @example
 * ```ts
 * import { verdict } from "@saelab/report";
 * const v = verdict({
 *   model: { name: "m", loss: 4.48, bigram: 4.56 },
 *   members: [{ name: "a", converged: false, mmcs: 0.26, mmcsChance: 0.25, deltaCe: 0.3 }],
 * });
 * if (v.supports.length !== 0 || v.doesNotSupport.length !== 4) throw new Error("verdict");
 * ```
 */
export function verdict(input: VerdictInput): Verdict {
  const v: Verdict = { supports: [], doesNotSupport: [] };
  modelLines(input.model, input.members, v);
  convergenceLines(input.members, v);
  mmcsLines(input.members, v);
  scoreLines(input, v);
  return v;
}

/** The evaluations and scores of a run, as the run folder holds them. */
export interface RunEvidence {
  /** The model and its bigram baseline. */
  model: ModelEvidence;
  /** Every dictionary's `eval.json` (SAE members are those of kind `sae`). */
  evals: readonly NamedEval[];
  /** `scores.json`, when scored. */
  scores?: ScoresJson | null;
}

/**
 * The reference dictionaries among the scores: the random-direction and neuron baselines.
 *
 * @param scores `scores.json`.
 * @returns Their names, when scored.
 * @example
 * ```ts
 * import { scoreReferences } from "@saelab/report";
 * import type { DictScore } from "@saelab/runs";
 * const d: DictScore = { kind: "baseline", method: "random", mean: 0.4, ci95: [0.3, 0.5], n: 9, backend: "token-lookup" };
 * if (scoreReferences({ dicts: { rnd: d } }).random !== "rnd") throw new Error();
 * ```
 */
export function scoreReferences(scores: ScoresJson | null | undefined): { random?: string; neurons?: string } {
  const dicts = scores?.dicts ?? {};
  const find = (method: string) =>
    method in dicts
      ? method
      : Object.keys(dicts).find((n) => dicts[n].kind === "baseline" && dicts[n].method === method);
  return { random: find("random"), neurons: find("neurons") };
}

/**
 * The verdict of a run from its files: the SAE members' convergence, MMCS and ΔCE, the scores against
 * the random-direction and neuron baselines, the model's margin over the bigram.
 *
 * @param run The model's losses, the evaluations, the scores.
 * @returns The verdict.
 * @example
 * ```ts
 * import { runVerdict } from "@saelab/report";
 * const e = { kind: "sae", method: "sae", dIn: 4, dSae: 8, fvu: 0.1, l0: 3, deadFraction: 0, converged: false } as const;
 * const v = runVerdict({ model: { name: "m" }, evals: [{ name: "a", eval: e }] });
 * if (!v.doesNotSupport.some((s) => s.includes("did not converge"))) throw new Error();
 * ```
 */
export function runVerdict(run: RunEvidence): Verdict {
  const scores = run.scores;
  const backends = [...new Set(Object.values(scores?.dicts ?? {}).map((s) => s.backend))];
  return verdict({
    model: run.model,
    members: run.evals.filter((e) => e.eval.kind === "sae").map(({ name, eval: e }) => ({
      name,
      converged: e.converged,
      mmcs: e.mmcs?.value ?? null,
      mmcsChance: e.mmcsChance ?? null,
      deltaCe: e.deltaCe ?? null,
    })),
    scores: scores && backends.length ? { backend: backends.join(", "), dicts: scores.dicts } : null,
    references: scoreReferences(scores),
  });
}

/**
 * The verdict as plain text for the terminal: "Supported:" and "Not supported:" lists.
 *
 * @param v The verdict.
 * @returns Lines joined with newlines (no trailing newline).
 * @example
 * ```ts
 * import { verdictText } from "@saelab/report";
 * const text = verdictText({ supports: ["a"], doesNotSupport: [] });
 * if (!text.includes("Supported by this run:\n  - a")) throw new Error(text);
 * ```
 */
export function verdictText(v: Verdict): string {
  const out: string[] = ["What this run supports and what it does not:"];
  if (v.supports.length) out.push("Supported by this run:", ...v.supports.map((s) => `  - ${s}`));
  if (v.doesNotSupport.length) out.push("Not supported by this run:", ...v.doesNotSupport.map((s) => `  - ${s}`));
  if (out.length === 1) out.push("  (no evidence recorded)");
  return out.join("\n");
}
