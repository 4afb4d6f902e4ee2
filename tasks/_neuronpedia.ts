/**
 * Feature data in the JSON that Neuronpedia's dashboard upload reads and SAEDashboard's Neuronpedia runner
 * writes: one batch file per dictionary (`{ model_id, layer, sae_set, features }`, each feature with its top
 * and sampled activation texts, logit effects, activation histogram and firing fraction), and the explanations
 * as Neuronpedia's explanation records (`modelId`, `layer`, `index`, `description`, …). The valibot schemas
 * below are written from those formats' documented field names; {@linkcode neuronpediaBatch} builds a batch
 * from a run's feature files and checks it against {@linkcode NEURONPEDIA_BATCH} before it is returned.
 *
 * How this project's fields map (and where they differ from a dashboard made by SAEDashboard):
 *
 * - each text's `qualifying_token_index` is its token of largest activation (the first of equals);
 * - top fragments are the bin "top activations" (`bin_min` −1, `bin_max` the feature's largest activation,
 *   `bin_contains` −1, as SAEDashboard marks that bin); fragments sampled at random where the feature fires
 *   are one interval bin from 0 to the largest activation, which holds every firing token (`bin_contains` 1);
 * - `freq_hist_data_bar_values` are the centres of the activation histogram's bins, `bar_heights` its counts
 *   (zeros left out, as SAEDashboard leaves them out);
 * - `pos_str`/`neg_str` are the logit effects of the decoder direction (empty when the run had no read-out);
 * - `n_tokens_in_prompt` is the run's window length (`context`, else the SAE's `context_size`, else the longest
 *   fragment), `n_prompts_total` the tokens the feature statistics were computed on divided by it, `dataset` the
 *   run's `corpus`;
 * - the logit histogram, neuron alignment, correlated neurons/features and decoder weight distribution are
 *   not computed here and are written empty.
 *
 * @module
 */
import * as v from "valibot";
import type { FeatureDetail, FeatureIndex, FeatureSummary, Fragment } from "@saelab/runs";

const finite = v.pipe(v.number(), v.finite());
const numbers = v.array(finite);
const strings = v.array(v.string());
const count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** One activation text of a feature (SAEDashboard's dashboard activation). */
export const NEURONPEDIA_ACTIVATION = v.pipe(
  v.strictObject({
    bin_min: finite,
    bin_max: finite,
    bin_contains: finite,
    tokens: strings,
    values: v.pipe(numbers, v.minLength(1)),
    qualifying_token_index: count,
  }),
  v.check((a) => a.tokens.length === a.values.length, "tokens and values have different lengths"),
  v.check((a) => a.qualifying_token_index < a.values.length, "qualifying_token_index is past the last token"),
);

/** One feature of a dashboard batch. */
export const NEURONPEDIA_FEATURE = v.pipe(
  v.strictObject({
    feature_index: count,
    neuron_alignment_indices: v.array(count),
    neuron_alignment_values: numbers,
    neuron_alignment_l1: numbers,
    correlated_neurons_indices: v.array(count),
    correlated_neurons_l1: numbers,
    correlated_neurons_pearson: numbers,
    correlated_features_indices: v.array(count),
    correlated_features_l1: numbers,
    correlated_features_pearson: numbers,
    neg_str: strings,
    neg_values: numbers,
    pos_str: strings,
    pos_values: numbers,
    frac_nonzero: v.pipe(finite, v.minValue(0), v.maxValue(1)),
    freq_hist_data_bar_values: numbers,
    freq_hist_data_bar_heights: numbers,
    logits_hist_data_bar_heights: numbers,
    logits_hist_data_bar_values: numbers,
    n_prompts_total: count,
    n_tokens_in_prompt: count,
    dataset: v.string(),
    decoder_weights_dist: numbers,
    activations: v.array(NEURONPEDIA_ACTIVATION),
  }),
  v.check((f) => f.pos_str.length === f.pos_values.length, "pos_str and pos_values have different lengths"),
  v.check((f) => f.neg_str.length === f.neg_values.length, "neg_str and neg_values have different lengths"),
  v.check(
    (f) => f.freq_hist_data_bar_values.length === f.freq_hist_data_bar_heights.length,
    "freq_hist_data_bar_values and freq_hist_data_bar_heights have different lengths",
  ),
);

/** A dashboard batch: the features of one dictionary (Neuronpedia calls the dictionary's set `sae_set`). */
export const NEURONPEDIA_BATCH = v.strictObject({
  model_id: v.pipe(v.string(), v.nonEmpty()),
  layer: count,
  sae_set: v.pipe(v.string(), v.nonEmpty()),
  /** Appended to the source id by Neuronpedia's importer when set (`<layer>-<set>__<suffix>`). */
  sae_id_suffix: v.nullable(v.string()),
  features: v.array(NEURONPEDIA_FEATURE),
});

/** One explanation, as Neuronpedia's explanation records name its fields. */
export const NEURONPEDIA_EXPLANATION = v.strictObject({
  modelId: v.pipe(v.string(), v.nonEmpty()),
  layer: v.pipe(v.string(), v.nonEmpty()),
  index: v.pipe(v.string(), v.regex(/^\d+$/)),
  description: v.string(),
  explanationModelName: v.string(),
  typeName: v.string(),
  /** This project's simulation score of the explanation (correlation, −1 … 1), when it was scored. */
  score: v.optional(v.pipe(finite, v.minValue(-1), v.maxValue(1))),
});

/** A dashboard batch. */
export type NeuronpediaBatch = v.InferOutput<typeof NEURONPEDIA_BATCH>;
/** One feature of a batch. */
export type NeuronpediaFeature = v.InferOutput<typeof NEURONPEDIA_FEATURE>;
/** One explanation record. */
export type NeuronpediaExplanation = v.InferOutput<typeof NEURONPEDIA_EXPLANATION>;

/** What a batch says about where its features come from. */
export interface BatchSource {
  /** Model id (the run's model name). */
  modelId: string;
  /** Layer of the hook. */
  layer: number;
  /** Dictionary name, written as `sae_set`. */
  saeSet: string;
  /** Corpus the texts come from. */
  dataset: string;
  /** Tokens per text window. */
  tokensPerPrompt: number;
}

/**
 * The layer of a TransformerLens hook name (`blocks.3.hook_resid_post` → 3).
 *
 * @param hook The hook name.
 * @returns The layer, or null when the name has none.
 * @example
 * ```ts
 * import { hookLayer } from "./_neuronpedia.ts";
 * if (hookLayer("blocks.3.mlp.hook_post") !== 3 || hookLayer("hook_embed") !== null) throw new Error();
 * ```
 */
export function hookLayer(hook: string): number | null {
  const m = /^blocks\.(\d+)\./.exec(hook);
  return m ? Number(m[1]) : null;
}

function activation(f: Fragment, bin: { min: number; max: number; contains: number }) {
  const top = f.acts.reduce((best, a, i) => (a > f.acts[best] ? i : best), 0);
  return {
    bin_min: bin.min,
    bin_max: bin.max,
    bin_contains: bin.contains,
    tokens: f.tokens,
    values: f.acts,
    qualifying_token_index: top,
  };
}

/**
 * One feature in the dashboard format: from its detail file when it has one, else from its line in
 * the index (no texts, no histogram).
 *
 * @param feature The detail, or the summary from `index.json`.
 * @param options Where the feature comes from, and how many prompts the statistics saw.
 * @returns The feature.
 * @example
 * ```ts
 * import { neuronpediaFeature } from "./_neuronpedia.ts";
 * const f = neuronpediaFeature({ index: 3, density: 0.1, maxActivation: 2 }, {
 *   source: { modelId: "m", layer: 1, saeSet: "d", dataset: "sotu", tokensPerPrompt: 64 }, prompts: 10,
 * });
 * if (f.feature_index !== 3 || f.activations.length !== 0) throw new Error();
 * ```
 */
export function neuronpediaFeature(
  feature: FeatureSummary | FeatureDetail,
  options: { source: BatchSource; prompts: number },
): NeuronpediaFeature {
  const detail = "top" in feature ? feature : null;
  const max = feature.maxActivation;
  const h = detail?.histogram;
  return {
    feature_index: feature.index,
    neuron_alignment_indices: [],
    neuron_alignment_values: [],
    neuron_alignment_l1: [],
    correlated_neurons_indices: [],
    correlated_neurons_l1: [],
    correlated_neurons_pearson: [],
    correlated_features_indices: [],
    correlated_features_l1: [],
    correlated_features_pearson: [],
    neg_str: detail?.logits?.negative.map((t) => t.token) ?? [],
    neg_values: detail?.logits?.negative.map((t) => t.value) ?? [],
    pos_str: detail?.logits?.positive.map((t) => t.token) ?? [],
    pos_values: detail?.logits?.positive.map((t) => t.value) ?? [],
    frac_nonzero: Math.min(1, Math.max(0, feature.density)),
    freq_hist_data_bar_values: h ? h.counts.map((_, i) => (h.edges[i] + h.edges[i + 1]) / 2) : [],
    freq_hist_data_bar_heights: h ? [...h.counts] : [],
    logits_hist_data_bar_heights: [],
    logits_hist_data_bar_values: [],
    n_prompts_total: options.prompts,
    n_tokens_in_prompt: options.source.tokensPerPrompt,
    dataset: options.source.dataset,
    decoder_weights_dist: [],
    activations: detail
      ? [
        ...detail.top.map((f) => activation(f, { min: -1, max, contains: -1 })),
        ...detail.random.map((f) => activation(f, { min: 0, max, contains: 1 })),
      ]
      : [],
  };
}

/**
 * A dictionary's features as one dashboard batch, checked against {@linkcode NEURONPEDIA_BATCH}.
 *
 * @param index The dictionary's `index.json`.
 * @param options Where the features come from, and the detail of each feature that has one.
 * @returns The batch.
 * @throws {TypeError} When the batch does not fit the format (naming the field).
 * @example
 * ```ts
 * import { neuronpediaBatch } from "./_neuronpedia.ts";
 * const b = neuronpediaBatch({ dict: "d", method: "sae", tokens: 640, features: [] }, {
 *   source: { modelId: "m", layer: 1, saeSet: "d", dataset: "sotu", tokensPerPrompt: 64 }, details: new Map(),
 * });
 * if (b.sae_set !== "d" || b.features.length !== 0) throw new Error();
 * ```
 */
export function neuronpediaBatch(
  index: FeatureIndex,
  options: { source: BatchSource; details: ReadonlyMap<number, FeatureDetail> },
): NeuronpediaBatch {
  const { source } = options;
  const prompts = source.tokensPerPrompt > 0 ? Math.round(index.tokens / source.tokensPerPrompt) : 0;
  const batch: NeuronpediaBatch = {
    model_id: source.modelId,
    layer: source.layer,
    sae_set: source.saeSet,
    sae_id_suffix: null,
    features: index.features.map((s) => neuronpediaFeature(options.details.get(s.index) ?? s, { source, prompts })),
  };
  return checked(NEURONPEDIA_BATCH, batch, `the Neuronpedia batch of ${source.saeSet}`);
}

/**
 * The explained features of a dictionary as Neuronpedia explanation records, checked against
 * {@linkcode NEURONPEDIA_EXPLANATION}. Neuronpedia names a dictionary's source `<layer>-<set>`.
 *
 * @param index The dictionary's `index.json`.
 * @param source Where the features come from.
 * @returns One record per feature with an explanation.
 * @example
 * ```ts
 * import { neuronpediaExplanations } from "./_neuronpedia.ts";
 * const [e] = neuronpediaExplanations(
 *   { dict: "d", method: "sae", tokens: 1, backend: "token-lookup", features: [{ index: 2, density: 0.1, maxActivation: 1, explanation: "commas" }] },
 *   { modelId: "m", layer: 1, saeSet: "d", dataset: "sotu", tokensPerPrompt: 64 },
 * );
 * if (e.index !== "2" || e.layer !== "1-d") throw new Error();
 * ```
 */
export function neuronpediaExplanations(index: FeatureIndex, source: BatchSource): NeuronpediaExplanation[] {
  return index.features.flatMap((f) =>
    f.explanation === undefined ? [] : [checked(NEURONPEDIA_EXPLANATION, {
      modelId: source.modelId,
      layer: `${source.layer}-${source.saeSet}`,
      index: String(f.index),
      description: f.explanation,
      explanationModelName: index.backend ?? "",
      typeName: index.backend ? `saelab ${index.backend}` : "saelab",
      ...(typeof f.score === "number" && Number.isFinite(f.score) ? { score: f.score } : {}),
    }, `the explanation of feature ${f.index} of ${source.saeSet}`)]
  );
}

/**
 * Check a value against one of the schemas of this module.
 *
 * @param schema The schema.
 * @param value The value.
 * @param what What the value is, for the message.
 * @returns The value.
 * @throws {TypeError} Naming the first field that does not fit.
 * @example
 * ```ts
 * import { checked, NEURONPEDIA_BATCH } from "./_neuronpedia.ts";
 * let message = "";
 * try { checked(NEURONPEDIA_BATCH, { model_id: "m", layer: -1, sae_set: "d", sae_id_suffix: null, features: [] }, "b"); }
 * catch (e) { message = (e as Error).message; }
 * if (!message.includes("layer")) throw new Error(message);
 * ```
 */
export function checked<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const out = v.safeParse(schema, value);
  if (out.success) return out.output;
  const issue = out.issues[0];
  const path = (issue.path ?? []).map((p) => String(p.key)).join(".");
  throw new TypeError(`Cannot write ${what}: ${path ? `${path}: ` : ""}${issue.message}`);
}
