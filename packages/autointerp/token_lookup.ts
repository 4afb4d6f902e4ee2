/**
 * The token-lookup backend: a deterministic explainer, simulator and detector
 * that need no language model, so the whole pipeline runs on a fresh machine.
 * It is a lookup table, not an interpreter: its score measures how well the
 * current or previous token predicts the feature's activation, which is not
 * interpretability (random directions and neurons score well on it too; see
 * {@linkcode TOKEN_LOOKUP_DESCRIPTION}). The explanation is a
 * weighted set of the tokens — or of the preceding tokens — on which the
 * feature fires in the explained fragments: each token's weight is its mean
 * activation (as a fraction of the largest) over all its occurrences there,
 * and its firing rate the fraction of those occurrences where the feature
 * was non-zero. The explainer keeps whichever reading (current token,
 * preceding token, or the larger of both) best fits the fragments it saw. The
 * simulator predicts `10 · weight` per token; the detector's probability that
 * a fragment contains the feature is `1 − Π (1 − firing rate)` over its tokens.
 *
 * @module
 */
import { type Fragment, TOKEN_LOOKUP } from "@saelab/runs";
import { pearson } from "./stats.ts";
import type { Backend, Explanation } from "./types.ts";

/** The backend's name and its old names live with the run-folder format, which reads old files. */
export { currentBackendName, TOKEN_LOOKUP, TOKEN_LOOKUP_OLD_NAMES } from "@saelab/runs";

/** What a token-lookup score measures, in plain words, for pages and summaries. */
export const TOKEN_LOOKUP_DESCRIPTION =
  "Token-lookup score: how well the current or previous token alone predicts the feature's activation " +
  "(a lookup table built from the top fragments, correlated with the held-out activations). " +
  "It does not measure interpretability: compare it with the random-direction and neuron baselines.";

/** Which context the token-lookup explanation keys on. */
export type TokenLookupMode = "token" | "previous" | "both";

/** A token of the token-lookup explanation: `[token, weight in [0, 1], firing rate in [0, 1]]`. */
export type WeightedToken = [token: string, weight: number, rate: number];

/** The structured token-lookup explanation (in {@linkcode Explanation.data}). */
export interface TokenLookupExplanation {
  /** Context the prediction keys on. */
  mode: TokenLookupMode;
  /** Weights of current tokens, heaviest first. */
  tokens: WeightedToken[];
  /** Weights of preceding tokens, heaviest first. */
  previous: WeightedToken[];
}

/** Options of {@linkcode tokenLookupBackend}. */
export interface TokenLookupOptions {
  /** Tokens kept per list (the explanation's length). Default 24. */
  maxTokens?: number;
}

/**
 * The token-lookup backend (`name: "token-lookup"`).
 *
 * @param options Explanation length.
 * @returns Explainer, simulator, detector and fuzzing judge.
 * @example A feature that fires on " cat"
 * ```ts
 * import { tokenLookupBackend } from "@saelab/autointerp";
 * const b = tokenLookupBackend();
 * const f = { tokens: [" the", " cat", " sat"], acts: [0, 4, 0] };
 * const e = await b.explainer.explain([f, f], { dict: "d", index: 0 });
 * const [sim] = await b.simulator.simulate(e, [{ tokens: [" a", " cat"] }], { dict: "d", index: 0 });
 * if (sim[0] !== 0 || sim[1] !== 10) throw new Error(e.text);
 * ```
 */
export function tokenLookupBackend(options: TokenLookupOptions = {}): Backend {
  const maxTokens = options.maxTokens ?? 24;
  const name = TOKEN_LOOKUP;
  return {
    name,
    explainer: { name, explain: (fragments) => Promise.resolve(explainByLookup(fragments, maxTokens)) },
    simulator: {
      name,
      simulate: (e, fragments) => {
        const p = predictor(data(e));
        return Promise.resolve(fragments.map((f) => p.weights(f.tokens).map((w) => 10 * w)));
      },
    },
    detector: {
      name,
      detect: (e, fragments) => {
        const p = predictor(data(e));
        return Promise.resolve(fragments.map((f) => 1 - p.rates(f.tokens).reduce((miss, r) => miss * (1 - r), 1)));
      },
    },
    fuzzer: {
      name,
      // the highlighting matches when every highlighted token is one the lookup table predicts
      judge: (e, fragments) => {
        const p = predictor(data(e));
        return Promise.resolve(fragments.map((f) => {
          const w = p.weights(f.tokens);
          return f.marked.every((m, i) => !m || w[i] > 0) ? 1 : 0;
        }));
      },
    },
  };
}

function data(e: Explanation): TokenLookupExplanation {
  const d = e.data as TokenLookupExplanation | undefined;
  if (!d || !Array.isArray(d.tokens) || !Array.isArray(d.previous)) {
    throw new TypeError("Cannot simulate with the token-lookup backend: the explanation was not made by its explainer");
  }
  return d;
}

interface Stat {
  sum: number;
  n: number;
  fired: number;
}

function explainByLookup(fragments: readonly Fragment[], maxTokens: number): Explanation {
  let max = 0;
  for (const f of fragments) for (const a of f.acts) max = Math.max(max, a);
  const scale = max > 0 ? 1 / max : 0;
  const tok = new Map<string, Stat>(), prev = new Map<string, Stat>();
  const add = (m: Map<string, Stat>, key: string, a: number) => {
    const s = m.get(key) ?? { sum: 0, n: 0, fired: 0 };
    s.sum += Math.min(1, Math.max(0, a * scale));
    s.n++;
    if (a !== 0) s.fired++;
    m.set(key, s);
  };
  for (const f of fragments) {
    f.tokens.forEach((t, i) => {
      add(tok, t, f.acts[i]);
      if (i > 0) add(prev, f.tokens[i - 1], f.acts[i]);
    });
  }
  const list = (m: Map<string, Stat>): WeightedToken[] =>
    [...m.entries()]
      .filter(([, s]) => s.sum > 0)
      .map(([t, s]): WeightedToken => [t, round(s.sum / s.n), round(s.fired / s.n)])
      .sort((a, b) => b[1] - a[1] || b[2] - a[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxTokens);
  const tokens = list(tok), previous = list(prev);
  // keep the reading that best fits the explained fragments (ties go to the simpler one)
  let best: TokenLookupExplanation = { mode: "token", tokens, previous };
  let bestFit = -Infinity;
  for (const mode of ["token", "previous", "both"] as const) {
    const candidate: TokenLookupExplanation = { mode, tokens, previous };
    const p = predictor(candidate);
    const sim: number[] = [], act: number[] = [];
    for (const f of fragments) {
      sim.push(...p.weights(f.tokens));
      act.push(...f.acts);
    }
    const fit = act.length ? pearson(sim, act) : 0;
    if (fit > bestFit + 1e-9) {
      best = candidate;
      bestFit = fit;
    }
  }
  return { text: describe(best), data: best };
}

/** Per-token weights and firing rates under an explanation (lookup tables built once). */
function predictor(e: TokenLookupExplanation) {
  const table = (list: WeightedToken[], column: 1 | 2) => new Map(list.map((w) => [w[0], w[column]]));
  const tw = table(e.tokens, 1), pw = table(e.previous, 1), tr = table(e.tokens, 2), pr = table(e.previous, 2);
  const apply = (tok: Map<string, number>, prev: Map<string, number>) => (tokens: readonly string[]) =>
    tokens.map((t, i) => {
      const a = e.mode === "previous" ? 0 : tok.get(t) ?? 0;
      const b = e.mode === "token" || i === 0 ? 0 : prev.get(tokens[i - 1]) ?? 0;
      return a > b ? a : b;
    });
  return { weights: apply(tw, pw), rates: apply(tr, pr) };
}

function describe(e: TokenLookupExplanation): string {
  const show = (l: WeightedToken[]) =>
    l.slice(0, 8).map(([t, w]) => `${JSON.stringify(t)} ${w.toFixed(2)}`).join(", ") || "nothing";
  if (e.mode === "token") return `Fires on the tokens ${show(e.tokens)}.`;
  if (e.mode === "previous") return `Fires on the token after ${show(e.previous)}.`;
  return `Fires on the tokens ${show(e.tokens)}; or after ${show(e.previous)}.`;
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
