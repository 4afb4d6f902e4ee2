/**
 * `untied` (Cunningham et al. 2023): `c = ReLU(W_e x + b_e)`, `x̂ = D̂ᵀ c` with the rows of `D`
 * normalised to unit length in every forward pass; Xavier-uniform `W_e` and `D`.
 *
 * @module
 */
import { cfgKindName, reluCodes, type SaeKindDef } from "./kind.ts";

/** The paper's untied SAE. */
export const untied: SaeKindDef = Object.freeze(
  {
    name: "untied",
    summary: "ReLU encoder W_e, separate unit-norm decoder D (the paper's main variant)",
    tied: false,
    needs: [],
    preferred: true,
    resolveK: () => 0,
    nameTail: (spec) => `a${spec.l1.toExponential(1)}`,
    init: (_spec, xavier) => {
      const encoder = xavier();
      return { encoder, decoder: xavier() };
    },
    activate: (pre, codes) => reluCodes(pre, codes),
    gpu: { epilogue: "encode" },
    saelens: {
      cfg: () => ({ architecture: "standard", activation_fn_str: "relu" }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        if (own !== undefined) return own === "untied";
        return cfg.tied !== true && (cfg.architecture ?? "standard") === "standard";
      },
      spec: () => ({}),
    },
  } satisfies SaeKindDef,
);
