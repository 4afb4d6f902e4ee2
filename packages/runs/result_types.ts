/**
 * Types of a run's result files: `scores.json` (interpretability per dictionary),
 * `patch.json` (feature-patching curves), `circuits.json` (feature graph across layers) and `toy.json` (the
 * ground-truth toy experiment).
 *
 * @module
 */
import type { DictKind } from "./dict_types.ts";

/** Interpretability of one dictionary: mean explanation score over its scored features. */
export interface DictScore {
  /** SAE or baseline. */
  kind: DictKind;
  /** Method label for the comparison chart (`"sae"`, `"pca"`, `"ica"`, `"neurons"`, `"random"`). */
  method: string;
  /** Mean correlation score over the scored features. */
  mean: number;
  /** 95% bootstrap confidence interval of the mean, `[low, high]`. */
  ci95: [number, number];
  /** Number of features scored. */
  n: number;
  /** Explainer/simulator backend that produced the scores, e.g. `"openai:gpt-4o-mini"` or `"token-lookup"`. */
  backend: string;
  /** What the score measures, in plain words. */
  measures?: string;
  /** The random-direction and neuron baselines' scores under the same backend (null where not scored). */
  references?: { random: ScoreReference | null; neurons: ScoreReference | null };
  /** The score against its references, in plain words (e.g. `"no better than random directions"`). */
  verdict?: string;
  /** Mean fuzzing balanced accuracy (chance 0.5) with its interval, when the fuzzing scorer ran. */
  fuzzing?: { balancedAccuracy: { mean: number; ci95: [number, number]; n: number } };
}

/** A reference level of a score: another dictionary's mean score with its interval. */
export interface ScoreReference {
  /** The reference dictionary's name. */
  dict: string;
  /** Its mean score. */
  mean: number;
  /** Its 95% interval. */
  ci95: [number, number];
  /** Its scored features. */
  n: number;
}

/** `scores.json`. */
export interface ScoresJson {
  /** Score per dictionary name (the newest backend's). */
  dicts: Record<string, DictScore>;
  /** Every backend's scores, by backend then dictionary name. */
  backends?: Record<string, Record<string, DictScore>>;
}

/** One point of a patching curve. */
export interface PatchPoint {
  /** Number of features (or directions) patched. */
  k: number;
  /** Metric value after patching `k` of them. */
  value: number;
  /** Feature patching: the sweep's threshold at this point. */
  threshold?: number;
  /** Feature patching: mean L2 edit magnitude `‖x_clean − x_patched‖` at the hook. */
  edit?: number;
  /** Feature patching: features reverted to their clean value. */
  reverted?: number;
  /** Feature patching: mean logit difference of the patched output. */
  logitDiff?: number;
  /** Feature patching: the features still patched, when few. */
  features?: number[];
}

/** The patching curve of one dictionary. */
export interface PatchCurve {
  /** Dictionary name. */
  dict: string;
  /** Method label. */
  method: string;
  /** Points in increasing `k` (feature patching: in increasing threshold). */
  points: PatchPoint[];
  /** Feature patching: features whose activation differs between the prompts. */
  active?: number;
  /** Feature patching: the starting point, every differing feature patched. */
  start?: { kl: number; edit: number; logitDiff?: number };
}

/** `patch.json`: how a task metric moves as more features are patched from a counterfactual run. */
export interface PatchJson {
  /** Task name, e.g. `"ioi"`. */
  task: string;
  /** Metric name, e.g. `"logit difference"`. */
  metric: string;
  /** Metric on the clean input, for reference. */
  clean?: number;
  /** Metric on the fully patched (counterfactual) input, for reference. */
  patched?: number;
  /** One curve per dictionary. */
  curves: PatchCurve[];
  /** Hook the dictionaries read. */
  hook?: string;
  /** Prompt pairs. */
  pairs?: number;
  /** Mean logit difference (clean answer minus counterfactual answer) on each prompt set, before patching. */
  logitDiff?: { clean: number; counterfactual: number };
  /** Fraction of pairs the model gets right both ways. */
  accuracy?: number;
}

/** A feature in the circuit graph. */
export interface CircuitNode {
  /** Unique id, e.g. `"L2/sae_r4/17"`. */
  id: string;
  /** Layer of the dictionary's hook. */
  layer: number;
  /** Dictionary name. */
  dict: string;
  /** Feature index. */
  feature: number;
  /** Short label (e.g. the explanation). */
  label?: string;
}

/** An effect of one feature on a later one. */
export interface CircuitEdge {
  /** Upstream node id. */
  source: string;
  /** Downstream node id. */
  target: string;
  /** Signed effect size of ablating the source on the target. */
  weight: number;
}

/** `circuits.json`: features connected by ablation effects across layers. */
export interface CircuitsJson {
  /** What `weight` measures. */
  metric?: string;
  /** Nodes. */
  nodes: CircuitNode[];
  /** Edges from earlier to later layers. */
  edges: CircuitEdge[];
}

/** One member of `toy.json`: an SAE trained on toy data whose feature directions are known. */
export interface ToyJsonMember {
  /** Member name. */
  name: string;
  /** SAE variant (`untied`, `tied`). */
  kind: string;
  /** Dictionary ratio R = d_sae / d. */
  ratio: number;
  /** L1 coefficient α. */
  l1: number;
  /** Mean active features per held-out row. */
  l0: number;
  /** Fraction of features that never fire on the held-out rows. */
  deadFraction: number;
  /** Mean over the true features of the best cosine with a learned feature. */
  mmcsTruth: number;
  /** MMCS with the member of the same kind and α at the next-larger R; null for the largest. */
  mmcsBetween: number | null;
  /**
   * The same mean over the next-larger member's live latents only (those that fire on the held-out rows); null for
   * the largest; absent in files written before it was measured.
   */
  mmcsBetweenAlive?: number | null;
  /**
   * How many latents of that next-larger member fire on the held-out rows; null for the largest; absent in files
   * written before it was measured.
   */
  largerAlive?: number | null;
}

/** A chance level of `toy.json` for one ratio R: the statistic for random unit vectors of the same sizes. */
export interface ToyChance {
  /** The ratio R (for `betweenChance`, the smaller of the pair). */
  ratio: number;
  /** The chance value. */
  value: number;
}

/** What one kind of a toy sweep recovered: its member chosen without ground truth against its best one. */
export interface ToyJsonKind {
  /** SAE variant. */
  kind: string;
  /** The member of this kind that the choice rule (no ground truth) picks. */
  chosen: string;
  /** Its MMCS with the true features. */
  chosenMmcsTruth: number;
  /** Chance level of that MMCS at its ratio (null when the sweep has none for it). */
  chance: number | null;
  /** The member of this kind with the highest MMCS with the true features (known only with ground truth). */
  best: string;
  /** Its MMCS with the true features. */
  bestMmcsTruth: number;
  /** Whether the chosen member recovered the features (MMCS with the truth ≥ 0.9). */
  recovered: boolean;
  /** Whether the choice picked well: the chosen member recovered the features, or none of this kind did and it is the best. */
  pickedWell: boolean;
}

/**
 * The comparison-only dictionaries of a toy sweep (`toy --partner-ratio`): one per kind and α at a ratio above the
 * largest member's, trained with the members only so that the largest has a next-larger dictionary to be compared
 * with (its MMCS between sizes and `largerAlive`). Never a candidate of the choice.
 */
export interface ToyJsonPartner {
  /** Their ratio R = d_sae / d. */
  ratio: number;
  /** Chance level of their MMCS with the truth (absent in files written before it was recorded). */
  truthChance?: number;
  /** Per kind and α: name, L0, dead fraction and MMCS with the truth (for inspection; no choice reads them). */
  members: Omit<ToyJsonMember, "mmcsBetween" | "mmcsBetweenAlive" | "largerAlive">[];
}

/** `toy.json`: the ground-truth toy sweep, and the member the signals without ground truth pick. */
export interface ToyJson {
  /** Per member, in order kind, R, α. */
  members: ToyJsonMember[];
  /** Name of the member chosen by MMCS between sizes, dead features and L0. */
  chosen: string;
  /** Per kind, in sweep order: its chosen and best members (absent in files written before kinds were compared). */
  kinds?: ToyJsonKind[];
  /** Chance level of `mmcsTruth` per R. */
  truthChance?: ToyChance[];
  /** Chance level of `mmcsBetween` per R. */
  betweenChance?: ToyChance[];
  /** The toy data's settings (`d`, `features`, `meanActive`, `decay`, `correlated`, `seed`). */
  toy?: Record<string, unknown>;
  /**
   * How the members were trained (`steps`, `batchSize`, `lr`, `vectors`, `heldOutRows`, …) and the comparison-only
   * `partner` dictionaries (null: none trained; absent in files written before they were).
   */
  training?: Record<string, unknown> & { partner?: ToyJsonPartner | null };
  /** The thresholds of the choice rule. */
  choose?: Record<string, unknown>;
}
