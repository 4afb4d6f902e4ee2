/**
 * The paper's greedy threshold sweep, evaluated in batches without changing
 * its result.
 *
 * Start with every feature in the set. For each threshold, in increasing
 * order, visit the features still in the set in a seeded random order and
 * remove one when that raises the objective by less than the threshold
 * (`new − current < threshold`); the set carries over to the next threshold.
 *
 * Each decision depends on the ones before it, so the sweep is sequential.
 * To batch it, the next `batch` candidates are evaluated at once under a
 * prediction of the earlier decisions (from what the same feature did last
 * time, else from the recent acceptance rate): candidate *m* is evaluated on
 * the current set minus the earlier candidates predicted to go, minus itself.
 * Decisions are then taken in order; at the first misprediction the rest of
 * the batch is discarded and evaluated again. A result whose set equals the
 * current one is remembered, so a pass that removes nothing costs nothing the
 * next time. The outcome is the same as evaluating one candidate at a time.
 *
 * @module
 */
import { seeded, shuffled } from "./_random.ts";

/** What the sweep needs from the thing being measured. */
export interface GreedyObjective<E extends { value: number }> {
  /**
   * Evaluate several sets at once: each is the current set minus the listed features.
   *
   * @param removals Per set, the features removed from the current set.
   * @returns One evaluation per set.
   */
  evaluate(removals: number[][]): Promise<E[]>;
  /** The sweep removed `feature` from the current set for good. */
  commit(feature: number): void;
}

/** The state after one threshold. */
export interface GreedyStep<E> {
  /** The threshold. */
  threshold: number;
  /** Evaluation of the current set. */
  state: E;
  /** Features still in the set, ascending. */
  remaining: number[];
  /** Evaluations made so far (all thresholds). */
  evaluations: number;
  /** Batches (objective calls) so far. */
  calls: number;
}

/** Options of {@linkcode greedySweep}. */
export interface GreedyOptions<E> {
  /** The starting set. */
  features: readonly number[];
  /** Thresholds; visited in increasing order. */
  thresholds: readonly number[];
  /** Evaluation of the full starting set. */
  start: E;
  /** Seed of the visiting orders. Default 0. */
  seed?: number;
  /** Most sets per objective call. Default 16; 1 evaluates one candidate at a time. */
  batch?: number;
  /** Called after each threshold. */
  onStep?: (step: GreedyStep<E>) => void;
  /** Called after each objective call with the evaluations so far and the features still in the set. */
  onBatch?: (evaluations: number, remaining: number) => void;
  /** Stops the sweep between batches (throws the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Run the greedy sweep.
 *
 * @param objective Evaluates sets and hears about removals.
 * @param options Starting set, thresholds, start value, seed, batch size.
 * @returns One step per threshold, in increasing threshold order.
 * @example Remove features whose removal costs little
 * ```ts
 * import { greedySweep } from "@saelab/causal";
 * const cost = [0.001, 5, 0.002]; // removing feature 1 is expensive
 * let current = new Set([0, 1, 2]);
 * const value = (s: Set<number>) => [0, 1, 2].filter((f) => !s.has(f)).reduce((a, f) => a + cost[f], 0);
 * const steps = await greedySweep({
 *   evaluate: (removals) => Promise.resolve(removals.map((r) => ({ value: value(new Set([...current].filter((f) => !r.includes(f)))) }))),
 *   commit: (f) => void (current = new Set([...current].filter((g) => g !== f))),
 * }, { features: [0, 1, 2], thresholds: [0.01, 1], start: { value: 0 } });
 * if (steps[1].remaining.join() !== "1") throw new Error("feature 1 stays");
 * ```
 */
export async function greedySweep<E extends { value: number }>(
  objective: GreedyObjective<E>,
  options: GreedyOptions<E>,
): Promise<GreedyStep<E>[]> {
  const batch = options.batch ?? 16;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`Cannot run the sweep: batch ${batch} is not ≥ 1`);
  const thresholds = [...options.thresholds].sort((a, b) => a - b);
  const rand = seeded(options.seed ?? 0);
  const set = new Set(options.features);
  let current = options.start;
  let version = 0;
  let evaluations = 0, calls = 0;
  const cache = new Map<number, { version: number; result: E }>();
  const lastDelta = new Map<number, number>();
  let recentAccepts = 1, recentTotal = 2; // starts by predicting removals
  const steps: GreedyStep<E>[] = [];

  const decide = (feature: number, result: E, threshold: number): boolean => {
    const delta = result.value - current.value;
    lastDelta.set(feature, delta);
    const accept = delta < threshold;
    recentAccepts = 0.9 * recentAccepts + (accept ? 1 : 0);
    recentTotal = 0.9 * recentTotal + 1;
    if (accept) {
      set.delete(feature);
      objective.commit(feature);
      current = result;
      version++;
    } else {
      cache.set(feature, { version, result });
    }
    return accept;
  };
  const predict = (feature: number, threshold: number): boolean => {
    const d = lastDelta.get(feature);
    return d !== undefined ? d < threshold : recentAccepts >= 0.5 * recentTotal;
  };

  for (const threshold of thresholds) {
    const order = shuffled([...set].sort((a, b) => a - b), rand);
    let p = 0;
    while (p < order.length) {
      options.signal?.throwIfAborted();
      const hit = cache.get(order[p]);
      if (hit && hit.version === version) {
        decide(order[p], hit.result, threshold);
        p++;
        continue;
      }
      const removals: number[][] = [], predicted: boolean[] = [], gone: number[] = [];
      for (let m = p; m < order.length && removals.length < batch; m++) {
        removals.push([...gone, order[m]]);
        const go = predict(order[m], threshold);
        predicted.push(go);
        if (go) gone.push(order[m]);
      }
      const results = await objective.evaluate(removals);
      evaluations += removals.length;
      calls++;
      options.onBatch?.(evaluations, set.size);
      for (let j = 0; j < removals.length; j++) {
        const accepted = decide(order[p], results[j], threshold);
        p++;
        if (accepted !== predicted[j]) break;
      }
    }
    const step = { threshold, state: current, remaining: [...set].sort((a, b) => a - b), evaluations, calls };
    steps.push(step);
    options.onStep?.(step);
  }
  return steps;
}
