/**
 * Whether a member trained to a plateau, and the held-out probe that measures it.
 *
 * The rule (one place): a member has **converged** when its held-out FVU improved by less than
 * {@linkcode CONVERGENCE_TOLERANCE} (2%) relative from {@linkcode CONVERGENCE_FROM} (80%) of its
 * steps to the end: `(fvu(0.8·S) − fvu(S)) / fvu(0.8·S) < 0.02`. The FVU is measured during
 * training on a fixed subset of held-out rows ({@linkcode heldOutFvu}), so it does not move with
 * the training batches.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import type { SweepTrainer } from "./sweep.ts";

/** Fraction of the steps from which the improvement is measured. */
export const CONVERGENCE_FROM = 0.8;
/** Largest relative improvement of held-out FVU over the last steps that still counts as a plateau. */
export const CONVERGENCE_TOLERANCE = 0.02;

/** A held-out FVU measured at a step. */
export interface FvuPoint {
  /** Steps taken when it was measured. */
  step: number;
  /** Held-out fraction of variance unexplained. */
  fvu: number;
}

/** The verdict of {@linkcode convergence}. */
export interface Convergence {
  /** True when the relative improvement is below the tolerance; null when fewer than two points exist. */
  converged: boolean | null;
  /** `(fvu(from) − fvu(end)) / fvu(from)`, or null. */
  improvement: number | null;
  /** The step the improvement is measured from, or null. */
  fromStep: number | null;
  /** The last step measured, or null. */
  endStep: number | null;
}

/**
 * Judge convergence from held-out FVU points: the improvement from the last point at or before
 * `from` × the last step (the first point when none is) to the last point.
 *
 * @param points Held-out FVU by step (any order; a step measured twice keeps its last value).
 * @param options `from` (default 0.8) and `tolerance` (default 0.02).
 * @returns Whether the member converged, and the improvement it was judged on.
 * @example
 * ```ts
 * import { convergence } from "@saelab/sae";
 * const c = convergence([{ step: 80, fvu: 0.2 }, { step: 100, fvu: 0.199 }]);
 * if (c.converged !== true) throw new Error("0.5% is a plateau");
 * ```
 */
export function convergence(
  points: readonly FvuPoint[],
  options: { from?: number; tolerance?: number } = {},
): Convergence {
  const byStep = new Map<number, number>();
  for (const p of points) if (Number.isFinite(p.fvu)) byStep.set(p.step, p.fvu);
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  if (steps.length < 2) return { converged: null, improvement: null, fromStep: null, endStep: null };
  const end = steps[steps.length - 1];
  const limit = (options.from ?? CONVERGENCE_FROM) * end;
  const from = steps.filter((s) => s <= limit + 1e-9 && s < end).pop() ?? steps[0];
  const a = byStep.get(from)!, b = byStep.get(end)!;
  const improvement = a > 0 ? (a - b) / a : 0;
  return {
    converged: improvement < (options.tolerance ?? CONVERGENCE_TOLERANCE),
    improvement,
    fromStep: from,
    endStep: end,
  };
}

/**
 * The steps at which held-out FVU is measured: every `fraction` of the steps (at least every step), and the last.
 *
 * @param steps Total steps.
 * @param fraction Spacing as a fraction of the steps. Default 0.05.
 * @returns The interval in steps.
 * @example
 * ```ts
 * import { probeInterval } from "@saelab/sae";
 * if (probeInterval(400) !== 20) throw new Error();
 * ```
 */
export function probeInterval(steps: number, fraction = 0.05): number {
  return Math.max(1, Math.round(steps * fraction));
}

/**
 * Record the held-out FVU of every member of a sweep on fixed rows, without waiting for the GPU:
 * the forward passes and read-backs are recorded now (between two training steps, so they see the
 * weights after the last one), and the returned promise resolves when they arrive.
 *
 * @param trainer The sweep.
 * @param probe Held-out rows at the training scale, in batches of at most `trainer.batchSize` rows
 *   (multiples of 4), their total variance `Σ‖x − x̄‖²` in float64, and a scratch `fired` tensor per group
 *   (so that the training's firing record is left alone; see {@linkcode HeldOutProbe}).
 * @returns FVU per member, in member order.
 * @example
 * ```ts ignore
 * using probe = new HeldOutProbe(trainer, rows);
 * const fvu = await heldOutFvu(trainer, probe);
 * ```
 */
export function heldOutFvu(trainer: SweepTrainer, probe: HeldOutProbe): Promise<Float64Array> {
  const gpu = trainer.groups[0].group.params.gpu;
  const reads: Promise<ArrayBuffer>[][] = trainer.groups.map(() => []);
  const sizes: number[] = [];
  for (const x of probe.batches) {
    const rows = trainer.stage(x);
    sizes.push(rows);
    trainer.groups.forEach(({ group }, g) => {
      group.forward(trainer.staged, rows, { fired: probe.fired[g], step: 1 });
      group.stats(probe.stats[g], rows);
      reads[g].push(gpu.readBuffer(probe.stats[g].buffer, group.specs.length * rows * 16));
    });
  }
  gpu.flush();
  return (async () => {
    const se = new Float64Array(trainer.specs.length);
    for (let g = 0; g < trainer.groups.length; g++) {
      const blocks = await Promise.all(reads[g]);
      blocks.forEach((bytes, k) => {
        const s = new Float32Array(bytes), rows = sizes[k];
        trainer.groups[g].members.forEach((i, z) => {
          for (let b = 0; b < rows; b++) se[i] += s[(z * rows + b) * 4];
        });
      });
    }
    return se.map((v) => v / probe.variance);
  })();
}

/** Fixed held-out rows and the scratch buffers {@linkcode heldOutFvu} uses. Dispose it when done. */
export class HeldOutProbe {
  /** The rows in batches of at most the trainer's batch size. */
  readonly batches: Float32Array[];
  /** `Σ‖x − x̄‖²` over all rows, float64. */
  readonly variance: number;
  /** Rows in all. */
  readonly rows: number;
  /** Scratch firing record per group. */
  readonly fired: Tensor<"u32">[];
  /** Scratch per-row statistics per group. */
  readonly stats: Tensor<"f32">[];

  /**
   * @param trainer The sweep the rows are for.
   * @param x `[rows, dIn]` held-out rows at the training scale (trimmed to a multiple of 4 rows).
   */
  constructor(trainer: SweepTrainer, x: Float32Array) {
    const d = trainer.dIn;
    const rows = Math.floor(x.length / d / 4) * 4;
    if (rows < 4) throw new RangeError(`Cannot probe held-out FVU: ${x.length / d} rows, fewer than 4`);
    this.rows = rows;
    this.batches = [];
    for (let at = 0; at < rows; at += trainer.batchSize) {
      this.batches.push(x.subarray(at * d, Math.min(rows, at + trainer.batchSize) * d));
    }
    const sum = new Float64Array(d), sq = new Float64Array(d);
    for (let e = 0; e < rows * d; e++) {
      sum[e % d] += x[e];
      sq[e % d] += x[e] * x[e];
    }
    let variance = 0;
    for (let i = 0; i < d; i++) variance += sq[i] - (sum[i] * sum[i]) / rows;
    this.variance = variance;
    const gpu = trainer.groups[0].group.params.gpu;
    this.fired = trainer.groups.map(({ group }) => gpu.zeros([group.fired.size], "u32", "sae.probe_fired"));
    this.stats = trainer.groups.map(({ group }) =>
      gpu.zeros([group.specs.length * trainer.batchSize * 4], "f32", "sae.probe_stats")
    );
  }

  /** Free the scratch buffers. */
  [Symbol.dispose](): void {
    for (const t of [...this.fired, ...this.stats]) t.dispose();
  }
}
