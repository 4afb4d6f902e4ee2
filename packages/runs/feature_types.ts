/**
 * Types of `features/<dict>/`: `index.json` summarises every feature of one dictionary, and
 * `<i>.json` (i = feature index, decimal, no padding) holds one feature's detail.
 *
 * @module
 */

/** One feature's line in the feature browser. */
export interface FeatureSummary {
  /** Feature index in the dictionary (row of `W_dec`). */
  index: number;
  /** Fraction of harvested tokens on which the feature is non-zero. */
  density: number;
  /** Largest activation seen. */
  maxActivation: number;
  /** Mean activation over the tokens where it fires. */
  meanActivation?: number;
  /** Natural-language explanation, when the feature was explained. */
  explanation?: string;
  /** Correlation score of the explanation's simulation with the true activations, in [-1, 1]. */
  score?: number;
  /** Tokens it fires on most strongly (from the atlas), largest activation first. */
  topTokens?: string[];
}

/** `features/<dict>/index.json`. */
export interface FeatureIndex {
  /** Dictionary name. */
  dict: string;
  /** Method that made the dictionary (`"sae"`, `"pca"`, …). */
  method: string;
  /** Tokens the statistics were computed on. */
  tokens: number;
  /** Explainer/simulator backend that wrote the explanations and scores, when any. */
  backend?: string;
  /** One summary per feature that was harvested (not necessarily all `d_sae`). */
  features: FeatureSummary[];
  /** Features sampled for explanation and scoring (each has a detail file). */
  sampled?: number[];
  /** Features per atlas shard, when `atlas/` was written. */
  atlasShard?: number;
}

/** A text window with the feature's activation on each token. */
export interface Fragment {
  /** Decoded tokens, in order, with their leading spaces. */
  tokens: string[];
  /** Activation on each token; same length as `tokens`. */
  acts: number[];
  /** Stable id of the source document or window. */
  doc?: string;
  /** Position of the first token inside the document. */
  start?: number;
  /** Position in `tokens` of the token the fragment was cut around (its peak activation). */
  peak?: number;
}

/** Histogram of the feature's non-zero activations. */
export interface Histogram {
  /** Bin edges, ascending; `counts.length + 1` of them. */
  edges: number[];
  /** Count of activations per bin. */
  counts: number[];
  /** Tokens where the feature was exactly zero (not binned). */
  zeros?: number;
}

/** A token and a number attached to it. */
export interface TokenValue {
  /** Decoded token. */
  token: string;
  /** Value, e.g. a logit effect. */
  value: number;
}

/** Direct effect of the feature's decoder direction on the logits through the unembedding. */
export interface LogitEffects {
  /** Tokens whose logits rise most, largest first. */
  positive: TokenValue[];
  /** Tokens whose logits fall most, most negative first. */
  negative: TokenValue[];
  /** Histogram of the effect over the whole vocabulary. */
  histogram?: Histogram;
}

/** A feature of the same dictionary with a similar decoder direction. */
export interface Neighbour {
  /** Feature index. */
  index: number;
  /** Cosine similarity of the two decoder rows. */
  cosine: number;
}

/** `features/<dict>/<i>.json`: everything the feature page shows. */
export interface FeatureDetail extends FeatureSummary {
  /** Dictionary name. */
  dict: string;
  /** Explainer/simulator backend behind `explanation` and `score`. */
  backend?: string;
  /** Every backend's result for this feature, by backend name (`backend` names the shown one). */
  results?: Record<string, FeatureResult>;
  /** Fragments with the highest activations, highest first. */
  top: Fragment[];
  /** Fragments sampled at random among those where the feature fires. */
  random: Fragment[];
  /** Activation histogram. */
  histogram: Histogram;
  /** Logit effects, present when the model's unembedding was available. */
  logits?: LogitEffects;
  /** Nearest features by decoder cosine, most similar first. */
  neighbours?: Neighbour[];
}

/** One feature's fuzzing scores: how often the judge told correct highlighting from highlighting at random tokens. */
export interface FeatureFuzzing {
  /** Mean of the two per-class accuracies (chance 0.5). */
  balancedAccuracy: number;
  /** Fraction of correctly highlighted fragments judged correct. */
  correctAccuracy: number;
  /** Fraction of randomly highlighted fragments judged wrong. */
  fuzzedAccuracy: number;
  /** Correctly highlighted fragments judged. */
  nCorrect: number;
  /** Randomly highlighted fragments judged. */
  nFuzzed: number;
}

/** One backend's result for a feature, as stored in its detail file. */
export interface FeatureResult {
  /** The explanation (empty when it failed). */
  explanation: string;
  /** Correlation of simulated and true activations over the held-out top and random fragments. */
  score: number | null;
  /** The same over the held-out top fragments only. */
  topScore?: number | null;
  /** The same over the held-out random fragments only. */
  randomScore?: number | null;
  /** Detection accuracy, ROC AUC and fragments classified, when a detector ran. */
  detection?: { accuracy: number; auc: number; n: number } | null;
  /** Fuzzing scores, when the fuzzing scorer ran. */
  fuzzing?: FeatureFuzzing | null;
  /** How each held-out fragment was simulated, in the order shown, when the simulator said. */
  simulated?: { role: "top" | "random"; method: "expected-value" | "sampled" }[];
  /** Each held-out fragment: its list and place in it (`top[at]`, `random[at]`) and the simulated activations. */
  heldOut?: HeldOutSimulation[];
  /** Why the feature could not be scored. */
  error?: string;
}

/** One held-out fragment of the simulation score: which fragment, and what the simulator predicted per token. */
export interface HeldOutSimulation {
  /** The list the fragment is in. */
  role: "top" | "random";
  /** Its place in that list. */
  at: number;
  /** Simulated activation per token (the true ones are the fragment's `acts`). */
  simulated: number[];
  /** Correlation of simulated and true activations on this fragment alone (0 when either is constant). */
  score: number;
}
