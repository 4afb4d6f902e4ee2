/**
 * What an SAE is (kind, sizes, L1 coefficient) and the training defaults of
 * the paper (Cunningham et al. 2023, with the authors' released code for the
 * conventions the text leaves open).
 *
 * @module
 */
import { isSaeKind, KIND_NAMES, KINDS, type SaeKind, saeKind } from "./kinds/mod.ts";

/**
 * SAE variants: the names of the kinds registry (`kinds/`), e.g. `untied`, `tied` and `topk`
 * (each kind's file says what it computes).
 */
export type { SaeKind } from "./kinds/mod.ts";

/** The architecture and sparsity coefficient of one SAE. */
export interface SaeSpec {
  /** Variant. */
  kind: SaeKind;
  /** Input width (the hook's width). */
  dIn: number;
  /** Number of dictionary features (`R · dIn`). */
  dDict: number;
  /** L1 coefficient α (for `jumprelu` the coefficient of its L0 penalty). Default 0 for `topk`, required otherwise. */
  l1: number;
  /** `topk` only: features kept per row. */
  k?: number;
  /**
   * Learn a decoder bias `b_dec` (SAELens layout: `x̂ = D̂ᵀc + b_dec`, and `b_dec` is subtracted from the
   * input before encoding). Default `false`: the paper's SAEs have no decoder bias.
   */
  decoderBias?: boolean;
  /**
   * The sparsity penalty. `"paper"` (the default): decoder rows normalised in every forward pass, `x̂ = D̂ᵀc`, and the
   * plain L1 `α · Σ_j |c_j|`. `"decoder-norm"` (SAELens' standard training SAE): the decoder is used as it is,
   * `x̂ = Dᵀc`, never renormalised, and the penalty weighs each code by its decoder row's norm,
   * `α · Σ_j |c_j| · ‖D_j‖`. Untied SAEs only.
   */
  l1Penalty?: L1Penalty;
  /**
   * `matryoshka` only: the nested dictionary prefixes `m_1 < m_2 < … < dDict` (sizes below `dDict`,
   * ascending); default: the kind's fractions of `dDict`. Empty for the other kinds.
   */
  prefixes?: readonly number[];
  /**
   * AuxK (Gao et al. 2024), for the kinds with a fixed `k`: each row's `auxK` largest positive
   * pre-activations among the dead latents reconstruct the main reconstruction's residual. 0 (the
   * default) turns it off.
   */
  auxK?: number;
  /** AuxK's coefficient α_aux. Default 1/32 (the paper). */
  auxAlpha?: number;
  /** Training tokens without firing after which a latent counts as dead for AuxK. Default 10,000,000 (the paper). */
  deadWindow?: number;
}

/** The sparsity penalties of {@linkcode SaeSpec.l1Penalty}. */
export const L1_PENALTIES = ["paper", "decoder-norm"] as const;
/** A sparsity penalty. */
export type L1Penalty = typeof L1_PENALTIES[number];

/** Each penalty in words (for help texts and summaries). */
export const L1_PENALTY_TEXT: Readonly<Record<L1Penalty, string>> = Object.freeze({
  "paper": "α·Σ|c_j| with the decoder rows normalised in every forward pass (the paper)",
  "decoder-norm": "α·Σ|c_j|·‖D_j‖ with the decoder used unnormalised (SAELens' standard SAE; untied members only)",
});

/** The paper's AuxK coefficient (Gao et al. 2024). */
export const AUXK_ALPHA = 1 / 32;

/** The paper's dead-latent window, in training tokens (Gao et al. 2024). */
export const DEAD_WINDOW_TOKENS = 10_000_000;

/** Adam and batch settings. Defaults are the paper's. */
export interface OptimizerOptions {
  /** Adam learning rate. Default 1e-3 (the paper). */
  lr?: number;
  /** Adam β₁. Default 0.9 (PyTorch's default, which the paper's code uses). */
  beta1?: number;
  /** Adam β₂. Default 0.999. */
  beta2?: number;
  /** Adam ε. Default 1e-8. */
  eps?: number;
}

/** Resolved optimizer settings. */
export type AdamSettings = Required<OptimizerOptions>;

/** The paper's optimizer defaults. */
export const PAPER_ADAM: AdamSettings = Object.freeze({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 });

/** Batch size of the paper's sweeps over Pythia-70M activations (1024; some runs used 2048). */
export const PAPER_BATCH_SIZE = 1024;

/** Dictionary ratios `R = dDict / dIn` of the paper's sweeps. */
export const PAPER_RATIOS: readonly number[] = Object.freeze([1, 2, 4, 8]);

/** Smallest guard on a row norm in the decoder normalisation (as in the paper's code: `clamp(‖D_j‖, 1e-8)`). */
export const NORM_EPS = 1e-8;

/**
 * Numbers spaced evenly on a log scale, both ends included.
 *
 * @param lo First value (> 0).
 * @param hi Last value (> 0).
 * @param count How many values.
 * @returns `count` values from `lo` to `hi`.
 * @example The paper's α grid
 * ```ts
 * import { logGrid } from "@saelab/sae";
 * const alphas = logGrid(1e-4, 1e-2, 5); // 1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2
 * if (Math.abs(alphas[2] - 1e-3) > 1e-12) throw new Error("grid");
 * ```
 */
export function logGrid(lo: number, hi: number, count: number): number[] {
  if (!(lo > 0 && hi > 0)) throw new RangeError(`Cannot make a log grid: ends ${lo} and ${hi} must be positive`);
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot make a log grid: count ${count} is not a whole number ≥ 1`);
  }
  if (count === 1) return [lo];
  const a = Math.log10(lo), b = Math.log10(hi);
  return Array.from({ length: count }, (_, i) => 10 ** (a + ((b - a) * i) / (count - 1)));
}

/**
 * Check a spec and fill its defaults.
 *
 * @param spec The spec to check.
 * @returns The spec with `k`, `l1`, `decoderBias`, `l1Penalty` and `prefixes` resolved.
 * @throws {RangeError} When a size or coefficient is out of range.
 * @example
 * ```ts
 * import { resolveSpec } from "@saelab/sae";
 * const s = resolveSpec({ kind: "untied", dIn: 16, dDict: 64, l1: 1e-3 });
 * if (s.decoderBias !== false || s.l1Penalty !== "paper") throw new Error("paper defaults");
 * ```
 */
export function resolveSpec(spec: SaeSpec): Required<SaeSpec> {
  const { kind, dIn, dDict } = spec;
  if (!isSaeKind(kind)) {
    throw new RangeError(`Cannot build an SAE: kind ${JSON.stringify(kind)} is not one of ${KIND_NAMES.join(", ")}`);
  }
  for (const [name, v] of [["dIn", dIn], ["dDict", dDict]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot build an SAE: ${name} ${v} is not a whole number ≥ 1`);
    }
  }
  const l1 = spec.l1 ?? 0;
  if (!(l1 >= 0) || !Number.isFinite(l1)) throw new RangeError(`Cannot build an SAE: L1 coefficient ${l1} is not ≥ 0`);
  const k = KINDS[kind].resolveK(spec);
  const l1Penalty = spec.l1Penalty ?? "paper";
  if (!(L1_PENALTIES as readonly string[]).includes(l1Penalty)) {
    throw new RangeError(
      `Cannot build an SAE: L1 penalty ${JSON.stringify(l1Penalty)} is not one of ${L1_PENALTIES.join(", ")}`,
    );
  }
  if (l1Penalty !== "paper" && kind !== "untied") {
    throw new RangeError(`Cannot build a ${kind} SAE with the ${l1Penalty} L1 penalty: it is defined for untied SAEs`);
  }
  const prefixes = KINDS[kind].nested?.resolve(spec) ?? [];
  const { auxK = 0, auxAlpha = AUXK_ALPHA, deadWindow = DEAD_WINDOW_TOKENS } = spec;
  if (!Number.isInteger(auxK) || auxK < 0 || auxK > dDict || (auxK > 0 && !KINDS[kind].needs.includes("k"))) {
    throw new RangeError(
      `Cannot build an SAE: AuxK's k_aux ${auxK} is not a whole number in 0..${dDict}, or kind ${kind} keeps no fixed k`,
    );
  }
  if (!(auxAlpha >= 0) || !Number.isFinite(auxAlpha) || !Number.isInteger(deadWindow) || deadWindow < 0) {
    throw new RangeError(
      `Cannot build an SAE: AuxK's α_aux ${auxAlpha} must be ≥ 0 and its dead window ${deadWindow} tokens a whole number ≥ 0`,
    );
  }
  const decoderBias = spec.decoderBias ?? false;
  return { kind, dIn, dDict, l1, k, decoderBias, l1Penalty, prefixes, auxK, auxAlpha, deadWindow };
}

/**
 * A short stable name for a sweep member: `untied_r4_a1.0e-3`.
 *
 * @param spec The member's spec.
 * @returns The name.
 * @example
 * ```ts
 * import { specName } from "@saelab/sae";
 * console.log(specName({ kind: "tied", dIn: 8, dDict: 32, l1: 0.001 })); // tied_r4_a1.0e-3
 * ```
 */
export function specName(spec: SaeSpec): string {
  const r = spec.dDict / spec.dIn;
  const ratio = Number.isInteger(r) ? `${r}` : r.toFixed(2);
  const def = saeKind(spec.kind);
  const prefixes = def.nested?.resolve(spec) ?? [];
  const tail = def.nameTail({
    k: 0,
    decoderBias: false,
    l1Penalty: "paper",
    auxK: 0,
    auxAlpha: AUXK_ALPHA,
    deadWindow: DEAD_WINDOW_TOKENS,
    ...spec,
    l1: spec.l1 ?? 0,
    prefixes,
  });
  const penalty = spec.l1Penalty === "decoder-norm" ? "_dn" : "";
  return `${spec.kind}_r${ratio}_${tail}${spec.auxK ? `_aux${spec.auxK}` : ""}${
    spec.decoderBias ? "_bdec" : ""
  }${penalty}`;
}

/** Options of {@linkcode sweepSpecs}. */
export interface SweepGridOptions {
  /** Input width. */
  dIn: number;
  /** Dictionary ratios R. Default the paper's 1, 2, 4, 8. */
  ratios?: readonly number[];
  /** L1 coefficients. Default 5 points on a log grid from 1e-4 to 1e-2 (the paper's range). */
  alphas?: readonly number[];
  /** Variants that need nothing beyond α (see each kind's `needs`). Default `["untied"]`. */
  kinds?: readonly SaeKind[];
  /** Also add TopK members with these k (one per ratio). Default none. */
  topk?: readonly number[];
}

/**
 * The members of a sweep: every kind × ratio × α (plus TopK members per ratio × k).
 *
 * @param options Width and grid.
 * @returns Specs, ordered by kind, then ratio, then α.
 * @example
 * ```ts
 * import { sweepSpecs } from "@saelab/sae";
 * const specs = sweepSpecs({ dIn: 128, ratios: [2, 4], alphas: [1e-3, 1e-2] });
 * if (specs.length !== 4 || specs[3].dDict !== 512) throw new Error("grid");
 * ```
 */
export function sweepSpecs(options: SweepGridOptions): SaeSpec[] {
  const { dIn } = options;
  const ratios = options.ratios ?? PAPER_RATIOS;
  const alphas = options.alphas ?? logGrid(1e-4, 1e-2, 5);
  const out: SaeSpec[] = [];
  for (const kind of options.kinds ?? ["untied"]) {
    if (KINDS[kind].needs.length) {
      throw new RangeError(`Cannot make a sweep grid: kind ${kind} needs ${KINDS[kind].needs.join(", ")} (use topk)`);
    }
    for (const r of ratios) for (const l1 of alphas) out.push({ kind, dIn, dDict: Math.round(r * dIn), l1 });
  }
  for (const k of options.topk ?? []) {
    for (const r of ratios) out.push({ kind: "topk", dIn, dDict: Math.round(r * dIn), l1: 0, k });
  }
  out.forEach(resolveSpec);
  return out;
}
