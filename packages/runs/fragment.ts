/**
 * Fragments cut around their peak token, one rule for the atlas that stores them and the pages that draw them.
 *
 * @module
 */
import type { Fragment } from "./feature_types.ts";

/**
 * A fragment cut around its peak token: `fragment.peak` when it names a token, else the first largest
 * activation; `before` tokens before it and `after` after it, fewer at the fragment's ends. `peak` is set to
 * the peak's position in the cut and `start` moves with the cut.
 *
 * @param fragment Tokens and activations.
 * @param options Tokens kept before and after the peak (default: all).
 * @returns The cut fragment with `peak` set.
 * @example
 * ```ts
 * import { centreOnPeak } from "@saelab/runs";
 * const c = centreOnPeak({ tokens: ["a", "b", "c", "d"], acts: [0, 0, 3, 1], start: 10 }, { before: 1, after: 0 });
 * if (c.tokens.join("") !== "bc" || c.peak !== 1 || c.start !== 11) throw new Error();
 * ```
 */
export function centreOnPeak(fragment: Fragment, options: { before?: number; after?: number } = {}): Fragment {
  let peak = fragment.peak ?? -1;
  if (!(Number.isInteger(peak) && peak >= 0 && peak < fragment.acts.length)) {
    peak = 0;
    fragment.acts.forEach((a, t) => {
      if (a > fragment.acts[peak]) peak = t;
    });
  }
  const from = Math.max(0, peak - (options.before ?? Infinity));
  const to = Math.min(fragment.tokens.length, peak + (options.after ?? Infinity) + 1);
  if (from === 0 && to === fragment.tokens.length) return { ...fragment, peak };
  return {
    ...fragment,
    tokens: fragment.tokens.slice(from, to),
    acts: fragment.acts.slice(from, to),
    ...(fragment.start !== undefined ? { start: fragment.start + from } : {}),
    peak: peak - from,
  };
}
