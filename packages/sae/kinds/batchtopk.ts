/**
 * `batchtopk` (Bussmann et al. 2024): like `topk`, but in training the `k·B` largest ReLU'd
 * pre-activations of the whole batch of `B` rows are kept, so rows keep different numbers of
 * features with mean `k`; no L1 term. At inference a JumpReLU with one threshold `θ` for every
 * feature (`c = p · [p > θ]`), `θ` learned in training as SAELens' BatchTopK training SAE learns
 * it: `θ ← (1 − lr)·θ + lr · (smallest positive kept code of the batch)`, `lr = 0.01`, from `θ = 0`.
 * Written for SAELens as that SAE is exported: a `jumprelu` SAE with a `threshold` tensor (all `θ`)
 * and the training architecture in `metadata`. Without the auxiliary loss on dead latents, on the toy
 * data (`deno task toy --kinds batchtopk --k 5`, d 32, 64 true features) R 4 reached MMCS 0.897 to
 * the truth after the default 1600 steps (56.3% of its latents dead on held-out rows) and 0.919 after
 * `--steps 3200`, R 8 0.961 (`--ratios 2,4,8`); with AuxK (`--aux-k 16 --dead-window 25600`, see
 * `referenceAuxK`) R 4 reached 0.908 with 50.8% dead. `deno task toy` turns AuxK on by default for the
 * fixed-k kinds (`toyDefaultAuxK`: k_aux d/2, a dead window of 100 steps' rows) and keeps `k` = the toy's
 * mean active features (`toyDefaultK`). Those figures come from an encoder drawn apart from the decoder; from
 * the fixed-k kinds' start (each encoder row its decoder row, `transposeInit`) R 4 reaches 0.978 / 0.971 /
 * 0.979 in `deno task toy --kinds untied,tied,topk,batchtopk,jumprelu,gated,matryoshka --seed S` (seeds 0–2).
 *
 * @module
 */
import { batchTopkSelect } from "@saelab/kernels";
import { cfgKindName, fixedKFields, type SaeKindDef } from "./kind.ts";

/** SAELens' `topk_threshold_lr`: the rate at which `θ` follows the batches' smallest kept codes. */
export const TOPK_THRESHOLD_LR = 0.01;

/** BatchTopK SAE. */
export const batchtopk: SaeKindDef = Object.freeze(
  {
    name: "batchtopk",
    summary:
      "untied, keeping the k·B largest codes of a batch in training, a JumpReLU threshold after (Bussmann et al. 2024)",
    ...fixedKFields("BatchTopK"),
    activate: (pre, codes, _spec, threshold = 0) => {
      for (let j = 0; j < pre.length; j++) codes[j] = pre[j] > threshold && pre[j] > 0 ? pre[j] : 0;
    },
    batch: {
      activate: (pre, codes, spec) => {
        const rows = pre.length / spec.dDict;
        const kept = Math.min(spec.k * rows, pre.length);
        const relu = Float64Array.from(pre, (v) => Math.max(v, 0));
        const cut = Float64Array.from(relu).sort().reverse()[kept - 1];
        for (let e = 0; e < pre.length; e++) codes[e] = relu[e] >= cut ? relu[e] : 0;
      },
      nextThreshold: (theta, codes) => {
        let least = Infinity;
        for (const c of codes) if (c > 0 && c < least) least = c;
        return least === Infinity ? theta : (1 - TOPK_THRESHOLD_LR) * theta + TOPK_THRESHOLD_LR * least;
      },
    },
    gpu: {
      epilogue: "encodeRaw",
      select: (gpu, inputs, out) => batchTopkSelect(gpu, inputs, { ...out, lr: TOPK_THRESHOLD_LR }),
    },
    saelens: {
      cfg: (spec) => ({
        architecture: "jumprelu",
        activation_fn_str: "relu",
        metadata: { training_architecture: "batchtopk", k: spec.k, topk_threshold_lr: TOPK_THRESHOLD_LR },
      }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        if (own !== undefined) return own === "batchtopk";
        const meta = cfg.metadata as { training_architecture?: unknown } | undefined;
        return cfg.architecture === "batchtopk" ||
          (cfg.architecture === "jumprelu" && meta?.training_architecture === "batchtopk");
      },
      spec: (cfg) => {
        const meta = (cfg.metadata ?? {}) as { k?: unknown };
        return { k: Number(meta.k ?? cfg.k ?? 0) };
      },
    },
  } satisfies SaeKindDef,
);
