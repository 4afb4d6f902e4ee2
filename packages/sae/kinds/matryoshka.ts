/**
 * `matryoshka` (Bussmann et al. 2025, "Learning Multi-Level Features with Matryoshka Sparse
 * Autoencoders"): BatchTopK codes (`batchtopk`: the `k·B` largest ReLU'd pre-activations of a
 * batch in training, a JumpReLU at the learned `θ` after) with nested dictionary prefixes
 * `m_1 < … < m_{L−1} < m_L = dDict`. The loss sums one reconstruction error per level, level `i`
 * decoding the codes of its first `m_i` features only:
 * `Σ_i mean((x − (D̂[:m_i]ᵀ c[:m_i] + b_dec))²)`, each term this project's MSE (a mean over all
 * elements, as the paper's SAEs; SAELens sums over `d_in` and averages over rows). The codes of an
 * inner level are the full codes cut to its prefix, as in the paper, its authors' code and SAELens'
 * `MatryoshkaBatchTopKTrainingSAE` (since SAELens PR #571 aligned it with dictionary_learning; its
 * first version ran BatchTopK again on the prefix's pre-activations).
 * AuxK on dead latents when asked (`--aux-k`), on the full reconstruction's residual. Default prefixes: 1/8, 1/4 and 1/2 of `dDict`
 * ({@linkcode MATRYOSHKA_FRACTIONS}; `--prefixes`). Written for SAELens as its matryoshka BatchTopK
 * training SAE exports itself: a `jumprelu` SAE with a `threshold` tensor (all `θ`), and in
 * `metadata` the training architecture `matryoshka_batchtopk` with its `matryoshka_widths` (the
 * full dictionary last), `k` and `topk_threshold_lr`.
 *
 * On the toy data (`deno task toy`: d 32, 64 true features of nearly equal frequency, no hierarchy among
 * them) the inner level must learn every feature with as many latents as there are features. With the
 * encoder drawn apart from the decoder it left about a third of them dead (44 of 64 live) and R 4 reached
 * MMCS 0.829–0.835 to the truth over seeds 0–2 (chance 0.44); from the fixed-k kinds' start (each encoder row
 * its decoder row, `transposeInit`) R 4 reached 0.927 / 0.928 / 0.912 in `deno task toy --kinds
 * untied,tied,topk,batchtopk,jumprelu,gated,matryoshka --seed S`, BatchTopK 0.971–0.979. Each further
 * inner level costs recovery there (default prefixes, the encoder drawn apart: R 4 0.778, R 8 0.838 after
 * `--steps 3200`), so `deno task toy` nests one inner level at 1/2 by default (`TOY_SWEEP_DEFAULTS.prefixes`);
 * `train` keeps 1/8, 1/4, 1/2.
 *
 * @module
 */
import { MAX_NESTED_LEVELS } from "@saelab/kernels";
import { batchtopk, TOPK_THRESHOLD_LR } from "./batchtopk.ts";
import { cfgKindName, fixedKFields, type SaeKindDef } from "./kind.ts";
import type { SaeSpec } from "../spec.ts";

/** Default nested prefixes, as fractions of `dDict` (each level twice the one before). */
export const MATRYOSHKA_FRACTIONS: readonly number[] = Object.freeze([0.125, 0.25, 0.5]);

/**
 * Prefix sizes from fractions of a dictionary: `round(f · dDict)`, at least 1, sizes that repeat
 * or reach `dDict` dropped.
 *
 * @param dDict Features of the whole dictionary.
 * @param fractions Fractions in (0, 1). Default {@linkcode MATRYOSHKA_FRACTIONS}.
 * @returns Ascending prefix sizes below `dDict`.
 * @throws {RangeError} When a fraction is not in (0, 1).
 * @example
 * ```ts
 * import { nestedPrefixes } from "@saelab/sae";
 * if (nestedPrefixes(128).join() !== "16,32,64") throw new Error("defaults");
 * if (nestedPrefixes(4, [0.1, 0.2, 0.9]).join() !== "1") throw new Error("rounded, deduplicated");
 * ```
 */
export function nestedPrefixes(dDict: number, fractions: readonly number[] = MATRYOSHKA_FRACTIONS): number[] {
  const bad = fractions.find((f) => !(f > 0 && f < 1));
  if (bad !== undefined) {
    throw new RangeError(`Cannot nest a Matryoshka dictionary: prefix fraction ${bad} is not in (0, 1)`);
  }
  const sizes = fractions.map((f) => Math.max(1, Math.round(f * dDict))).filter((m) => m < dDict);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function resolvePrefixes(spec: SaeSpec): number[] {
  const prefixes = spec.prefixes ? [...spec.prefixes] : nestedPrefixes(spec.dDict);
  const ok = prefixes.every((m, i) =>
    Number.isInteger(m) && m >= 1 && m < spec.dDict && (i === 0 || m > prefixes[i - 1])
  );
  if (!ok || prefixes.length + 1 > MAX_NESTED_LEVELS) {
    throw new RangeError(
      `Cannot build a Matryoshka SAE: prefixes ${prefixes.join(", ")} must be whole numbers rising from 1 ` +
        `below dDict ${spec.dDict}, at most ${MAX_NESTED_LEVELS - 1} of them`,
    );
  }
  return prefixes;
}

/** Matryoshka BatchTopK SAE. */
export const matryoshka: SaeKindDef = Object.freeze(
  {
    name: "matryoshka",
    summary: "BatchTopK codes, the loss summed over nested dictionary prefixes (Bussmann et al. 2025)",
    ...fixedKFields("Matryoshka"),
    nameTail: (spec) => `k${spec.k}_m${spec.prefixes.join("-")}`,
    activate: batchtopk.activate,
    batch: batchtopk.batch,
    gpu: batchtopk.gpu,
    nested: { resolve: resolvePrefixes, prefixes: nestedPrefixes },
    saelens: {
      cfg: (spec) => ({
        architecture: "jumprelu",
        activation_fn_str: "relu",
        metadata: {
          training_architecture: "matryoshka_batchtopk",
          k: spec.k,
          topk_threshold_lr: TOPK_THRESHOLD_LR,
          matryoshka_widths: [...spec.prefixes, spec.dDict],
        },
      }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        if (own !== undefined) return own === "matryoshka";
        const meta = cfg.metadata as { training_architecture?: unknown } | undefined;
        return cfg.architecture === "matryoshka_batchtopk" ||
          (cfg.architecture === "jumprelu" && meta?.training_architecture === "matryoshka_batchtopk");
      },
      spec: (cfg) => {
        const meta = (cfg.metadata ?? {}) as { k?: unknown; matryoshka_widths?: unknown };
        const widths = Array.isArray(meta.matryoshka_widths)
          ? meta.matryoshka_widths
          : Array.isArray(cfg.matryoshka_widths)
          ? cfg.matryoshka_widths
          : [];
        const dSae = Number(cfg.d_sae ?? widths.at(-1));
        return {
          k: Number(meta.k ?? cfg.k ?? 0),
          prefixes: widths.map(Number).filter((m) => m < dSae),
        };
      },
    },
  } satisfies SaeKindDef,
);
