/**
 * Float64 CPU reference of `sae_auxk.ts`'s selection, written from its definition.
 *
 * @module
 */

/**
 * The AuxK codes of one member: dead latents `step − fired_j > windowSteps`, `k_eff = min(kAux, dead)`,
 * per row the `k_eff` largest positive pre-activations among them (ties at the threshold all kept).
 *
 * @param pre Pre-activations `[rows, n]`.
 * @param options `fired [n]` last-fired steps, `n`, `kAux`, `step`, `windowSteps`.
 * @returns Aux codes `[rows, n]`, the dead mask and `σ = min(dead / kAux, 1)`.
 * @example
 * ```ts
 * import { auxkSelectRef } from "./sae_auxk_ref.ts";
 * const r = auxkSelectRef([0.5, 2, 3, -1], { fired: [0, 0, 9, 0], n: 4, kAux: 1, step: 10, windowSteps: 5 });
 * if (r.codes.join() !== "0,2,0,0" || r.sigma !== 1) throw new Error(r.codes.join());
 * ```
 */
export function auxkSelectRef(
  pre: ArrayLike<number>,
  options: { fired: ArrayLike<number>; n: number; kAux: number; step: number; windowSteps: number },
): { codes: Float64Array; dead: Uint8Array; sigma: number } {
  const { fired, n, kAux, step, windowSteps } = options;
  const dead = Uint8Array.from({ length: n }, (_, j) => (step - fired[j] > windowSteps ? 1 : 0));
  const count = dead.reduce((a, b) => a + b, 0);
  const k = Math.min(kAux, count);
  const codes = new Float64Array(pre.length);
  for (let b = 0; b < pre.length / n; b++) {
    const values: number[] = [];
    for (let j = 0; j < n; j++) if (dead[j] && pre[b * n + j] > 0) values.push(pre[b * n + j]);
    if (k === 0 || values.length === 0) continue;
    values.sort((x, y) => y - x);
    const cut = values[Math.min(k, values.length) - 1];
    for (let j = 0; j < n; j++) {
      const v = pre[b * n + j];
      if (dead[j] && v > 0 && v >= cut) codes[b * n + j] = v;
    }
  }
  return { codes, dead, sigma: Math.min(count / kAux, 1) };
}
