/**
 * `untied` (Cunningham et al. 2023): `c = ReLU(W_e x + b_e)`, `x̂ = D̂ᵀ c` with the rows of `D`
 * normalised to unit length in every forward pass; Xavier-uniform `W_e` and `D`.
 *
 * @module
 */
import { cfgKindName, reluCfg, reluKindFields, type SaeKindDef, untiedInit } from "./kind.ts";

/** The paper's untied SAE. */
export const untied: SaeKindDef = Object.freeze(
  {
    name: "untied",
    summary: "ReLU encoder W_e, separate unit-norm decoder D (the paper's main variant)",
    tied: false,
    preferred: true,
    ...reluKindFields,
    init: untiedInit,
    saelens: {
      cfg: reluCfg,
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        if (own !== undefined) return own === "untied";
        return cfg.tied !== true && (cfg.architecture ?? "standard") === "standard";
      },
      spec: () => ({}),
    },
  } satisfies SaeKindDef,
);
