/**
 * Helpers of the ablation graph: choosing contexts, gathering their rows and
 * ranking the upstream features worth ablating.
 *
 * @module
 */
import { decoderRows, type Dictionary } from "./dictionary.ts";

/** Indices of the windows where a feature fires most (by its largest activation), at most `n`. */
export function contextsOf(act: Float32Array, T: number, n: number): number[] {
  const best: [number, number][] = [];
  for (let w = 0; w * T < act.length; w++) {
    let m = 0;
    for (let t = 0; t < T; t++) m = Math.max(m, act[w * T + t]);
    if (m > 0) best.push([w, m]);
  }
  return best.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n).map(([w]) => w).sort((a, b) => a - b);
}

/** Rows of chosen windows, each `span` values long. */
export function gather(all: Float32Array, chosen: number[], span: number): Float32Array {
  const out = new Float32Array(chosen.length * span);
  chosen.forEach((c, i) => out.set(all.subarray(c * span, (c + 1) * span), i * span));
  return out;
}

/** Upstream features active in the contexts, largest total contribution first, with their decoder rows. */
export async function rankCandidates(
  dict: Dictionary,
  codes: Float32Array,
  n: number,
): Promise<{ features: number[]; rows: Float32Array }> {
  const F = dict.dDict, total = new Float64Array(F);
  for (let i = 0; i < codes.length; i++) total[i % F] += Math.abs(codes[i]);
  const active = [...total.keys()].filter((j) => total[j] > 0);
  const rows = await decoderRows(dict, active);
  const w = dict.dIn;
  const score = active.map((j, a) => {
    let s = 0;
    for (let k = 0; k < w; k++) s += rows[a * w + k] ** 2;
    return total[j] * Math.sqrt(s);
  });
  const order = active.map((_, a) => a).sort((a, b) => score[b] - score[a] || active[a] - active[b]).slice(0, n);
  const out = new Float32Array(order.length * w);
  order.forEach((a, i) => out.set(rows.subarray(a * w, (a + 1) * w), i * w));
  return { features: order.map((a) => active[a]), rows: out };
}
