/**
 * Dead-feature resampling (an option; the paper did not use it — the recipe
 * is Bricken et al. 2023's): features that have not fired for `deadAfter`
 * steps are re-initialised toward inputs the SAEs reconstruct poorly. For
 * each dead feature j an input row b is drawn with probability ∝ (its squared
 * error)², then `D_j = x_b/‖x_b‖`, `W_e[j] = 0.2 · mean‖W_e alive‖ · x_b/‖x_b‖`,
 * `b_e[j] = 0` (tied: `M_j = x_b/‖x_b‖`, `b_j = 0`; Gated also `r_mag[j] = b_mag[j] = 0`), and Adam's moments of
 * those parameters are zeroed.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
import { Rng } from "./_random.ts";
import type { SweepTrainer } from "./sweep.ts";
import type { SaeWeights } from "./weights.ts";

/** When to resample. */
export interface ResampleOptions {
  /** A feature is dead after this many steps without firing. */
  deadAfter: number;
  /** Seed of the row sampling. Default 0. */
  seed?: number;
}

/**
 * Resample the dead features of every member using a batch of inputs.
 * Waits for the GPU (call it every few thousand steps, not every step).
 *
 * @param trainer The sweep.
 * @param batch `[rows, dIn]` inputs to draw new directions from.
 * @param options `deadAfter` steps, `seed`.
 * @returns The number of features resampled, per member.
 * @example
 * ```ts ignore
 * if (step % 5000 === 0) await resampleDead(trainer, batch, { deadAfter: 2500 });
 * ```
 */
export async function resampleDead(
  trainer: SweepTrainer,
  batch: Float32Array,
  options: ResampleOptions,
): Promise<number[]> {
  const step = trainer.stepCount;
  const counts = new Array<number>(trainer.specs.length).fill(0);
  if (step < options.deadAfter) return counts;
  const gpu = trainer.groups[0].group.params.gpu;
  const d = trainer.dIn;
  const rows = trainer.stage(batch);
  const rng = new Rng(options.seed ?? step);
  for (const { group, members } of trainer.groups) {
    const n = group.layout.n, Z = members.length;
    const stats = gpu.zeros([Z * rows * 4], "f32", "sae.resample_stats");
    try {
      group.forward(trainer.staged, rows, { fired: group.fired, step });
      group.stats(stats, rows);
      const rowStats = await stats.read();
      const fired = await group.fired.read();
      const [params, m, v] = [await group.read("params"), await group.read("m"), await group.read("v")];
      let changed = false;
      for (let z = 0; z < Z; z++) {
        const dead: number[] = [];
        for (let j = 0; j < n; j++) if (step - fired[z * n + j] >= options.deadAfter) dead.push(j);
        if (dead.length === 0) continue;
        const weights = Float64Array.from({ length: rows }, (_, b) => rowStats[(z * rows + b) * 4] ** 2);
        const picks = sample(weights, dead.length, rng);
        reinit(params[z], [m[z], v[z]], dead, picks.map((b) => batch.subarray(b * d, (b + 1) * d)));
        for (const j of dead) fired[z * n + j] = step;
        counts[members[z]] = dead.length;
        changed = true;
      }
      if (changed) {
        group.write("params", params);
        group.write("m", m);
        group.write("v", v);
        gpu.flush();
        gpu.device.queue.writeBuffer(group.fired.buffer, 0, fired as Uint32Array<ArrayBuffer>);
      }
    } finally {
      stats.dispose();
    }
  }
  return counts;
}

/** Draw `count` indices with probability ∝ `weights` (uniform when all are zero). */
function sample(weights: Float64Array, count: number, rng: Rng): number[] {
  const cum = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) cum[i] = total += Number.isFinite(weights[i]) ? weights[i] : 0;
  return Array.from({ length: count }, () => {
    if (total <= 0) return rng.int(weights.length);
    const u = rng.uniform() * total;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  });
}

function reinit(w: SaeWeights, moments: SaeWeights[], dead: number[], rows: Float32Array[]): void {
  const { dIn: d, dDict: n } = w.spec;
  const deadSet = new Set(dead);
  let alive = 0, normSum = 0;
  for (let j = 0; j < n; j++) {
    if (deadSet.has(j)) continue;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += w.encoder[j * d + i] ** 2;
    normSum += Math.sqrt(ss);
    alive++;
  }
  const encScale = KINDS[w.spec.kind].tied ? 1 : 0.2 * (alive > 0 ? normSum / alive : 1);
  dead.forEach((j, q) => {
    const x = rows[q];
    const norm = Math.hypot(...x) || 1;
    for (let i = 0; i < d; i++) {
      w.encoder[j * d + i] = (encScale * x[i]) / norm;
      if (w.decoder) w.decoder[j * d + i] = x[i] / norm;
    }
    w.encoderBias[j] = 0;
    for (const key of KINDS[w.spec.kind].featureParams ?? []) w[key]![j] = 0; // Gated: r_mag = b_mag = 0, as at init
    for (const mo of moments) {
      mo.encoder.fill(0, j * d, (j + 1) * d);
      mo.encoderBias[j] = 0;
      mo.decoder?.fill(0, j * d, (j + 1) * d);
      for (const key of KINDS[w.spec.kind].featureParams ?? []) mo[key]![j] = 0;
    }
  });
}
