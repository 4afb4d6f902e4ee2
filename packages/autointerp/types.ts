/**
 * What the scorer works on and with: a feature's sampled fragments, and the
 * explainer, simulator, detector and fuzzing-judge interfaces that the LLM
 * backend and the token-lookup backend both implement.
 *
 * @module
 */
import type { Fragment, HeldOutSimulation, Histogram, Neighbour } from "@saelab/runs";

/** One feature's data for the protocol, as written to `features/<dict>/<i>.json`. */
export interface FeatureSample {
  /** Dictionary name. */
  dict: string;
  /** Feature index. */
  index: number;
  /** Fraction of held-out tokens on which the feature is non-zero. */
  density: number;
  /** Largest activation on the held-out tokens. */
  maxActivation: number;
  /** Mean activation over the tokens where it fires. */
  meanActivation: number;
  /** Up to 20 fragments with the largest maximum activation, largest first. */
  top: Fragment[];
  /** Up to 20 fragments drawn at random (seeded) among the other fragments where the feature is non-zero. */
  random: Fragment[];
  /** Fragments where the feature is zero on every token (the negatives of detection scoring). */
  negatives: Fragment[];
  /** Histogram of the non-zero activations on the held-out tokens. */
  histogram: Histogram;
  /** Features of the same dictionary with the most similar decoder directions, most similar first. */
  neighbours?: Neighbour[];
}

/** Text fed to a simulator or detector: only the tokens. */
export interface TokenFragment {
  /** Decoded tokens. */
  tokens: string[];
}

/** An explanation of a feature: one sentence, plus whatever structured data the backend keeps. */
export interface Explanation {
  /** The sentence shown to people (and to an LLM simulator). */
  text: string;
  /** Backend-specific data (the token-lookup backend keeps its token weights here). */
  data?: unknown;
}

/** Which feature a request is about (for caches, logs and prompts). */
export interface FeatureRef {
  /** Dictionary name. */
  dict: string;
  /** Feature index. */
  index: number;
}

/** Makes an explanation from top-activating fragments. */
export interface Explainer {
  /** Backend name, recorded with every score (`"token-lookup"`, `"openai:gpt-4o-mini"`). */
  readonly name: string;
  /**
   * Explain a feature.
   *
   * @param fragments Fragments with the feature's activation on each token, largest first.
   * @param feature Which feature.
   */
  explain(fragments: readonly Fragment[], feature: FeatureRef): Promise<Explanation>;
}

/**
 * How a simulated fragment's values were obtained: `expected-value` is Σ v·p(v) over the 0–10 tokens'
 * probabilities at each token's position (Bills et al. 2023); `sampled` is the integer the model wrote, used where
 * the endpoint returned no log-probabilities.
 */
export type SimulationMethod = "expected-value" | "sampled";

/** One fragment's simulated activations. */
export interface SimulatedFragment {
  /** One value in [0, 10] per token. */
  values: number[];
  /** How the values were obtained. */
  method: SimulationMethod;
}

/** Predicts per-token activations (0–10) from an explanation. */
export interface Simulator {
  /** Backend name. */
  readonly name: string;
  /**
   * Predict each token's activation on a 0–10 scale.
   *
   * @param explanation The explanation.
   * @param fragments Fragments (tokens only).
   * @param feature Which feature.
   * @returns One array per fragment, one number per token.
   */
  simulate(explanation: Explanation, fragments: readonly TokenFragment[], feature: FeatureRef): Promise<number[][]>;
  /**
   * Predict one fragment on its own (one request per fragment, as Bills et al. do). When present, the scorer
   * uses it instead of {@linkcode Simulator.simulate} and records each fragment's method.
   *
   * @param explanation The explanation.
   * @param fragment One fragment (tokens only).
   * @param feature Which feature.
   * @returns The fragment's values and how they were obtained.
   */
  simulateFragment?(explanation: Explanation, fragment: TokenFragment, feature: FeatureRef): Promise<SimulatedFragment>;
}

/** Decides from an explanation whether the feature fires anywhere in a fragment (delphi-style detection). */
export interface Detector {
  /** Backend name. */
  readonly name: string;
  /**
   * Probability that the feature fires in each fragment.
   *
   * @param explanation The explanation.
   * @param fragments Fragments (tokens only).
   * @param feature Which feature.
   * @returns One number in [0, 1] per fragment.
   */
  detect(explanation: Explanation, fragments: readonly TokenFragment[], feature: FeatureRef): Promise<number[]>;
}

/** A fragment with some tokens highlighted (fuzzing). */
export interface MarkedFragment extends TokenFragment {
  /** Whether each token is highlighted. */
  marked: boolean[];
}

/**
 * Judges whether a fragment's highlighted tokens are the ones the explanation describes (delphi-style fuzzing,
 * Paulo et al. 2024).
 */
export interface FuzzJudge {
  /** Backend name. */
  readonly name: string;
  /**
   * Probability that each fragment's highlighting matches the explanation.
   *
   * @param explanation The explanation.
   * @param fragments Fragments with highlighted tokens.
   * @param feature Which feature.
   * @returns One number in [0, 1] per fragment.
   */
  judge(explanation: Explanation, fragments: readonly MarkedFragment[], feature: FeatureRef): Promise<number[]>;
}

/** An explainer, simulator and detector sharing one name. */
export interface Backend {
  /** Recorded with every score. */
  readonly name: string;
  /** Explainer. */
  readonly explainer: Explainer;
  /** Simulator. */
  readonly simulator: Simulator;
  /** Detector (detection scoring is skipped without one). */
  readonly detector?: Detector;
  /** Fuzzing judge (fuzzing scoring is skipped without one). */
  readonly fuzzer?: FuzzJudge;
}

/** Fuzzing scores of one feature: how often the judge told correct highlighting from highlighting at random tokens. */
export interface FuzzingScore {
  /** Mean of the two per-class accuracies (chance is 0.5 whatever the class sizes). */
  balancedAccuracy: number;
  /** Fraction of correctly highlighted fragments judged correct. */
  correctAccuracy: number;
  /** Fraction of fragments highlighted at random tokens judged wrong. */
  fuzzedAccuracy: number;
  /** Correctly highlighted fragments judged. */
  nCorrect: number;
  /** Fragments highlighted at random tokens judged. */
  nFuzzed: number;
}

/** Detection scores of one feature. */
export interface DetectionScore {
  /** Fraction of fragments classified correctly at probability 0.5. */
  accuracy: number;
  /** ROC AUC of the probabilities. */
  auc: number;
  /** Fragments classified (positives + negatives). */
  n: number;
}

/** The scores of one feature under one backend. */
export interface FeatureScore {
  /** Dictionary name. */
  dict: string;
  /** Feature index. */
  index: number;
  /** Backend that explained and simulated. */
  backend: string;
  /** The explanation (empty when it failed). */
  explanation: string;
  /** Correlation of simulated and true activations over all held-out top and random fragments' tokens. */
  score: number | null;
  /** The same over the held-out top fragments only. */
  topScore: number | null;
  /** The same over the held-out random fragments only. */
  randomScore: number | null;
  /** Detection scores, when a detector ran and both classes were present. */
  detection: DetectionScore | null;
  /** Fuzzing scores, when the fuzzing scorer ran. */
  fuzzing?: FuzzingScore | null;
  /** How each held-out fragment was simulated, in the (shuffled) order they were shown, when the simulator said. */
  simulated?: { role: "top" | "random"; method: SimulationMethod }[];
  /** Each held-out fragment: its list, its place in it and the simulated activations, in the order simulated. */
  heldOut?: HeldOutSimulation[];
  /** Why the feature could not be scored (too few fragments, an unparseable answer, …). */
  error?: string;
}
