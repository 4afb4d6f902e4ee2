/**
 * `topk` (beyond the paper, after Gao et al. 2024): like `untied`, but only the `k` largest
 * pre-activations of each row are kept (then ReLU); ties at the threshold go to the lower index in
 * the reference. SAELens architecture `topk` with `activation_fn_kwargs.k`. With AuxK (`SaeSpec.auxK`,
 * `--aux-k`; `referenceAuxK`) on the toy data (`deno task toy --kinds topk --k 5 --aux-k 16
 * --dead-window 25600`), R 4 reached MMCS 0.990 to the truth with 46.1% of its latents dead on held-out
 * rows, against 0.944 and 52.3% without; these are `deno task toy`'s defaults for the fixed-k kinds
 * (`toyDefaultK`, `toyDefaultAuxK`). Those figures come from an encoder drawn apart from the decoder; the
 * fixed-k kinds now start each encoder row as its decoder row (`transposeInit`, Gao et al.'s start), and
 * R 4 reaches 0.996 in `deno task toy --kinds untied,tied,topk,batchtopk,jumprelu,gated,matryoshka` (seeds 0, 1).
 *
 * @module
 */
import { topkSelect } from "@saelab/kernels";
import { cfgKindName, fixedKFields, type SaeKindDef } from "./kind.ts";

/** TopK SAE. */
export const topk: SaeKindDef = Object.freeze(
  {
    name: "topk",
    summary: "untied, keeping the k largest pre-activations of each row (Gao et al. 2024)",
    ...fixedKFields("TopK"),
    activate: (pre, codes, spec) => {
      const order = Array.from(pre.keys()).sort((a, b) => pre[b] - pre[a] || a - b);
      codes.fill(0);
      for (let r = 0; r < spec.k && r < order.length; r++) codes[order[r]] = Math.max(pre[order[r]], 0);
    },
    gpu: { epilogue: "encodeRaw", select: topkSelect },
    saelens: {
      cfg: (spec) => ({ architecture: "topk", activation_fn_str: "topk", activation_fn_kwargs: { k: spec.k } }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        return own !== undefined ? own === "topk" : cfg.architecture === "topk" || cfg.activation_fn_str === "topk";
      },
      spec: (cfg) => {
        const kwargs = (cfg.activation_fn_kwargs ?? {}) as { k?: unknown };
        return { k: Number(kwargs.k ?? cfg.k ?? 0) };
      },
    },
  } satisfies SaeKindDef,
);
