/**
 * Types of a run's top-level record (`run.json`) and of its training log (`metrics.jsonl`).
 *
 * @module
 */

/** Version of the run-folder format this package reads and writes. */
export const RUN_FORMAT_VERSION = 1;

/**
 * Where a whole run stands.
 *
 * - `running`: a process is writing the folder now (or died without saying so).
 * - `done`: every requested stage finished.
 * - `failed`: a stage threw; `error` says why.
 * - `interrupted`: stopped on request (Ctrl-C) after a checkpoint; a rerun resumes.
 */
export type RunStatus = "running" | "done" | "failed" | "interrupted";

/** Where one pipeline stage stands; `skipped` means its output was already on disk. */
export type StageStatus = "pending" | "running" | "done" | "failed" | "skipped" | "interrupted";

/** The state of one pipeline stage (`harvest`, `train`, `baselines`, `score`, …) inside a run. */
export interface StageRecord {
  /** Where the stage stands. */
  status: StageStatus;
  /** ISO 8601 time the stage (last) started. */
  started?: string;
  /** ISO 8601 time the stage finished, failed or was interrupted. */
  finished?: string;
  /** Work items completed so far (tokens, steps, features — the stage's own unit). */
  done?: number;
  /** Work items the stage expects in all, in the same unit as `done`. */
  total?: number;
  /** Unit of `done`/`total`, e.g. `"tokens"` or `"steps"`. */
  unit?: string;
  /** Error message when `status` is `failed`. */
  error?: string;
}

/** The language model a run reads activations from. */
export interface ModelInfo {
  /** Display name, e.g. `"EleutherAI/pythia-70m-deduped"` or the embedded default's name. */
  name: string;
  /** Folder of the Hugging Face model (config.json, safetensors, tokenizer.json); `null` when there is none. */
  path: string | null;
  /** True when the run used the small model the project generates and embeds, not a downloaded one. */
  isDefaultModel: boolean;
  /** Free text shown next to the model, e.g. what the default model is and is not good for. */
  note?: string;
  /**
   * Held-out next-token losses (nats) of the model and of its interpolated bigram baseline on the same
   * predictions, from the model folder's `training.json` when it has one: the reference level of ΔCE.
   */
  losses?: { model: number; bigram: number };
}

/** `run.json`: identity, configuration and progress of one run. Written atomically, rewritten as stages progress. */
export interface RunJson {
  /** Format version ({@linkcode RUN_FORMAT_VERSION}). */
  format: number;
  /** The run id; equals the folder name and matches `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`. */
  id: string;
  /** ISO 8601 creation time. */
  created: string;
  /** ISO 8601 time of the last rewrite of this file. */
  updated?: string;
  /** Where the run stands. */
  status: RunStatus;
  /** Why the run failed, when `status` is `failed`. */
  error?: string;
  /** True when the numbers were generated for tests and screenshots, not measured. */
  synthetic?: boolean;
  /** The merged configuration the run was started with (defaults, config file, flags). */
  config: Record<string, unknown>;
  /** The language model. */
  model: ModelInfo;
  /** TransformerLens hook name the dictionaries are trained on, e.g. `"blocks.2.hook_resid_post"`. */
  hook: string;
  /** Wall-clock seconds spent per stage name (summed over resumptions). */
  timings: Record<string, number>;
  /** State per stage name. */
  stages: Record<string, StageRecord>;
}

/**
 * One row of `metrics.jsonl`: a training measurement of one sweep member at one step.
 * Extra numeric fields are allowed and shown in tables.
 */
export interface MetricRow {
  /** Sweep member (= SAE folder name under `saes/`). */
  member: string;
  /** Optimiser step (0-based). */
  step: number;
  /** Total training loss: reconstruction MSE + α·L1. */
  loss: number;
  /** Mean squared reconstruction error per activation vector. */
  mse: number;
  /** Mean number of non-zero features per token. */
  l0: number;
  /** Mean L1 norm of the feature activations per token. */
  l1?: number;
  /** Fraction of variance unexplained, `Σ‖x − x̂‖² / Σ‖x − x̄‖²`. */
  fvu?: number;
  /** Fraction of features that did not fire in the recent window. */
  deadFraction?: number;
  /** Tokens seen so far by this member. */
  tokens?: number;
  /** Learning rate at this step. */
  lr?: number;
  /** Further measurements. */
  [key: string]: unknown;
}
