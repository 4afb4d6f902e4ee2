/**
 * A deterministic explainer, simulator and detector that need no language
 * model, so the whole pipeline runs on a fresh machine. The explanation is a
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
import type { Fragment } from "@saelab/runs";
import { pearson } from "./stats.ts";
import type { Backend, Explanation } from "./types.ts";

/** Which context the offline explanation keys on. */
export type OfflineMode = "token" | "previous" | "both";

/** A token of the offline explanation: `[token, weight in [0, 1], firing rate in [0, 1]]`. */
export type WeightedToken = [token: string, weight: number, rate: number];

/** The structured offline explanation (in {@linkcode Explanation.data}). */
export interface OfflineExplanation {
  /** Context the prediction keys on. */
  mode: OfflineMode;
  /** Weights of current tokens, heaviest first. */
  tokens: WeightedToken[];
  /** Weights of preceding tokens, heaviest first. */
  previous: WeightedToken[];
}

/** Options of {@linkcode offlineBackend}. */
export interface OfflineOptions {
  /** Tokens kept per list (the explanation's length). Default 24. */
  maxTokens?: number;
}

/**
 * The offline backend (`name: "offline"`).
 *
 * @param options Explanation length.
 * @returns Explainer, simulator and detector.
 * @example A feature that fires on " cat"
 * ```ts
 * import { offlineBackend } from "@saelab/autointerp";
 * const b = offlineBackend();
 * const f = { tokens: [" the", " cat", " sat"], acts: [0, 4, 0] };
 * const e = await b.explainer.explain([f, f], { dict: "d", index: 0 });
 * const [sim] = await b.simulator.simulate(e, [{ tokens: [" a", " cat"] }], { dict: "d", index: 0 });
 * if (sim[0] !== 0 || sim[1] !== 10) throw new Error(e.text);
 * ```
 */
export function offlineBackend(options: OfflineOptions = {}): Backend {
  const maxTokens = options.maxTokens ?? 24;
  const name = "offline";
  return {
    name,
    explainer: { name, explain: (fragments) => Promise.resolve(explainOffline(fragments, maxTokens)) },
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
  };
}

function data(e: Explanation): OfflineExplanation {
  const d = e.data as OfflineExplanation | undefined;
  if (!d || !Array.isArray(d.tokens) || !Array.isArray(d.previous)) {
    throw new TypeError("Cannot simulate offline: the explanation was not made by the offline explainer");
  }
  return d;
}

interface Stat {
  sum: number;
  n: number;
  fired: number;
}

function explainOffline(fragments: readonly Fragment[], maxTokens: number): Explanation {
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
  let best: OfflineExplanation = { mode: "token", tokens, previous };
  let bestFit = -Infinity;
  for (const mode of ["token", "previous", "both"] as const) {
    const candidate: OfflineExplanation = { mode, tokens, previous };
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
function predictor(e: OfflineExplanation) {
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

function describe(e: OfflineExplanation): string {
  const show = (l: WeightedToken[]) =>
    l.slice(0, 8).map(([t, w]) => `${JSON.stringify(t)} ${w.toFixed(2)}`).join(", ") || "nothing";
  if (e.mode === "token") return `Fires on the tokens ${show(e.tokens)}.`;
  if (e.mode === "previous") return `Fires on the token after ${show(e.previous)}.`;
  return `Fires on the tokens ${show(e.tokens)}; or after ${show(e.previous)}.`;
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
