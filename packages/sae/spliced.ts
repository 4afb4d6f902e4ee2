/**
 * Spliced-in language-model loss: the model's next-token loss with the hooked
 * activation replaced by a dictionary's reconstruction, next to the clean loss
 * and the zero-ablated loss, and the fraction of loss recovered
 * `(zero − spliced) / (zero − clean)`. The model is injected as a function,
 * so this needs no model package.
 *
 * @module
 */
import { Tensor } from "@saelab/gpu";
import type { Dictionary } from "@saelab/dictionary";

/** Replaces a hooked activation `[..., dIn]` by a tensor of the same shape (the model owns the result). */
export type ReplaceActivation = (act: Tensor<"f32">) => Tensor<"f32">;

/**
 * Run the model on one batch and return its mean next-token loss, with the
 * hook's activation passed through `replace` when it is not null.
 */
export type LossWithReplacement<B> = (
  batch: B,
  replace: ReplaceActivation | null,
) => Promise<{ loss: number; tokens: number }>;

/** Losses in nats per token, averaged over every token evaluated. */
export interface SplicedLossResult {
  /** The unmodified model. */
  clean: number;
  /** The hook's activation replaced by `decode(encode(act))`. */
  spliced: number;
  /** The hook's activation replaced by zeros. */
  zeroAblation: number;
  /** `(zeroAblation − spliced) / (zeroAblation − clean)`; 1 is a perfect dictionary. */
  lossRecovered: number;
  /** Tokens evaluated. */
  tokens: number;
}

/**
 * The replacement that splices a dictionary in: reshape to `[N, dIn]`, encode, decode, reshape back.
 *
 * @param dict The dictionary.
 * @returns A {@linkcode ReplaceActivation}.
 * @example
 * ```ts ignore
 * const hooks = { "blocks.3.hook_resid_post": { replace: (_: string, x: Tensor<"f32">) => spliceDictionary(sae)(x) } };
 * ```
 */
export function spliceDictionary(dict: Dictionary): ReplaceActivation {
  return (act) => {
    const width = act.shape[act.rank - 1];
    if (width !== dict.dIn) {
      throw new RangeError(
        `Cannot splice ${dict.name}: the activation is ${width} wide, the dictionary reads ${dict.dIn}`,
      );
    }
    const flat = act.reshape([act.size / width, width]);
    const codes = dict.encode(flat);
    try {
      const recon = dict.decode(codes); // [N, dIn]
      // the same buffer in the activation's shape, owning it (the model disposes what it is given)
      return new Tensor(recon.gpu, recon.buffer, act.shape, "f32", recon.label);
    } finally {
      codes.dispose();
    }
  };
}

/** The replacement that zero-ablates the activation. */
export function zeroActivation(act: Tensor<"f32">): Tensor<"f32"> {
  return act.gpu.zeros(act.shape, "f32", "spliced.zeros");
}

/**
 * Clean, spliced and zero-ablated loss over the same batches.
 *
 * @param run The model's loss with an optional replacement at the hook.
 * @param dict The dictionary to splice in.
 * @param batches Token batches (iterated once; each is run three times).
 * @returns The three mean losses, the fraction recovered and the token count.
 * @example
 * ```ts ignore
 * const run = async (ids: number[][], replace: ReplaceActivation | null) => ({
 *   loss: (await model.loss(ids, { hooks: replace ? { [hook]: { replace: (_, x) => replace(x) } } : {} })).loss,
 *   tokens: ids.length * (ids[0].length - 1),
 * });
 * const { clean, spliced, zeroAblation, lossRecovered } = await splicedLoss(run, sae, batches);
 * ```
 */
export async function splicedLoss<B>(
  run: LossWithReplacement<B>,
  dict: Dictionary,
  batches: Iterable<B> | AsyncIterable<B>,
): Promise<SplicedLossResult> {
  const splice = spliceDictionary(dict);
  let clean = 0, spliced = 0, zero = 0, tokens = 0;
  for await (const batch of batches) {
    const c = await run(batch, null);
    const s = await run(batch, splice);
    const z = await run(batch, zeroActivation);
    if (c.tokens !== s.tokens || c.tokens !== z.tokens) {
      throw new RangeError(`Cannot compute spliced loss: the three runs of a batch counted different tokens`);
    }
    clean += c.loss * c.tokens;
    spliced += s.loss * s.tokens;
    zero += z.loss * z.tokens;
    tokens += c.tokens;
  }
  if (tokens === 0) throw new RangeError("Cannot compute spliced loss: no tokens were evaluated");
  clean /= tokens;
  spliced /= tokens;
  zero /= tokens;
  return { clean, spliced, zeroAblation: zero, lossRecovered: (zero - spliced) / (zero - clean), tokens };
}
