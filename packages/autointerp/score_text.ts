/**
 * The scores of a run in plain words, for terminal summaries: what the score measures, the
 * random-direction and neuron references it is read against, and which dictionaries are no better
 * than random directions.
 *
 * @module
 */
import type { DictScore, ScoresJson } from "@saelab/runs";
import { currentBackendName, TOKEN_LOOKUP } from "./token_lookup.ts";
import type { ScoreReferences } from "./compare.ts";

/** A `scores.json` entry with the optional fields {@linkcode attachReferences} adds. */
type Entry = DictScore & { references?: ScoreReferences; verdict?: string };

/** What a backend's score measures, in a few words. */
function shortMeasure(backend: string): string {
  if (backend === TOKEN_LOOKUP) {
    return "measures how well the current or previous token predicts the feature, not interpretability";
  }
  if (backend.startsWith("openai:")) {
    return "Bills et al. simulation: correlation of an LLM's predictions from the explanation with the activations";
  }
  return "mean explanation score";
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");

/**
 * Plain-words lines about a run's scores: per backend of the shown entries, one line saying what the
 * score measures with the references (random directions, neurons) and one naming the dictionaries no
 * better than random directions (their 95% intervals overlap), or saying that none is.
 *
 * @param scores `scores.json` (entries may carry `references` and `verdict`, as `mergeScoreData` builds them).
 * @returns The lines, empty when nothing was scored.
 * @example
 * ```ts
 * import { scoreSummaryLines } from "@saelab/autointerp";
 * const e = (method: string, mean: number, verdict: string) => ({ kind: "sae" as const, method, mean,
 *   ci95: [mean - 0.02, mean + 0.02] as [number, number], n: 50, backend: "token-lookup", verdict,
 *   references: { random: { dict: "random", mean: 0.47, ci95: [0.45, 0.49] as [number, number], n: 50 },
 *     neurons: null } });
 * const lines = scoreSummaryLines({ dicts: { a: e("sae", 0.48, "no better than random directions"),
 *   random: e("random", 0.47, "the random-direction reference") } });
 * if (!lines[0].includes("references: random directions 0.470")) throw new Error(lines[0]);
 * if (!lines[1].endsWith("a no better than random directions.")) throw new Error(lines[1]);
 * ```
 */
export function scoreSummaryLines(scores: ScoresJson | null | undefined): string[] {
  const byBackend = new Map<string, [string, Entry][]>();
  for (const [name, entry] of Object.entries(scores?.dicts ?? {})) {
    const backend = currentBackendName(entry.backend);
    byBackend.set(backend, [...(byBackend.get(backend) ?? []), [name, entry as Entry]]);
  }
  const lines: string[] = [];
  for (const [backend, entries] of byBackend) {
    const refs = entries.find(([, e]) => e.references)?.[1].references;
    const ref = (label: string, r: ScoreReferences["random"] | undefined) =>
      r ? `${label} ${f3(r.mean)} [${f3(r.ci95[0])}, ${f3(r.ci95[1])}]` : `no ${label} reference`;
    lines.push(
      `Scores (${backend}: ${shortMeasure(backend)}): mean per dictionary with 95% intervals; references: ` +
        `${ref("random directions", refs?.random)}, ${ref("neurons", refs?.neurons)}.`,
    );
    const refNames = new Set([refs?.random?.dict, refs?.neurons?.dict]);
    const judged = entries.filter(([name, e]) => !refNames.has(name) && e.verdict);
    const noBetter = judged.filter(([, e]) => /^(no better|worse) than random/.test(e.verdict!)).map(([n]) => n);
    if (!refs?.random) continue;
    if (noBetter.length) lines.push(`Scores: ${noBetter.join(", ")} no better than random directions.`);
    else if (judged.length) lines.push("Scores: every dictionary scores above random directions.");
  }
  return lines;
}
