/**
 * Generators behind the synthetic demo run: decoder weights, fragments, histograms, bootstrap.
 * Statistics derived from the generated weights (MMCS, neighbours, logit effects) are computed, not invented.
 *
 * @module
 */
import type { Rng } from "./_random.ts";
import type { FeatureDetail, Fragment, Histogram, TokenValue } from "./feature_types.ts";

/** Words the synthetic fragments are made of (with BPE-style leading spaces). */
export const DEMO_VOCAB = [
  " the",
  " of",
  " and",
  " to",
  " a",
  " in",
  " whale",
  " ship",
  " sea",
  " captain",
  " Ahab",
  " white",
  " boat",
  " harpoon",
  " said",
  " he",
  " it",
  " was",
  " that",
  " with",
  " for",
  " as",
  " his",
  " on",
  " be",
  " at",
  " by",
  " I",
  " this",
  " had",
  " not",
  " are",
  " but",
  " from",
  " or",
  " have",
  " an",
  " they",
  " which",
  " one",
  " you",
  " were",
  " her",
  " all",
  " she",
  " there",
  " would",
  " their",
  " we",
  " him",
  " been",
  " has",
  " when",
  " who",
  " will",
  " more",
  " no",
  " if",
  " out",
  " so",
  ".",
  ",",
  ";",
  "!",
  "\n",
];

/** Random unit-norm rows: `[rows, cols]` row-major. */
export function unitRows(rng: Rng, rows: number, cols: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let c = 0; c < cols; c++) {
      const v = rng.normal();
      w[r * cols + c] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    for (let c = 0; c < cols; c++) w[r * cols + c] /= norm;
  }
  return w;
}

/** Cosine of rows `i` of `a` and `j` of `b` (both `[*, d]`). */
export function rowCosine(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let dot = 0, na = 0, nb = 0;
  for (let k = 0; k < d; k++) {
    const x = a[i * d + k], y = b[j * d + k];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / (Math.sqrt(na * nb) || 1);
}

/** Mean over rows of `a` of the max cosine with any row of `b`. */
export function meanMaxCosine(a: Float32Array, b: Float32Array, d: number): number {
  const ra = a.length / d, rb = b.length / d;
  let sum = 0;
  for (let i = 0; i < ra; i++) {
    let best = -1;
    for (let j = 0; j < rb; j++) best = Math.max(best, rowCosine(a, i, b, j, d));
    sum += best;
  }
  return sum / ra;
}

/** The `k` other rows of `w` most cosine-similar to row `i`. */
export function nearestRows(w: Float32Array, i: number, options: { d: number; k: number }) {
  const rows = w.length / options.d;
  const all = [];
  for (let j = 0; j < rows; j++) if (j !== i) all.push({ index: j, cosine: rowCosine(w, i, w, j, options.d) });
  return all.sort((x, y) => y.cosine - x.cosine).slice(0, options.k);
}

/** Largest and smallest entries of `row · U` for an unembedding `U [d, V]`. */
export function logitEffects(row: Float32Array, unembed: Float32Array, options: { vocab: string[]; k: number }) {
  const v = options.vocab.length, d = row.length;
  const eff: TokenValue[] = options.vocab.map((token, t) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += row[c] * unembed[c * v + t];
    return { token, value: s };
  });
  eff.sort((a, b) => b.value - a.value);
  return { positive: eff.slice(0, options.k), negative: eff.slice(-options.k).reverse() };
}

function fragment(rng: Rng, options: { trigger: number; peak: number; hits: number; length: number }): Fragment {
  const tokens: string[] = [], acts: number[] = [];
  for (let t = 0; t < options.length; t++) {
    tokens.push(DEMO_VOCAB[rng.int(DEMO_VOCAB.length)]);
    acts.push(0);
  }
  for (let h = 0; h < options.hits; h++) {
    const at = rng.int(options.length);
    tokens[at] = DEMO_VOCAB[options.trigger];
    acts[at] = options.peak * (h === 0 ? 1 : 0.3 + 0.6 * rng.uniform());
    if (at + 1 < options.length) acts[at + 1] = Math.max(acts[at + 1], acts[at] * 0.2 * rng.uniform());
  }
  return { tokens, acts: acts.map((a) => Math.round(a * 1000) / 1000), doc: `synthetic-${rng.int(1e6)}`, start: 0 };
}

/** Histogram of `values` in `bins` equal bins over [0, max]. */
export function histogram(values: number[], bins: number): Histogram {
  const max = Math.max(...values, 1e-9);
  const edges = Array.from({ length: bins + 1 }, (_, i) => (max * i) / bins);
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
  return { edges, counts };
}

/** A synthetic feature: fragments around a trigger word, histogram from sampled activations. */
export function demoFeature(
  rng: Rng,
  options: { dict: string; index: number; meanScore: number; tokens: number },
): Omit<FeatureDetail, "logits" | "neighbours"> {
  const trigger = rng.int(DEMO_VOCAB.length);
  const maxAct = 1 + 9 * rng.uniform();
  const density = Math.exp(Math.log(1e-3) + rng.uniform() * Math.log(200));
  const top = Array.from(
    { length: 5 },
    (_, r) => fragment(rng, { trigger, peak: maxAct * (1 - 0.08 * r), hits: 1 + rng.int(3), length: 16 }),
  );
  const random = Array.from(
    { length: 5 },
    () => fragment(rng, { trigger, peak: maxAct * (0.15 + 0.5 * rng.uniform()), hits: 1, length: 16 }),
  );
  const samples = Array.from({ length: 400 }, () => maxAct * Math.pow(rng.uniform(), 2.5));
  const score = Math.max(-1, Math.min(1, options.meanScore + 0.18 * rng.normal()));
  return {
    dict: options.dict,
    index: options.index,
    density: Math.min(1, density),
    maxActivation: maxAct,
    meanActivation: samples.reduce((a, b) => a + b, 0) / samples.length,
    explanation: `synthetic: fires on "${DEMO_VOCAB[trigger].replace("\n", "\\n")}"`,
    score: Math.round(score * 1000) / 1000,
    backend: "synthetic",
    top,
    random,
    histogram: { ...histogram(samples, 20), zeros: Math.round(options.tokens * (1 - density)) },
  };
}

/** Mean and 95% percentile-bootstrap interval of `xs`. */
export function bootstrapMean(rng: Rng, xs: number[], options: { resamples: number }) {
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const means: number[] = [];
  for (let r = 0; r < options.resamples; r++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)];
    means.push(s / xs.length);
  }
  means.sort((a, b) => a - b);
  const q = (p: number) => means[Math.min(means.length - 1, Math.floor(p * means.length))];
  return { mean: mean(xs), ci95: [q(0.025), q(0.975)] as [number, number] };
}
