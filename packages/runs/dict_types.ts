/**
 * Types of the dictionaries a run holds: SAEs under `saes/<name>/` and baselines under
 * `baselines/<name>/`. Names are unique across both folders; `features/<name>/` and `scores.json`
 * use the same names.
 *
 * @module
 */

/**
 * `cfg.json` of a dictionary folder, in the SAELens layout (snake_case keys, as SAELens writes them;
 * `@saelab/dictionary` writes and reads every such folder).
 * The weights sit beside it in `sae_weights.safetensors`: `W_enc [d_in, d_sae]`, `b_enc [d_sae]`,
 * `W_dec [d_sae, d_in]`, `b_dec [d_in]`. SAELens 6 puts `model_name` and `hook_name` under `metadata`;
 * both places are accepted on read.
 */
export interface SaeCfg {
  /** Width of the activation the dictionary reads (the model's d_model for residual hooks). */
  d_in: number;
  /** Number of dictionary features. The dictionary ratio R is `d_sae / d_in`. */
  d_sae: number;
  /** TransformerLens hook name, e.g. `"blocks.2.hook_resid_post"`. */
  hook_name?: string;
  /** Layer of the hook. */
  hook_layer?: number;
  /** Model the dictionary was trained on. */
  model_name?: string;
  /**
   * SAELens architecture, as the SAE kind's registry entry (`@saelab/sae` `KINDS`) writes it:
   * `"standard"` for the ReLU SAEs of the paper (untied and tied), `"topk"` for TopK.
   */
  architecture?: string;
  /** Weight dtype in the safetensors file, e.g. `"float32"`. */
  dtype?: string;
  /** Activation function name, e.g. `"relu"`. */
  activation_fn_str?: string;
  /** Arguments of the activation function (TopK: `{ k }`). */
  activation_fn_kwargs?: { k?: number; [key: string]: unknown };
  /** SAE members: the kind's name in the registry (`"untied"`, `"tied"`, `"topk"`, …). */
  kind?: string;
  /** Whether `b_dec` is subtracted from the input before encoding. */
  apply_b_dec_to_input?: boolean;
  /** Input normalisation SAELens applied (`"none"` when none). */
  normalize_activations?: string;
  /** Tokens per context window used while harvesting. */
  context_size?: number;
  /** L1 coefficient α the SAE was trained with. */
  l1_coefficient?: number;
  /** SAELens 6 keeps model and hook facts here. */
  metadata?: { model_name?: string; hook_name?: string; hook_layer?: number; [key: string]: unknown };
  /** Baselines: which method made the dictionary (`"pca"`, `"ica"`, `"neurons"`, `"random"`). */
  method?: string;
  /** Further SAELens or project fields. */
  [key: string]: unknown;
}

/** Kind of a dictionary: a trained SAE or a baseline basis. */
export type DictKind = "sae" | "baseline";

/** Language-model losses with the hook's activation replaced, for the spliced-loss table. */
export interface SplicedLoss {
  /** Cross-entropy of the unmodified model (nats per token). */
  clean: number;
  /** Cross-entropy with the activation replaced by the dictionary's reconstruction. */
  spliced: number;
  /** Cross-entropy with the activation replaced by zeros. */
  zeroAblation: number;
}

/**
 * `eval.json` beside `cfg.json`: how well a dictionary reconstructs held-out activations.
 * One per sweep member and per baseline; the run page's frontier, dead-fraction, MMCS and
 * spliced-loss views read these.
 */
export interface DictEval {
  /** SAE or baseline. */
  kind: DictKind;
  /** Method: `"sae"` for SAEs, else the baseline's method (`"pca"`, `"ica"`, `"neurons"`, `"random"`). */
  method: string;
  /** Input width. */
  dIn: number;
  /** Number of features. */
  dSae: number;
  /** Dictionary ratio R = dSae / dIn (SAEs). */
  ratio?: number;
  /** L1 coefficient α (SAEs). */
  l1Coefficient?: number;
  /** Fraction of variance unexplained on held-out tokens. */
  fvu: number;
  /** Mean squared error per activation vector on held-out tokens. */
  mse?: number;
  /** Mean number of non-zero features per token. */
  l0: number;
  /** Fraction of features that never fired on the evaluation tokens. */
  deadFraction: number;
  /** Held-out tokens evaluated. */
  tokens?: number;
  /** The smallest firing density the evaluation can resolve: 1 / held-out tokens (a "dead" feature fires less). */
  deadResolution?: number;
  /** Fraction of features that fire on more than 10% of the evaluation tokens. */
  denseFraction?: number;
  /** Spliced-in language-model losses, when the model was available (older runs; newer ones also have the fields below). */
  splicedLoss?: SplicedLoss;
  /** Spliced minus clean next-token loss on held-out windows, nats (position 0 left out). */
  deltaCe?: number;
  /** Mean `KL(P_clean ‖ P_spliced)` of the next-token distributions, nats. */
  klDiv?: number;
  /**
   * `(L_mean − L_spliced) / (L_mean − L_clean)`: loss recovered against mean ablation of the hook
   * (null when the mean ablation does not change the loss).
   */
  lossRecovered?: number | null;
  /** `(L_zero − L_spliced) / (L_zero − L_clean)`: against zero ablation, the SAELens/SAEBench convention (or null). */
  lossRecoveredZero?: number | null;
  /** The reference losses the spliced metrics were measured against (nats per predicted token). */
  spliced?: SplicedReference;
  /** Training vectors seen in all, passes over the training rows counted (SAEs). */
  trainingVectors?: number;
  /** Distinct training rows among them (SAEs). */
  distinctVectors?: number;
  /**
   * Whether held-out FVU reached a plateau (improved < 2% relative over the last 20% of steps);
   * null for baselines and where it was not measured.
   */
  converged?: boolean | null;
  /** The relative held-out FVU improvement `converged` was judged on. */
  fvuImprovement?: number | null;
  /**
   * MMCS as the seed code defines it, against the `reference` dictionary (the same kind and α at the next
   * larger R): for each feature of the larger dictionary, the best cosine to a feature of the smaller,
   * averaged over the larger. Older runs hold the other direction here.
   */
  mmcs?: { reference: string; value: number };
  /** The chance level of `mmcs`: the same statistic for seeded random unit vectors of the same sizes. */
  mmcsChance?: number;
  /** The other direction: for each feature of this (smaller) dictionary, the best cosine to the reference's. */
  mmcsSmallerToLarger?: number;
}

/** The reference losses of the spliced metrics. */
export interface SplicedReference {
  /** Predicted positions scored (position 0 and the last of each window are not). */
  tokens: number;
  /** Loss of the clean model. */
  clean: number;
  /** Loss with the hook's activation set to the training rows' mean. */
  meanAblation: number;
  /** Loss with the hook's activation set to 0. */
  zeroAblation: number;
  /** Loss with this dictionary spliced in. */
  spliced: number;
}
