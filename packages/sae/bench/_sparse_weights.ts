/**
 * The benches' trained-sparsity weights, shared by `sae_bench.ts` and `sae_step_cpu.ts`.
 *
 * @module
 */
import { initWeights, type SaeSpec, type SaeWeights } from "@saelab/sae";

/**
 * Weights at initialisation (seed 1) whose encoder biases sit at minus each feature's `(1 − fire)` quantile of
 * pre-activations on `sample`, so that about `fire` of the codes fire (the sparsity of a trained SAE).
 *
 * @param spec The SAE (its encoder rows are used as they are: untied).
 * @param options `sample`: rows `[rows, dIn]`; `fire`: the fraction of codes meant to fire.
 * @returns The weights.
 * @example
 * ```ts
 * import { sparseWeights } from "./_sparse_weights.ts";
 * const spec = { kind: "untied" as const, dIn: 4, dDict: 8, l1: 1e-3 };
 * const sample = Float32Array.from({ length: 64 * 4 }, (_, e) => Math.sin(e));
 * console.log(sparseWeights(spec, { sample, fire: 0.25 }).encoderBias.length); // 8
 * ```
 */
export function sparseWeights(spec: SaeSpec, options: { sample: Float32Array; fire: number }): SaeWeights {
  const { sample, fire } = options;
  const w = initWeights(spec, { seed: 1 });
  const { dIn: d, dDict: n } = spec;
  const rows = sample.length / d;
  const pre = new Float32Array(rows);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < rows; b++) {
      let acc = 0;
      for (let i = 0; i < d; i++) acc += w.encoder[j * d + i] * sample[b * d + i];
      pre[b] = acc;
    }
    pre.sort();
    w.encoderBias[j] = -pre[Math.floor((1 - fire) * (rows - 1))];
  }
  return w;
}
