/**
 * End-of-training metrics of every sweep member on held-out rows, computed
 * on the GPU with the same forward kernels as training: MSE, fraction of
 * variance unexplained, L0, L1, loss, dead fraction (features that never fire
 * on the held-out set), and the MMCS between each dictionary and the one of
 * twice its size with the same variant and α.
 *
 * This is the sweep's fast path (every member in one pass over the held-out batches, through the
 * trainer's own kernels); `@saelab/dictionary`'s `evaluateDictionary` is the one evaluator of any
 * dictionary, and the tests check that both agree.
 *
 * @module
 */
import { sparsityLoss } from "./kinds/mod.ts";
import { InputMoments, mmcs, mmcsChance, mmcsLargerToSmaller } from "./metrics.ts";
import type { SaeSpec } from "./spec.ts";
import type { SweepTrainer } from "./sweep.ts";
import { featureDirections, type SaeWeights } from "./weights.ts";

/** Held-out metrics of one member. */
export interface MemberMetrics {
  /** Member name. */
  name: string;
  /** Its spec. */
  spec: Required<SaeSpec>;
  /** Held-out rows evaluated. */
  rows: number;
  /** Mean squared error over all elements. */
  mse: number;
  /** Fraction of variance unexplained: `Σ‖x − x̂‖² / Σ‖x − x̄‖²`. */
  fvu: number;
  /** Mean active features per row. */
  l0: number;
  /** Mean `Σ_j |c_j|` per row. */
  l1: number;
  /** `mse + α · l1` (`mse + α · l0` for kinds with learned per-feature thresholds, JumpReLU). */
  loss: number;
  /** Fraction of features that never fired on the held-out rows. */
  deadFraction: number;
  /** MMCS to the member with twice the features (same variant and α), or null when there is none. */
  mmcsToDouble: number | null;
  /** That member's name, or null. */
  doubleName: string | null;
}

/**
 * Evaluate every member of a sweep on held-out batches.
 *
 * @param trainer The sweep (its current weights are evaluated).
 * @param batches Held-out `[rows, dIn]` batches (rows a multiple of 4, at most the batch size).
 * @returns One entry per member, in member order.
 * @example
 * ```ts ignore
 * const metrics = await evaluateSweep(trainer, heldOutBatches);
 * console.table(metrics.map((m) => ({ name: m.name, fvu: m.fvu, l0: m.l0, dead: m.deadFraction })));
 * ```
 */
export async function evaluateSweep(
  trainer: SweepTrainer,
  batches: Iterable<Float32Array> | AsyncIterable<Float32Array>,
): Promise<MemberMetrics[]> {
  const gpu = trainer.groups[0].group.params.gpu;
  const d = trainer.dIn;
  const members = trainer.specs.length;
  const se = new Float64Array(members), l0 = new Float64Array(members), l1 = new Float64Array(members);
  const moments = new InputMoments(d);
  const fired = trainer.groups.map(({ group }) => gpu.zeros([group.fired.size], "u32", "sae.eval_fired"));
  const stats = trainer.groups.map(({ group }) =>
    gpu.zeros([group.specs.length * trainer.batchSize * 4], "f32", "sae.eval_stats")
  );
  try {
    for await (const x of batches) {
      const rows = trainer.stage(x);
      moments.add(x);
      const reads = trainer.groups.map(({ group }, g) => {
        group.forward(trainer.staged, rows, { fired: fired[g], step: 1 });
        group.stats(stats[g], rows);
        return gpu.readBuffer(stats[g].buffer, group.specs.length * rows * 16);
      });
      const results = await Promise.all(reads);
      results.forEach((bytes, g) => {
        const s = new Float32Array(bytes);
        trainer.groups[g].members.forEach((i, z) => {
          for (let b = 0; b < rows; b++) {
            se[i] += s[(z * rows + b) * 4];
            l0[i] += s[(z * rows + b) * 4 + 1];
            l1[i] += s[(z * rows + b) * 4 + 2];
          }
        });
      });
    }
    if (moments.rows === 0) throw new RangeError("Cannot evaluate a sweep: no held-out rows were given");
    const dead = new Float64Array(members);
    for (let g = 0; g < trainer.groups.length; g++) {
      const flags = await fired[g].read();
      const { group, members: idx } = trainer.groups[g];
      const n = group.layout.n;
      idx.forEach((i, z) => {
        let count = 0;
        for (let j = 0; j < n; j++) if (flags[z * n + j] === 0) count++;
        dead[i] = count / n;
      });
    }
    const weights = await trainer.weights();
    const doubles = doublePairs(trainer.specs);
    const rows = moments.rows, variance = moments.totalVariance;
    return trainer.specs.map((spec, i) => {
      const j = doubles[i];
      return {
        name: trainer.names[i],
        spec,
        rows,
        mse: se[i] / (rows * d),
        fvu: se[i] / variance,
        l0: l0[i] / rows,
        l1: l1[i] / rows,
        loss: se[i] / (rows * d) + sparsityLoss(spec, { l0: l0[i] / rows, l1: l1[i] / rows }),
        deadFraction: dead[i],
        mmcsToDouble: j < 0 ? null : dictionaryMmcs(weights[i], weights[j]),
        doubleName: j < 0 ? null : trainer.names[j],
      };
    });
  } finally {
    for (const t of [...fired, ...stats]) t.dispose();
  }
}

/**
 * MMCS between two dictionaries' unit feature directions (`a`'s features against `b`'s).
 *
 * @param a The smaller dictionary.
 * @param b The larger dictionary.
 * @returns Mean over `a`'s features of the best cosine with a feature of `b`.
 * @example
 * ```ts
 * import { dictionaryMmcs, initWeights } from "@saelab/sae";
 * const w = initWeights({ kind: "untied", dIn: 4, dDict: 8, l1: 0 });
 * if (Math.abs(dictionaryMmcs(w, w) - 1) > 1e-6) throw new Error("self MMCS is 1");
 * ```
 */
export function dictionaryMmcs(a: SaeWeights, b: SaeWeights): number {
  return mmcs(featureDirections(a), featureDirections(b), a.spec.dIn);
}

/** For each member, the index of the member of the same variant, α and k with twice its features, or -1. */
export function doublePairs(specs: readonly Required<SaeSpec>[]): number[] {
  return specs.map((s) =>
    specs.findIndex((t) => t.kind === s.kind && t.l1 === s.l1 && t.k === s.k && t.dDict === 2 * s.dDict)
  );
}

/**
 * For each member, the index of the member of the same variant, α and k at the next larger
 * dictionary size, or -1 (the largest size has none).
 *
 * @param specs The members.
 * @returns One index per member.
 * @example
 * ```ts
 * import { nextLargerPairs } from "@saelab/sae";
 * const base = {
 *   kind: "untied" as const, dIn: 4, l1: 1e-3, k: 0, decoderBias: false, l1Penalty: "paper" as const, prefixes: [],
 *   auxK: 0, auxAlpha: 1 / 32, deadWindow: 1e7,
 * };
 * const s = (dDict: number) => ({ ...base, dDict });
 * if (nextLargerPairs([s(4), s(16), s(8)]).join() !== "2,-1,1") throw new Error();
 * ```
 */
export function nextLargerPairs(specs: readonly Required<SaeSpec>[]): number[] {
  return specs.map((s) => {
    let best = -1;
    specs.forEach((t, j) => {
      if (t.kind !== s.kind || t.l1 !== s.l1 || t.k !== s.k || t.dDict <= s.dDict) return;
      if (best < 0 || t.dDict < specs[best].dDict) best = j;
    });
    return best;
  });
}

/** MMCS of a dictionary against the next larger one, both directions, and the chance level. */
export interface SizeMmcs {
  /** Seed-code direction: mean over the larger dictionary's features of the best cosine to the smaller's. */
  mmcs: number;
  /** The other direction: mean over the smaller dictionary's features of the best cosine to the larger's. */
  mmcsSmallerToLarger: number;
  /** {@linkcode mmcsChance} for random unit vectors of the same sizes. */
  mmcsChance: number;
}

/**
 * MMCS between a dictionary and a larger one (both directions) and its chance level.
 *
 * @param small The smaller member's weights.
 * @param large The larger member's weights.
 * @param options Seed and trials of the chance level (defaults 0 and 1).
 * @returns The three statistics.
 * @example
 * ```ts
 * import { initWeights, sizeMmcs } from "@saelab/sae";
 * const a = initWeights({ kind: "untied", dIn: 8, dDict: 8, l1: 0 }, { seed: 1 });
 * const b = initWeights({ kind: "untied", dIn: 8, dDict: 16, l1: 0 }, { seed: 2 });
 * const m = sizeMmcs(a, b);
 * if (!(m.mmcs > 0 && m.mmcs < 1 && m.mmcsChance > 0)) throw new Error();
 * ```
 */
export function sizeMmcs(
  small: SaeWeights,
  large: SaeWeights,
  options: { seed?: number; trials?: number } = {},
): SizeMmcs {
  const d = small.spec.dIn;
  const a = featureDirections(small), b = featureDirections(large);
  return {
    mmcs: mmcsLargerToSmaller(a, b, d),
    mmcsSmallerToLarger: mmcs(a, b, d),
    mmcsChance: mmcsChance({
      dIn: d,
      nSmall: small.spec.dDict,
      nLarge: large.spec.dDict,
      seed: options.seed ?? 0,
      trials: options.trials ?? 1,
    }),
  };
}
