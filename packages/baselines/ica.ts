/**
 * An ICA as a dictionary: feature j reads source `s_j = U_j · (x − μ)` scaled
 * by `‖a_j‖` so that its decoder row `a_j / ‖a_j‖` has unit length; with the
 * ± split (default) the two signs of each source are separate non-negative
 * features, and "ICA top-k" keeps the k largest per row. Components are
 * ordered by the variance they carry (`‖a_j‖²`), and each one's sign is fixed
 * so that the largest entry of `a_j` is positive.
 *
 * @module
 */
import type { LinearDictionary } from "@saelab/dictionary";
import type { Ica } from "./fastica.ts";
import { signedBasisDictionary } from "./pca.ts";

/** Options of {@linkcode icaDictionary}. */
export interface IcaDictionaryOptions {
  /** Name. Default `"ica"`, or `"ica_topk"` with `k`. */
  name?: string;
  /** ± split into non-negative features. Default true. */
  split?: boolean;
  /** Keep the k largest features per row (requires the split). */
  k?: number;
}

/**
 * Build the dictionary of a fitted ICA.
 *
 * @param ica The fitted ICA.
 * @param options Name, split, top-k.
 * @returns `2c` features with the split, else `c`; with all `d` components and the split it reconstructs exactly.
 * @throws {RangeError} When `k` is asked without the split.
 * @example
 * ```ts ignore
 * import { fastIca, icaDictionary } from "@saelab/baselines";
 * const ica = await fastIca(gpu, rows, { d: 128 });
 * const dict = icaDictionary(ica, { k: 12 }); // ICA top-k
 * ```
 */
export function icaDictionary(ica: Ica, options: IcaDictionaryOptions = {}): LinearDictionary {
  const { d, components: c } = ica;
  const split = options.split ?? true;
  if (options.k !== undefined && !split) {
    throw new RangeError("Cannot build ICA top-k without the ± split: top-k keeps the largest magnitudes");
  }
  const parts = Array.from({ length: c }, (_, j) => {
    const a = Float64Array.from(ica.mixing.subarray(j * d, (j + 1) * d));
    const u = Float64Array.from(ica.unmixing.subarray(j * d, (j + 1) * d));
    const norm = Math.hypot(...a);
    let big = 0;
    for (let i = 1; i < d; i++) if (Math.abs(a[i]) > Math.abs(a[big]) + 1e-12) big = i;
    const sign = a[big] < 0 ? -1 : 1;
    return {
      norm,
      encode: u.map((v) => sign * v * norm),
      decode: a.map((v) => (sign * v) / (norm || 1)),
    };
  }).sort((p, q) => q.norm - p.norm);
  return signedBasisDictionary(parts.map((p) => p.encode), ica.mean, {
    name: options.name ?? (options.k !== undefined ? "ica_topk" : "ica"),
    kind: options.k !== undefined ? "ica_topk" : "ica",
    split,
    k: options.k,
    decodeRows: parts.map((p) => p.decode),
    info: {
      components: c,
      split,
      rows: ica.rows,
      algorithm: ica.algorithm,
      iterations: ica.iterations,
      converged: ica.converged,
      change: ica.change,
    },
  });
}
