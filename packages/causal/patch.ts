/**
 * Feature patching (Cunningham et al. 2023, Section 5 and Figure 3): how few
 * dictionary features, patched from a counterfactual prompt into the clean
 * one, carry the model's change of output.
 *
 * The model runs on the clean prompts. At the hook, every feature starts with
 * its counterfactual value; the reconstruction error of the clean activation
 * stays in place throughout, so the activation is
 * `x_clean − x̂(c_clean) + x̂(c_mixed)`. Over thresholds on a log grid
 * (1e-5 … 1, 50 of them), features are reverted to their clean values one at a
 * time in a seeded random order whenever that raises the divergence from the
 * counterfactual output by less than the threshold ({@linkcode greedySweep}).
 * Each threshold records the divergence, the mean L2 edit magnitude
 * `‖x_clean − x_patched‖` over the edited positions, and how many features are
 * still patched. A dictionary whose features match the model's variables
 * reaches a small divergence with few features and a small edit.
 *
 * The divergence is, per prompt pair at its read position and then averaged,
 * `KL(P_patched ‖ P_counterfactual)` — the direction of the authors' code
 * (`F.kl_div(log P_cf, log P_patched, log_target=True, reduction="batchmean")`
 * in `HoagyC/sparse_coding`, `ioi_feature_ident.py`); `kl: "counterfactual‖patched"`
 * gives the other one. Like that code, every position up to the read position
 * is edited by default.
 *
 * Candidate sets run a few at a time (the greedy sweep's batched speculation);
 * their KL is taken on the GPU and only one value and the two answer logits per
 * row come back ({@linkcode FeaturePatchingOptions.hostKl} gives the float64
 * host computation instead).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import type { ProgressFn } from "@saelab/runs";
import { logGrid } from "@saelab/sae";
import { EditState } from "./_edits.ts";
import { decoderRows, type Dictionary, encodeChunked } from "./dictionary.ts";
import type { Downstream } from "./downstream.ts";
import { type GreedyStep, greedySweep } from "./greedy.ts";
import { PatchScorer } from "./_patch_score.ts";
import { klRows, mean } from "./kl.ts";
import { answerPairs, type TaskRun } from "./task_run.ts";

/** Direction of the divergence. */
export type KlDirection = "patched‖counterfactual" | "counterfactual‖patched";

/** Options of {@linkcode featurePatching}. */
export interface FeaturePatchingOptions {
  /** Thresholds. Default: 50 on a log grid from 1e-5 to 1 ({@linkcode patchThresholds}). */
  thresholds?: number[];
  /** Seed of the visiting orders. Default 0. */
  seed?: number;
  /** `"all"`: edit every position up to the read position (default); `"read"`: only the read position. */
  positions?: "all" | "read";
  /** Direction of the KL divergence. Default `"patched‖counterfactual"`. */
  kl?: KlDirection;
  /** Most tokens per forward call; sets how many candidate sets run at once. Default 8192. */
  maxTokens?: number;
  /** Most bytes of logits per call (they stay on the GPU unless `hostKl`). Default 64 MiB. */
  maxLogitBytes?: number;
  /**
   * Candidate sets per forward call, at most. Default 4: on a software adapter a call costs little more
   * than the sets in it, so larger batches mostly add speculative sets that a misprediction discards
   * (on the default model 4 needed fewer CPU seconds than 2, 8, 16 or 64).
   */
  maxBatch?: number;
  /**
   * Read every patched row's logits back and take the KL on the host in float64 (the reference of the
   * default path, which takes it on the GPU with `klDiv` in float32 and reads back one value per row).
   * Default false.
   */
  hostKl?: boolean;
  /** Progress per threshold. */
  onProgress?: ProgressFn;
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** The state after one threshold. */
export interface PatchPointResult {
  /** The threshold. */
  threshold: number;
  /** Mean KL divergence over pairs. */
  kl: number;
  /** Mean L2 edit magnitude over the edited positions. */
  edit: number;
  /** Features still taken from the counterfactual. */
  patched: number;
  /** Features reverted to their clean value (of those that differ). */
  reverted: number;
  /** Mean logit difference of the patched output, when the task has answers. */
  logitDiff?: number;
  /** The features still patched (ascending), when at most 64. */
  features?: number[];
}

/** The patching curve of one dictionary. */
export interface FeaturePatchResult {
  /** Dictionary name. */
  dict: string;
  /** What made it (`Dictionary.kind`: `"sae"`, `"pca"`, …). */
  method: string;
  /** Features in the dictionary. */
  dDict: number;
  /** Features whose activation differs between the prompts on some edited position. */
  active: number;
  /** All differing features patched: the starting point. */
  start: { kl: number; edit: number; logitDiff?: number };
  /** One point per threshold, in increasing threshold order. */
  points: PatchPointResult[];
  /** Candidate sets evaluated and forward calls made. */
  evaluations: number;
  /** Batches of candidate sets. */
  calls: number;
  /** Wall time in seconds. */
  seconds: number;
}

interface Evaluation {
  value: number;
  kl: number;
  edit: number;
  logitDiff?: number;
}

/**
 * The default thresholds: 50 on a log grid from 1e-5 to 1.
 *
 * @returns The thresholds, increasing.
 * @example
 * ```ts
 * import { patchThresholds } from "@saelab/causal";
 * const t = patchThresholds();
 * if (t.length !== 50 || t[0] !== 1e-5 || Math.abs(t[49] - 1) > 1e-12) throw new Error("grid");
 * ```
 */
export function patchThresholds(): number[] {
  return logGrid(1e-5, 1, 50);
}

/**
 * Run the feature-patching sweep for one dictionary at the task's hook.
 *
 * @param down The model downstream of the task's hook.
 * @param run The task run (cached activations and outputs) at the same hook.
 * @param dict A dictionary of the hook's width.
 * @param options Thresholds, seed, positions, KL direction, batch limits, progress.
 * @returns The curve: per threshold, KL, edit magnitude and features still patched.
 * @throws {RangeError} When the hook or width does not match.
 * @example
 * ```ts ignore
 * const run = await runTask(model, task, { hook });
 * using down = await Downstream.create(model, hook, { weights: modelDir });
 * const curve = await featurePatching(down, run, sae, { seed: 0 });
 * console.log(curve.points.map((p) => [p.edit, p.kl, p.patched]));
 * ```
 */
export async function featurePatching(
  down: Downstream,
  run: TaskRun,
  dict: Dictionary,
  options: FeaturePatchingOptions = {},
): Promise<FeaturePatchResult> {
  const started = performance.now();
  if (down.hook !== run.hook) {
    throw new RangeError(`Cannot patch: the downstream runs from ${down.hook} but the task ran at ${run.hook}`);
  }
  if (dict.dIn !== run.width) {
    throw new RangeError(`Cannot patch with ${dict.name}: it reads ${dict.dIn} values, the hook has ${run.width}`);
  }
  const gpu: Gpu = down.model.gpu;
  const { width: w, vocabSize: v, groups } = run;
  const pairs = run.task.pairs.length;
  const thresholds = options.thresholds ?? patchThresholds();
  const reverse = options.kl === "counterfactual‖patched";
  const answers = answerPairs(run.task);

  // Rows of all groups, concatenated; each group is [G, T] positions.
  const offsets: number[] = [];
  let rows = 0;
  for (const g of groups) offsets.push(rows), rows += g.clean.length * g.length;
  const cat = (pick: (g: (typeof groups)[number]) => Float32Array) => {
    const out = new Float32Array(rows * w);
    groups.forEach((g, i) => out.set(pick(g), offsets[i] * w));
    return out;
  };
  const edited: boolean[] = [];
  for (const g of groups) {
    for (let s = 0; s < g.clean.length; s++) {
      for (let t = 0; t < g.length; t++) edited.push(options.positions === "read" ? t === g.length - 1 : true);
    }
  }
  const cClean = await encodeChunked(dict, cat((g) => g.xClean));
  const cCf = await encodeChunked(dict, cat((g) => g.xCounterfactual));
  const state = new EditState(cClean, cCf, { dDict: dict.dDict, width: w, edited });
  state.start(await decoderRows(dict, state.active));

  const tokens = rows; // tokens per candidate set
  const byTokens = Math.floor((options.maxTokens ?? 8192) / Math.max(1, tokens));
  const byLogits = Math.floor((options.maxLogitBytes ?? 64 * 2 ** 20) / (4 * v * pairs));
  const batch = Math.max(1, Math.min(byTokens, byLogits, options.maxBatch ?? 4));

  const scorer = new PatchScorer(run, { gpu, reverse, answers, host: options.hostKl === true });
  const evaluate = async (removals: number[][]): Promise<Evaluation[]> => {
    const edits = removals.map((r) => state.without(r));
    const k = removals.length;
    const kl = new Float64Array(k), diff = new Float64Array(k);
    await Promise.all(groups.map(async (g, gi) => {
      const n = g.clean.length, span = n * g.length * w;
      const act = new Float32Array(k * span); // [k·G, T, w]
      edits.forEach((e, c) => {
        const o = offsets[gi] * w;
        for (let i = 0; i < span; i++) act[c * span + i] = g.xClean[i] + e[o + i];
      });
      const shape = [k * n, g.length, w];
      const actT = gpu.upload(act, shape, "causal.patched");
      let pre: Tensor<"f32"> | undefined;
      if (down.needsResidPre && g.residPre) {
        const rep = new Float32Array(k * g.residPre.length);
        for (let c = 0; c < k; c++) rep.set(g.residPre, c * g.residPre.length);
        pre = gpu.upload(rep, [k * n, g.length, run.hidden], "causal.resid_pre");
      }
      const ids = Array.from({ length: k }, () => g.clean).flat();
      const { kl: rowKl, diff: rowDiff } = await scorer.score(down, { group: gi, ids, act: actT, residPre: pre });
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < n; i++) {
          kl[c] += rowKl[c * n + i] / pairs;
          if (rowDiff) diff[c] += rowDiff[c * n + i] / pairs;
        }
      }
    }));
    return edits.map((e, c) => ({
      value: kl[c],
      kl: kl[c],
      edit: state.magnitude(e),
      ...(answers ? { logitDiff: diff[c] } : {}),
    }));
  };

  const point = (s: GreedyStep<Evaluation>): PatchPointResult => ({
    threshold: s.threshold,
    kl: s.state.kl,
    edit: s.state.edit,
    patched: s.remaining.length,
    reverted: state.active.length - s.remaining.length,
    ...(s.state.logitDiff !== undefined ? { logitDiff: s.state.logitDiff } : {}),
    ...(s.remaining.length <= 64 ? { features: s.remaining } : {}),
  });
  let start: Evaluation, steps: GreedyStep<Evaluation>[];
  try {
    [start] = await evaluate([[]]);
    let done = 0;
    const report = (info: string) =>
      options.onProgress?.({ label: `patch ${dict.name}`, done, total: thresholds.length, unit: "thr", info });
    steps = await greedySweep({ evaluate, commit: (f) => state.revert(f) }, {
      features: state.active,
      thresholds,
      start,
      seed: options.seed ?? 0,
      batch,
      signal: options.signal,
      onBatch: (evaluations, remaining) => report(`${remaining} patched, ${evaluations} sets run`),
      onStep: (s) => {
        done++;
        report(`${s.remaining.length} patched, KL ${s.state.kl.toExponential(2)}`);
      },
    });
  } finally {
    scorer.dispose();
  }
  const last = steps[steps.length - 1];
  return {
    dict: dict.name,
    method: dict.kind,
    dDict: dict.dDict,
    active: state.active.length,
    start: { kl: start.kl, edit: start.edit, ...(start.logitDiff !== undefined ? { logitDiff: start.logitDiff } : {}) },
    points: steps.map(point),
    evaluations: (last?.evaluations ?? 0) + 1,
    calls: (last?.calls ?? 0) + 1,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * KL divergence of the unedited clean run from the counterfactual (every feature reverted), averaged over pairs.
 *
 * @param run A task run.
 * @param kl Direction. Default `"patched‖counterfactual"`.
 * @returns The mean divergence.
 * @example
 * ```ts ignore
 * const ceiling = cleanKl(run); // the curve's value when nothing is patched
 * ```
 */
export function cleanKl(run: TaskRun, kl: KlDirection = "patched‖counterfactual"): number {
  const v = run.vocabSize;
  const per = kl === "counterfactual‖patched"
    ? klRows(run.logProbCounterfactual, run.logProbClean, v)
    : klRows(run.logProbClean, run.logProbCounterfactual, v);
  return mean(per);
}
