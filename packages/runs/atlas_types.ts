/**
 * Types of `features/<dict>/atlas/<shard>.json`: what the feature pages show for every feature of a
 * dictionary, sampled for scoring or not, from one pass over the held-out fragments. Shard `s` holds features
 * `s · ATLAS_SHARD_SIZE … (s + 1) · ATLAS_SHARD_SIZE − 1`.
 *
 * @module
 */
import type { Fragment, Histogram, LogitEffects } from "./feature_types.ts";

/** A token that a feature fires on, among the fragments its atlas entry holds. */
export interface TopToken {
  /** Decoded token. */
  token: string;
  /** Largest activation on it. */
  max: number;
  /** Positions where the feature fires on it. */
  count: number;
}

/**
 * Fragments whose peak activation falls in one interval of `[0, max]` (SAEDashboard's "activation quantiles",
 * which are equal-width intervals of the activation range, not quantiles of the distribution).
 */
export interface ActivationInterval {
  /** Lower bound (exclusive, except 0). */
  low: number;
  /** Upper bound (inclusive). */
  high: number;
  /** Fraction of the feature's positive activations (over all held-out tokens) inside the interval. */
  share: number;
  /** Fragments that fire inside the interval, cut around their peak. */
  fragments: Fragment[];
}

/** One feature's entry in the atlas. */
export interface AtlasEntry {
  /** Feature index. */
  index: number;
  /** Fraction of held-out tokens where the feature is non-zero. */
  density: number;
  /** Largest activation. */
  maxActivation: number;
  /** Mean activation where it fires. */
  meanActivation: number;
  /** Held-out fragments where it fires at least once. */
  fragments: number;
  /** Activation histogram over all held-out tokens. */
  histogram: Histogram;
  /** Top fragments by peak activation, cut around the peak (`Fragment.peak`). */
  top: Fragment[];
  /** Examples from equal-width intervals of the activation range, highest interval first. */
  intervals: ActivationInterval[];
  /** Tokens with the largest activations among the fragments above, largest first. */
  topTokens: TopToken[];
  /**
   * Direct effect of the decoder direction on the logits through the final LayerNorm weight and the unembedding
   * (absent when the hook is not in the residual stream or the model's unembedding could not be read).
   */
  logits?: LogitEffects;
}

/** `features/<dict>/atlas/<shard>.json`. */
export interface AtlasShard {
  /** Dictionary name. */
  dict: string;
  /** First feature of the shard. */
  first: number;
  /** Entries of features `first …`, in order. */
  features: AtlasEntry[];
}
