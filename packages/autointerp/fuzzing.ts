/**
 * Fuzzing, after delphi (Paulo et al. 2024, "Automatically interpreting
 * millions of features in large language models"): a judge sees activating
 * fragments with some tokens highlighted and says whether the highlighting
 * matches the explanation. Each held-out activating fragment is shown twice:
 * once highlighted at its activating tokens (correct) and once highlighted at
 * as many tokens drawn at random among its non-activating ones (fuzzed), so
 * half the items are fuzzed. delphi's default draws its wrong items from
 * non-activating fragments highlighted at an activating fragment's positions;
 * its `active` variant, closer to this one, shifts the correct positions by
 * one token. Here the wrong positions are uniform over the fragment's
 * non-activating tokens. The score is the balanced accuracy (chance 0.5) with
 * the accuracy on each class.
 *
 * @module
 */
import type { Fragment } from "@saelab/runs";
import type { FuzzingScore, MarkedFragment } from "./types.ts";

/** Options of {@linkcode fuzzItems}. */
export interface FuzzOptions {
  /** A token is activating when its activation exceeds this fraction of the fragment's largest. Default 0 (> 0). */
  markAbove?: number;
}

/** A fragment highlighted for the judge, and whether the highlighting is the true one. */
export interface FuzzItem {
  /** Tokens and highlighting. */
  fragment: MarkedFragment;
  /** True when the activating tokens are highlighted; false when random non-activating ones are. */
  correct: boolean;
}

/**
 * Highlight each fragment correctly and at random non-activating tokens (the same number), in a seeded order.
 *
 * @param fragments Activating fragments with their true activations.
 * @param random A uniform generator in [0, 1) (seeded by the caller).
 * @param options Which tokens count as activating.
 * @returns Correct and fuzzed items, shuffled; fragments without activating tokens give none, and fragments
 *   active on every token give only the correct item.
 * @example
 * ```ts
 * import { fuzzItems } from "@saelab/autointerp";
 * const items = fuzzItems([{ tokens: ["a", "b", "c"], acts: [0, 2, 0] }], () => 0.3);
 * const fuzzed = items.find((i) => !i.correct)!;
 * if (items.length !== 2 || fuzzed.fragment.marked[1] || fuzzed.fragment.marked.filter(Boolean).length !== 1) {
 *   throw new Error(JSON.stringify(items));
 * }
 * ```
 */
export function fuzzItems(
  fragments: readonly Fragment[],
  random: () => number,
  options: FuzzOptions = {},
): FuzzItem[] {
  const above = options.markAbove ?? 0;
  const items: FuzzItem[] = [];
  for (const f of fragments) {
    let max = 0;
    for (const a of f.acts) max = Math.max(max, a);
    if (!(max > 0)) continue;
    const active = f.acts.map((a) => a > 0 && a > above * max);
    const k = active.filter(Boolean).length;
    items.push({ fragment: { tokens: [...f.tokens], marked: active }, correct: true });
    const others = active.flatMap((on, i) => (on ? [] : [i]));
    if (others.length === 0) continue;
    for (let i = 0; i < Math.min(k, others.length); i++) { // partial Fisher–Yates: the first k are the draw
      const j = i + Math.floor(random() * (others.length - i));
      [others[i], others[j]] = [others[j], others[i]];
    }
    const marked = new Array<boolean>(f.tokens.length).fill(false);
    for (const i of others.slice(0, k)) marked[i] = true;
    items.push({ fragment: { tokens: [...f.tokens], marked }, correct: false });
  }
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Score a judge's answers: an answer ≥ 0.5 says "correctly highlighted".
 *
 * @param judgements One probability per item.
 * @param correct Whether each item is correctly highlighted.
 * @returns Balanced and per-class accuracies, or `null` when either class is empty.
 * @example
 * ```ts
 * import { fuzzingScore } from "@saelab/autointerp";
 * const s = fuzzingScore([1, 1, 1, 0], [true, true, false, false])!;
 * if (s.balancedAccuracy !== 0.75 || s.fuzzedAccuracy !== 0.5) throw new Error(JSON.stringify(s));
 * ```
 */
export function fuzzingScore(judgements: readonly number[], correct: readonly boolean[]): FuzzingScore | null {
  if (judgements.length !== correct.length) {
    throw new RangeError(`Cannot score fuzzing: ${judgements.length} answers for ${correct.length} items`);
  }
  let nCorrect = 0, nFuzzed = 0, rightCorrect = 0, rightFuzzed = 0;
  judgements.forEach((p, i) => {
    if (correct[i]) {
      nCorrect++;
      if (p >= 0.5) rightCorrect++;
    } else {
      nFuzzed++;
      if (p < 0.5) rightFuzzed++;
    }
  });
  if (nCorrect === 0 || nFuzzed === 0) return null;
  const correctAccuracy = rightCorrect / nCorrect, fuzzedAccuracy = rightFuzzed / nFuzzed;
  return {
    balancedAccuracy: (correctAccuracy + fuzzedAccuracy) / 2,
    correctAccuracy,
    fuzzedAccuracy,
    nCorrect,
    nFuzzed,
  };
}

/**
 * A fragment as the judge reads it: the text with each run of highlighted tokens between `<<` and `>>`.
 *
 * @param fragment Tokens and highlighting.
 * @returns The text.
 * @example
 * ```ts
 * import { markedText } from "@saelab/autointerp";
 * const t = markedText({ tokens: [" the", " big", " cat", "."], marked: [false, true, true, false] });
 * if (t !== " the<< big cat>>.") throw new Error(t);
 * ```
 */
export function markedText(fragment: MarkedFragment): string {
  let out = "";
  fragment.tokens.forEach((t, i) => {
    const on = fragment.marked[i], before = i > 0 && fragment.marked[i - 1], after = fragment.marked[i + 1] === true;
    out += `${on && !before ? "<<" : ""}${t}${on && !after ? ">>" : ""}`;
  });
  return out;
}
