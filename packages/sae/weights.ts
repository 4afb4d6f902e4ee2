/**
 * Host-side SAE weights in this package's layout and their initialisation.
 *
 * Layout (row j = feature j): `encoder [dDict, dIn]` (`W_e`; for a tied SAE the one matrix `M`),
 * `encoderBias [dDict]`, `decoder [dDict, dIn]` (unnormalised `D`; `null` when tied),
 * `decoderBias [dIn]` (`null` unless the spec asks for one). SAELens stores `W_enc` transposed,
 * `[dIn, dDict]`, and `W_dec` normalised; see `checkpoint.ts`.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
import { Rng } from "./_random.ts";
import { NORM_EPS, resolveSpec, type SaeSpec } from "./spec.ts";

/** The parameters of one SAE on the host. */
export interface SaeWeights {
  /** The resolved spec. */
  spec: Required<SaeSpec>;
  /** `W_e` (or tied `M`), `[dDict, dIn]`. */
  encoder: Float32Array;
  /** `b_e`, `[dDict]`. */
  encoderBias: Float32Array;
  /** Unnormalised decoder `D`, `[dDict, dIn]`; `null` for tied SAEs. */
  decoder: Float32Array | null;
  /** `b_dec`, `[dIn]`, or `null`. */
  decoderBias: Float32Array | null;
  /** The inference threshold `θ` learned in training, for kinds with a batch selection (BatchTopK). */
  threshold?: number;
  /** Gated: `r_mag [dDict]`, the log scale of each magnitude row (`W_mag = exp(r_mag) ⊙ W_gate`). */
  rMag?: Float32Array;
  /** Gated: `b_mag [dDict]`, the magnitude bias (the gate bias `b_gate` is `encoderBias`). */
  bMag?: Float32Array;
}

/**
 * Initialise an SAE as the paper's code does: Xavier-uniform `W_e` and `D`
 * (bound `√(6 / (dIn + dDict))`), zero `b_e` (and zero `b_dec` when present).
 *
 * @param spec Architecture.
 * @param options `seed` selects the random stream (default 0).
 * @returns Fresh weights.
 * @example
 * ```ts
 * import { initWeights } from "@saelab/sae";
 * const w = initWeights({ kind: "untied", dIn: 4, dDict: 8, l1: 1e-3 }, { seed: 1 });
 * if (w.encoder.length !== 32 || w.decoder?.length !== 32) throw new Error("shape");
 * ```
 */
export function initWeights(spec: SaeSpec, options: { seed?: number } = {}): SaeWeights {
  const s = resolveSpec(spec);
  const rng = new Rng(options.seed ?? 0);
  const bound = Math.sqrt(6 / (s.dIn + s.dDict));
  const xavier = () => {
    const a = new Float32Array(s.dDict * s.dIn);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
    return a;
  };
  const { encoder, decoder } = KINDS[s.kind].init(s, xavier);
  return {
    spec: s,
    encoder,
    encoderBias: new Float32Array(s.dDict),
    decoder,
    decoderBias: s.decoderBias ? new Float32Array(s.dIn) : null,
    ...(KINDS[s.kind].batch ? { threshold: 0 } : {}),
    ...Object.fromEntries((KINDS[s.kind].featureParams ?? []).map((key) => [key, new Float32Array(s.dDict)])),
  };
}

/**
 * The unit-length feature directions of an SAE: the normalised rows of `D`
 * (or of `M` when tied), as the forward pass uses them.
 *
 * @param w Weights.
 * @returns `[dDict, dIn]` unit rows (a zero row stays zero).
 * @example
 * ```ts
 * import { initWeights, featureDirections } from "@saelab/sae";
 * const d = featureDirections(initWeights({ kind: "tied", dIn: 3, dDict: 2, l1: 0 }));
 * if (Math.abs(d[0] ** 2 + d[1] ** 2 + d[2] ** 2 - 1) > 1e-6) throw new Error("not unit");
 * ```
 */
export function featureDirections(w: SaeWeights): Float32Array {
  const src = w.decoder ?? w.encoder;
  return normalizeRows(src, w.spec.dIn);
}

/**
 * Divide each row by `max(‖row‖, 1e-8)`.
 *
 * @param m Row-major matrix.
 * @param cols Row length.
 * @returns A new normalised matrix.
 * @example
 * ```ts
 * import { normalizeRows } from "@saelab/sae";
 * const n = normalizeRows(new Float32Array([3, 4]), 2);
 * if (Math.abs(n[0] - 0.6) > 1e-6) throw new Error("norm");
 * ```
 */
export function normalizeRows(m: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r * cols < m.length; r++) {
    let ss = 0;
    for (let i = 0; i < cols; i++) ss += m[r * cols + i] ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), NORM_EPS);
    for (let i = 0; i < cols; i++) out[r * cols + i] = m[r * cols + i] * inv;
  }
  return out;
}

/**
 * A deep copy.
 *
 * @param w Weights.
 * @returns Weights that share no arrays with `w`.
 * @example
 * ```ts
 * import { cloneWeights, initWeights } from "@saelab/sae";
 * const a = initWeights({ kind: "untied", dIn: 2, dDict: 2, l1: 0 });
 * const b = cloneWeights(a);
 * b.encoder[0] = 9;
 * if (a.encoder[0] === 9) throw new Error("shared");
 * ```
 */
export function cloneWeights(w: SaeWeights): SaeWeights {
  return {
    spec: { ...w.spec },
    encoder: w.encoder.slice(),
    encoderBias: w.encoderBias.slice(),
    decoder: w.decoder?.slice() ?? null,
    decoderBias: w.decoderBias?.slice() ?? null,
    ...(w.threshold !== undefined ? { threshold: w.threshold } : {}),
    ...(w.rMag ? { rMag: w.rMag.slice() } : {}),
    ...(w.bMag ? { bMag: w.bMag.slice() } : {}),
  };
}
