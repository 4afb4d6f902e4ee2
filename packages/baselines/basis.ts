/**
 * The two simplest baselines: the **neuron basis** (each feature is one
 * coordinate of the hooked activation — for `mlp.hook_post`, one MLP neuron)
 * and **random** unit directions with a ReLU.
 *
 * @module
 */
import type { LinearDictionary } from "@saelab/dictionary";
import { signedBasisDictionary } from "./pca.ts";
import { gaussian, seededRandom } from "@saelab/core";

/** Options of {@linkcode neuronDictionary}. */
export interface NeuronOptions {
  /** Name. Default `"neurons"`. */
  name?: string;
  /**
   * ± split each coordinate into two non-negative features (for signed activations such as the residual
   * stream). Without it the features are `ReLU(x_i)` (for MLP neurons after GELU). Default true.
   */
  split?: boolean;
}

/**
 * The neuron basis: the identity over the hooked activation (not centred).
 *
 * @param d Activation width.
 * @param options Name and split.
 * @returns `2d` features with the split, else `d`.
 * @example
 * ```ts
 * import { neuronDictionary } from "@saelab/baselines";
 * const dict = neuronDictionary(3, { split: false });
 * if (dict.encodeHost(new Float32Array([1, -2, 3])).join() !== "1,0,3") throw new Error("ReLU of neurons");
 * ```
 */
export function neuronDictionary(d: number, options: NeuronOptions = {}): LinearDictionary {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`Cannot build a neuron basis of width ${d}`);
  const rows = Array.from({ length: d }, (_, i) => {
    const e = new Float64Array(d);
    e[i] = 1;
    return e;
  });
  const split = options.split ?? true;
  return signedBasisDictionary(rows, new Float64Array(d), {
    name: options.name ?? "neurons",
    kind: "neurons",
    split,
    relu: true,
    info: { split },
  });
}

/** Options of {@linkcode randomDictionary}. */
export interface RandomOptions {
  /** Name. Default `"random"`. */
  name?: string;
  /** Number of directions. Default `2d` (as many features as the ± split of a basis). */
  count?: number;
  /** Seed of the directions. Default 0. */
  seed?: number;
  /** Centre μ subtracted before projecting (the data mean). Default: zeros. */
  mean?: ArrayLike<number>;
}

/**
 * Random unit directions (uniform on the sphere, seeded) with a ReLU: `c_j = ReLU(r_j · (x − μ))`.
 *
 * @param d Activation width.
 * @param options Name, count, seed, centre.
 * @returns The dictionary; its decoder rows are the same directions.
 * @example
 * ```ts
 * import { randomDictionary } from "@saelab/baselines";
 * const dict = randomDictionary(4, { count: 3, seed: 1 });
 * const u = dict.directions();
 * if (Math.abs(u[0] ** 2 + u[1] ** 2 + u[2] ** 2 + u[3] ** 2 - 1) > 1e-6) throw new Error("unit");
 * ```
 */
export function randomDictionary(d: number, options: RandomOptions = {}): LinearDictionary {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`Cannot build random directions of width ${d}`);
  const count = options.count ?? 2 * d;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`Cannot build ${count} random directions`);
  const seed = options.seed ?? 0;
  const random = seededRandom(seed);
  const rows = Array.from({ length: count }, () => {
    const v = Float64Array.from({ length: d }, () => gaussian(random));
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  });
  const mean = options.mean ?? new Float64Array(d);
  if (mean.length !== d) {
    throw new RangeError(`Cannot centre random directions: mean has ${mean.length} values, not ${d}`);
  }
  return signedBasisDictionary(rows, mean, {
    name: options.name ?? "random",
    kind: "random",
    split: false,
    relu: true,
    info: { count, seed, centred: options.mean !== undefined },
  });
}
