/**
 * `tied` (Cunningham et al. 2023): one matrix `M` with rows normalised in every forward pass,
 * `c = ReLU(M̂ x + b)`, `x̂ = M̂ᵀ c`; Xavier-uniform `M`. SAELens reads it as a `standard` SAE whose
 * `W_enc` is `M̂ᵀ`.
 *
 * @module
 */
import { cfgKindName, reluCfg, reluKindFields, type SaeKindDef } from "./kind.ts";

/** The paper's tied SAE. */
export const tied: SaeKindDef = Object.freeze(
  {
    name: "tied",
    summary: "one unit-norm matrix M encodes (ReLU) and decodes",
    tied: true,
    preferred: false,
    ...reluKindFields,
    init: (_spec, xavier) => ({ encoder: xavier(), decoder: null }),
    saelens: {
      cfg: reluCfg,
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        return own !== undefined ? own === "tied" : cfg.tied === true;
      },
      spec: () => ({}),
    },
  } satisfies SaeKindDef,
);
