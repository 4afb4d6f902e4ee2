/**
 * The words of a toy sweep (`toy.json`) that the terminal table of `deno task toy` and the ground-truth page
 * both print, in one place so the two say the same: a member's next-larger dictionary's live latents against
 * the member's size, and the sentence of the choice rule.
 *
 * @module
 */
import type { ToyJson, ToyJsonMember } from "@saelab/runs";

/** The thresholds of the choice rule, as `toy.json`'s `choose` records them. */
export interface ToyChoiceThresholds {
  /** Most dead latents a candidate may have, as a fraction (unless they are spare). */
  maxDead: number;
  /** Fewest mean active latents per row. */
  minL0: number;
  /** Most mean active latents per row, as a fraction of d. */
  maxL0Fraction: number;
}

/**
 * The "larger live / size" cell of a member: how many latents of its next-larger dictionary (or of the
 * comparison-only partner, for the largest member) fire on the held-out rows, over this member's number of
 * latents (`ratio · d`). Its dead latents are spare when the first is at most the second.
 *
 * @param toy `toy.json` (its `toy.d`).
 * @param member The member.
 * @returns `live/size`; `–` when `largerAlive` is null (no larger dictionary) or absent (older files); the size
 *   `?` when the file records no `d`.
 * @example
 * ```ts
 * import { toyLargerAliveText } from "@saelab/report";
 * if (toyLargerAliveText({ toy: { d: 32 } }, { ratio: 4, largerAlive: 85 }) !== "85/128") throw new Error();
 * if (toyLargerAliveText({}, { ratio: 4 }) !== "–") throw new Error();
 * ```
 */
export function toyLargerAliveText(
  toy: Pick<ToyJson, "toy">,
  member: Pick<ToyJsonMember, "ratio" | "largerAlive">,
): string {
  if (typeof member.largerAlive !== "number") return "–";
  const d = toy.toy?.d;
  return `${member.largerAlive}/${typeof d === "number" && Number.isFinite(d) ? member.ratio * d : "?"}`;
}

/**
 * The choice rule (`chooseToyMember` of `@saelab/sae`) in one sentence, with its thresholds and the exception for
 * spare dead latents.
 *
 * @param choose The thresholds (`toy.json`'s `choose`, its gaps filled by the caller's defaults or not).
 * @param options `spareRecorded`: whether the file records `largerAlive` (older files do not, and then no
 *   member's dead latents counted as spare).
 * @returns The sentence, or null when a threshold is not a finite number.
 * @example
 * ```ts
 * import { toyChoiceRuleText } from "@saelab/report";
 * const text = toyChoiceRuleText({ maxDead: 0.1, minL0: 1, maxL0Fraction: 0.5 }, { spareRecorded: true });
 * if (!text?.includes("at most 10% dead latents unless they are spare")) throw new Error(String(text));
 * ```
 */
export function toyChoiceRuleText(
  choose: Partial<Record<keyof ToyChoiceThresholds, unknown>> | undefined,
  options: { spareRecorded: boolean },
): string | null {
  const { maxDead, minL0, maxL0Fraction } = choose ?? {};
  const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  if (!finite(maxDead) || !finite(minL0) || !finite(maxL0Fraction)) return null;
  const rule = `Choice: the highest MMCS with the next-larger dictionary over its live latents (“between, live”; ` +
    `over all its latents where that was not measured) among members that have a larger dictionary, at most ` +
    `${Number((100 * maxDead).toFixed(2))}% dead latents unless they are spare (larger live ≤ size: the larger ` +
    `dictionary uses no more latents than this one has), and L0 from ${minL0} to ${maxL0Fraction}·d; ties go to ` +
    "the smaller R, then the larger α (when no member passes, the same order over all that have a larger dictionary).";
  return options.spareRecorded ? rule : `${rule} This file does not record larger live: no member's dead latents ` +
    "counted as spare.";
}
