/**
 * What an SAE kind is: the one place a variant of the sparse autoencoder says how it differs from
 * the others — how its parameters are initialised, how its float64 reference turns pre-activations
 * into codes, which `@saelab/kernels` epilogue the trainer runs for its encoder, and how it reads
 * and writes its SAELens `cfg.json`. Every kind shares the rest: an encoder `W_e [dDict, dIn]` with
 * bias `b_e`, decoder rows normalised to unit length in every forward pass, the loss
 * `mean((x − x̂)²) + α · mean_b Σ_j |c_bj|`, Adam.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import type { jumpReluThresholdGrad, SelectInputs, SelectOutputs } from "@saelab/kernels";
import type { ReferenceForward, ReferenceParams } from "../reference.ts";
import type { SaeSpec } from "../spec.ts";

/**
 * A `@saelab/kernels` selection that turns each member's raw pre-activations `P [rows, n]` into
 * codes `C`, `Cᵀ` and fired marks (`topkSelect`, `batchTopkSelect`); `state` is the group's
 * learned thresholds `θ [members]` for kinds that keep one.
 */
export type SelectKernel = (gpu: Gpu, inputs: SelectInputs, out: SelectOutputs) => void;

/**
 * What a kind that selects codes over the whole batch in training does differently (BatchTopK):
 * its float64 training activation, and the inference threshold `θ` it learns from the training
 * codes. Its `activate` is then the inference activation, given `θ`.
 */
export interface BatchSelection {
  /** Float64 training codes of a whole batch from its pre-activations, both `[rows, dDict]`. */
  activate(pre: Float64Array, codes: Float64Array, spec: Required<SaeSpec>): void;
  /**
   * The threshold after a training step.
   *
   * @param theta The threshold before the step.
   * @param codes The step's training codes `[rows, dDict]`.
   * @returns The new threshold.
   */
  nextThreshold(theta: number, codes: Float64Array): number;
}

/** What a kind with nested dictionary levels (Matryoshka) adds. */
export interface NestedLevels {
  /**
   * Check the spec's `prefixes` or choose the default ones.
   *
   * @returns The prefix sizes below `dDict`, ascending.
   */
  resolve(spec: SaeSpec): number[];
  /**
   * Prefix sizes of a dictionary from fractions of it (`--prefixes`).
   *
   * @param dDict Features of the whole dictionary.
   * @param fractions Fractions in (0, 1); default the kind's.
   * @returns Ascending prefix sizes below `dDict`.
   */
  prefixes(dDict: number, fractions?: readonly number[]): number[];
}

/**
 * The sizes of a member's nested levels, ascending, the whole dictionary last (`[dDict]` for the
 * kinds without nesting).
 *
 * @param spec A resolved spec.
 * @returns `[m_1, …, dDict]`.
 * @example
 * ```ts
 * import { levelWidths } from "./kind.ts";
 * const spec = { kind: "untied" as const, dIn: 4, dDict: 8, l1: 0, k: 0, decoderBias: false, l1Penalty: "paper" as const,
 *   prefixes: [] };
 * const w = levelWidths({ ...spec, auxK: 0, auxAlpha: 1 / 32, deadWindow: 1e7 });
 * if (w.join() !== "8") throw new Error(w.join());
 * ```
 */
export function levelWidths(spec: Required<SaeSpec>): number[] {
  return [...spec.prefixes, spec.dDict];
}

/**
 * What a kind with a threshold per feature learned by gradient descent says (JumpReLU): codes
 * `c_j = z_j · H(z_j − θ_j)`, `θ_j > 0` trained as `log θ_j` (`SaeWeights.logThreshold`), an L0
 * penalty `α · mean_b Σ_j H(z_bj − θ_j)` in place of the L1 term, and the straight-through
 * estimators of its gradient with a kernel of bandwidth `ε`.
 */
export interface FeatureThresholds {
  /** `θ` of every feature at initialisation, unless {@linkcode ThresholdOptions.initThreshold} says otherwise. */
  readonly init: number;
  /** Bandwidth `ε` of the straight-through estimators' kernel, unless {@linkcode ThresholdOptions.bandwidth} says otherwise. */
  readonly bandwidth: number;
  /**
   * Float64 codes of one row from its pre-activations, given the thresholds.
   *
   * @param pre Pre-activations `z [dDict]`.
   * @param codes Written: the codes.
   * @param theta `θ [dDict]`.
   */
  activate(pre: Float64Array, codes: Float64Array, theta: ArrayLike<number>): void;
  /**
   * The share of `∂L/∂θ_j` from one pre-activation `z_bj` (the estimator; summed over the rows).
   *
   * @param z The pre-activation.
   * @param theta `θ_j`.
   * @param grads `code`: `∂L/∂c_bj` (through the reconstruction); `penalty`: `α/B`, the L0 term's weight of one
   *   code; `bandwidth`: `ε`.
   * @returns The share.
   */
  thetaGrad(z: number, theta: number, grads: { code: number; penalty: number; bandwidth: number }): number;
  /** The `@saelab/kernels` kernel that records the same estimate of `∂L/∂log θ` on the GPU. */
  readonly gradKernel: typeof jumpReluThresholdGrad;
}

/** Training settings of the kinds with learned per-feature thresholds (JumpReLU); each defaults to the kind's. */
export interface ThresholdOptions {
  /** Bandwidth `ε` of the straight-through estimators' kernel (> 0). */
  bandwidth?: number;
  /** `θ` of every feature at initialisation (> 0). */
  initThreshold?: number;
}

/**
 * A threshold setting, checked: the value given, else the kind's default.
 *
 * @param kind The kind's thresholds.
 * @param options The settings given.
 * @returns `bandwidth` and `initThreshold`, both positive and finite.
 * @throws {RangeError} When a value given is not a positive number.
 * @example
 * ```ts
 * import { thresholdSettings } from "./kind.ts";
 * const t = { init: 0.001, bandwidth: 0.001 } as Parameters<typeof thresholdSettings>[0];
 * if (thresholdSettings(t, { initThreshold: 0.1 }).initThreshold !== 0.1) throw new Error("given wins");
 * ```
 */
export function thresholdSettings(
  kind: FeatureThresholds,
  options: ThresholdOptions = {},
): Required<ThresholdOptions> {
  const out = { bandwidth: options.bandwidth ?? kind.bandwidth, initThreshold: options.initThreshold ?? kind.init };
  for (const [name, v] of Object.entries(out)) {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`Cannot train learned thresholds: ${name} ${v} is not > 0`);
    }
  }
  return out;
}

/**
 * Per-feature parameter vectors a kind trains beyond `b_e` (Gated: `rMag`, `bMag`; JumpReLU: `logThreshold`), each
 * `[dDict]`, zero at initialisation (JumpReLU's: `log` of its initial θ), packed after the decoder in the group
 * layout so Adam updates them with the rest.
 */
export type FeatureParam = "rMag" | "bMag" | "logThreshold";

/**
 * The float64 reference of a kind whose loss and gradients are not the shared ones (Gated): the
 * shared forward pass (`X'`, `P`, `D̂`, codes from {@linkcode SaeKindDef.activate}) goes in, the
 * kind's loss and gradients come out.
 */
export interface KindReference {
  /**
   * The kind's loss terms added to a shared forward pass.
   *
   * @param base The shared forward pass (codes, reconstruction, MSE, `l1 = mean_b Σ_j c_bj`).
   * @param ctx The resolved spec and the parameters.
   * @returns The forward pass with the kind's loss.
   */
  forward(base: ReferenceForward, ctx: { spec: Required<SaeSpec>; params: ReferenceParams }): ReferenceForward;
  /**
   * Gradients of the kind's loss.
   *
   * @param f The forward pass (from {@linkcode KindReference.forward}).
   * @param ctx The resolved spec, the parameters and the inputs `[rows, dIn]`.
   * @returns Gradients, in the layout of the parameters, except `decoder`: the gradient with respect to
   *   the unit rows `D̂` (untied kinds), which the shared code maps through the row normalisation.
   */
  gradients(
    f: ReferenceForward,
    ctx: { spec: Required<SaeSpec>; params: ReferenceParams; x: ArrayLike<number> },
  ): ReferenceParams;
}

/** The `cfg.json` fields a kind writes and reads (SAELens v6 names). */
export interface KindCfg {
  /** SAELens `architecture`. */
  architecture: string;
  /** SAELens `activation_fn_str`. */
  activation_fn_str: string;
  /** SAELens `activation_fn_kwargs` (TopK: `{ k }`). */
  activation_fn_kwargs?: { k?: number; [key: string]: unknown };
  /** Further cfg fields of the kind (BatchTopK: SAELens' `metadata` naming the training architecture). */
  [field: string]: unknown;
}

/** One SAE variant, as the trainer, the reference, the checkpoints and the CLI see it. */
export interface SaeKindDef {
  /** Name, as in `SaeSpec.kind`, member names (`untied_r4_a1.0e-3`) and `--kinds`. */
  readonly name: string;
  /** One line for help texts. */
  readonly summary: string;
  /**
   * Whether encoder and decoder are one matrix `M` (`c = act(M̂ x + b)`, `x̂ = M̂ᵀ c`): the trainer
   * keeps no separate decoder and the encoder it uses is the row-normalised `M`.
   */
  readonly tied: boolean;
  /** Spec fields the kind needs beyond sizes and α (TopK: `k`); grids that do not give them cannot make members. */
  readonly needs: readonly "k"[];
  /** A note for `--help` (Gated: what α weighs, SAELens' defaults); none when absent. */
  readonly help?: string;
  /** Whether analyses pick members of this kind first (the paper's main variant). */
  readonly preferred: boolean;
  /**
   * Check the kind's own spec fields.
   *
   * @returns `k` (0 when the kind keeps no fixed number of features).
   */
  resolveK(spec: SaeSpec): number;
  /** The sparsity part of a member's name: `a1.0e-3` (α) or `k8`. */
  nameTail(spec: Required<SaeSpec>): string;
  /**
   * Initial encoder and decoder. `xavier` draws one fresh Xavier-uniform `[dDict, dIn]` matrix from
   * the seeded stream; the order of the draws fixes the weights of a seed.
   */
  init(spec: Required<SaeSpec>, xavier: () => Float32Array): { encoder: Float32Array; decoder: Float32Array | null };
  /**
   * The float64 reference of the activation: codes of one row from its pre-activations
   * `W_e (x − b_dec) + b_e`, written into `codes` (same length). `threshold` is the learned
   * inference threshold of kinds with a {@linkcode SaeKindDef.batch} selection (0 for the others);
   * `params` the member's parameters, for kinds whose codes read more than `P` (Gated: `b_e`, `rMag`, `bMag`)
   * (`j` indexes them as it indexes `pre`).
   */
  activate(
    pre: Float64Array,
    codes: Float64Array,
    spec: Required<SaeSpec>,
    threshold?: number,
    params?: Pick<ReferenceParams, "encoderBias" | FeatureParam>,
  ): void;
  /** Per-feature parameters the kind trains beyond `b_e` (see {@linkcode FeatureParam}); none when absent. */
  readonly featureParams?: readonly FeatureParam[];
  /** The kind's own float64 loss and gradients, when they are not the shared ones (Gated). */
  readonly reference?: KindReference;
  /**
   * Set for kinds that select codes over the whole batch in training and learn an inference
   * threshold (BatchTopK); the trainers then use its `activate` and keep `SaeWeights.threshold`.
   */
  readonly batch?: BatchSelection;
  /**
   * Set for kinds whose loss sums the reconstruction errors of nested dictionary prefixes
   * (Matryoshka): level `i` reconstructs from the first `m_i` features alone.
   */
  readonly nested?: NestedLevels;
  /**
   * Set for kinds with a threshold per feature learned by gradient descent (JumpReLU); the trainers
   * then keep `SaeWeights.logThreshold`, and the kind's loss weighs the L0 of the codes with α, not their L1.
   */
  readonly thresholds?: FeatureThresholds;
  /**
   * The GPU encoder epilogue the trainer runs: `"encode"` (bias + ReLU fused into the tile matmul),
   * or `"encodeRaw"` followed by `select` (a `@saelab/kernels` kernel that turns the raw
   * pre-activations into codes), or `"gated"` (raw gate pre-activations, then the trainer's Gated
   * steps: `_gated_group.ts`).
   */
  readonly gpu: { epilogue: "encode" } | { epilogue: "encodeRaw"; select: SelectKernel } | { epilogue: "gated" };
  /** SAELens `cfg.json`: the fields this kind writes, and whether a folder's cfg is one of its kind. */
  readonly saelens: {
    /** Fields written for a member. */
    cfg(spec: Required<SaeSpec>): KindCfg;
    /** Whether a (SAELens or project) cfg describes this kind. */
    matches(cfg: Record<string, unknown>): boolean;
    /** The kind's spec fields read back from a cfg (TopK: `k`). */
    spec(cfg: Record<string, unknown>): Partial<SaeSpec>;
  };
}

/**
 * ReLU: `codes = max(pre, 0)` — the activation of the paper's SAEs.
 *
 * @param pre Pre-activations of one row.
 * @param codes Written: the codes.
 * @returns Nothing.
 * @example
 * ```ts
 * import { reluCodes } from "@saelab/sae";
 * const c = new Float64Array(2);
 * reluCodes(new Float64Array([-1, 2]), c);
 * if (c[0] !== 0 || c[1] !== 2) throw new Error("relu");
 * ```
 */
export function reluCodes(pre: Float64Array, codes: Float64Array): void {
  for (let j = 0; j < pre.length; j++) codes[j] = Math.max(pre[j], 0);
}

/** The cfg field `kind` or `saelab.kind`, when a folder written here names its kind. */
export function cfgKindName(cfg: Record<string, unknown>): string | undefined {
  const own = cfg.kind ?? (cfg.saelab as { kind?: unknown } | undefined)?.kind;
  return typeof own === "string" ? own : undefined;
}

/**
 * The fields the paper's ReLU kinds (`tied`, `untied`) share: no spec fields beyond sizes and α, a
 * name tail from α, ReLU codes fused into the encoder tile matmul, and a SAELens `standard` cfg.
 */
export const reluKindFields = Object.freeze(
  {
    needs: [],
    resolveK: () => 0,
    nameTail: (spec) => `a${spec.l1.toExponential(1)}`,
    activate: (pre, codes) => reluCodes(pre, codes),
    gpu: { epilogue: "encode" },
  } satisfies Partial<SaeKindDef>,
);

/**
 * The fields the kinds that keep a fixed number of features per row share (`topk`, `batchtopk`):
 * they need `k` (a whole number in 1..dDict), name members by it, and start untied.
 *
 * @param title The kind's name in error messages (`TopK`).
 * @returns The shared fields.
 * @example
 * ```ts
 * import { fixedKFields } from "./kind.ts";
 * const f = fixedKFields("TopK");
 * if (f.resolveK({ kind: "topk", dIn: 4, dDict: 8, l1: 0, k: 3 }) !== 3) throw new Error();
 * ```
 */
export function fixedKFields(
  title: string,
): Pick<SaeKindDef, "tied" | "needs" | "preferred" | "resolveK" | "nameTail" | "init"> {
  return {
    tied: false,
    needs: ["k"],
    preferred: false,
    resolveK: (spec) => {
      const k = spec.k ?? 0;
      if (!Number.isInteger(k) || k < 1 || k > spec.dDict) {
        throw new RangeError(`Cannot build a ${title} SAE: k ${spec.k} is not a whole number in 1..${spec.dDict}`);
      }
      return k;
    },
    nameTail: (spec) => `k${spec.k}`,
    init: transposeInit,
  };
}

/**
 * The SAELens cfg fields of the ReLU kinds: a `standard` SAE with a `relu` activation.
 *
 * @returns The fields, fresh on every call.
 */
export function reluCfg(): KindCfg {
  return { architecture: "standard", activation_fn_str: "relu" };
}

/**
 * Initial weights of the fixed-k kinds: one Xavier-uniform decoder, and the encoder a copy of it, so that each
 * latent's encoder row starts as its decoder row (`W_enc = W_decᵀ` in the `[d_in, d_sae]` orientation). Gao et
 * al. (2024) initialise TopK SAEs this way against dead latents, and SAELens' training SAEs start every kind so.
 * The paper's kinds keep {@linkcode untiedInit}, as its code.
 *
 * @param _spec The member's spec (the draws do not depend on it).
 * @param xavier Draws one Xavier-uniform `[dDict, dIn]` matrix from the seeded stream.
 * @returns The encoder and the decoder, equal and not shared.
 */
export function transposeInit(
  _spec: Required<SaeSpec>,
  xavier: () => Float32Array,
): { encoder: Float32Array; decoder: Float32Array } {
  const decoder = xavier();
  return { encoder: decoder.slice(), decoder };
}

/**
 * Initial weights of an untied kind: a fresh Xavier-uniform encoder, then a fresh decoder (in that order).
 *
 * @param _spec The member's spec (the draws do not depend on it).
 * @param xavier Draws one Xavier-uniform `[dDict, dIn]` matrix from the seeded stream.
 * @returns The encoder and the decoder.
 */
export function untiedInit(
  _spec: Required<SaeSpec>,
  xavier: () => Float32Array,
): { encoder: Float32Array; decoder: Float32Array } {
  const encoder = xavier();
  return { encoder, decoder: xavier() };
}
