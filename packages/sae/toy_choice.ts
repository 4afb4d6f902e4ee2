/**
 * What each kind of a toy sweep recovered: per kind, the member that the signals available without
 * ground truth pick ({@linkcode chooseToyMember} over that kind's members only), set against the
 * kind's best member by the ground truth and the chance level.
 *
 * @module
 */
import type { ToyChance, ToyJsonKind, ToyJsonMember } from "@saelab/runs";
import { TOY_RECOVERED } from "@saelab/runs";

/** Thresholds of {@linkcode chooseToyMember}. */
export interface ChooseOptions {
  /** Most dead features a candidate may have, as a fraction. Default 0.1. */
  maxDead?: number;
  /** Fewest mean active features per row. Default 1. */
  minL0?: number;
  /** Most mean active features per row, as a fraction of d. Default 0.5. */
  maxL0Fraction?: number;
}

/** The defaults of {@linkcode ChooseOptions}. */
export const CHOOSE_DEFAULTS: Required<ChooseOptions> = Object.freeze({ maxDead: 0.1, minL0: 1, maxL0Fraction: 0.5 });

/**
 * Whether a member's dead latents are spare room rather than features it failed to learn: its next-larger
 * dictionary, given more latents, has no more live ones (`largerAlive`, those that fire on the held-out rows) than
 * this member has latents (`ratio · d`). The data then holds no more directions that a dictionary of this size
 * could have learned, so the dead latents cost nothing (dead latents appear once a dictionary exceeds the number of
 * true features; on the toy the fixed-k, JumpReLU and gated kinds leave 40–50% of R 4 dead while recovering the
 * truth at MMCS 0.94–0.99). False when `largerAlive` was not measured (older files). No ground truth is used.
 *
 * @param member The member.
 * @param d The input dimension.
 * @returns Whether its dead latents are spare.
 * @example
 * ```ts
 * import { spareDead } from "@saelab/sae";
 * const m = { ratio: 4, deadFraction: 0.46 };
 * if (!spareDead({ ...m, largerAlive: 85 }, 32) || spareDead({ ...m, largerAlive: 129 }, 32)) throw new Error();
 * ```
 */
export function spareDead(member: Pick<ToyJsonMember, "ratio" | "largerAlive">, d: number): boolean {
  return typeof member.largerAlive === "number" && member.largerAlive <= member.ratio * d;
}

/**
 * The member the signals available without ground truth pick. Deterministic:
 * 1. candidates are members with an MMCS to a larger dictionary (`mmcsBetween` not null), at most
 *    `maxDead` dead features unless those are spare ({@linkcode spareDead}), and a non-degenerate L0:
 *    `minL0 ≤ l0 ≤ maxL0Fraction · d`;
 * 2. the candidate with the highest MMCS with the next-larger dictionary wins — over that dictionary's live
 *    latents (`mmcsBetweenAlive`) where measured, else over all of them (`mmcsBetween`, the paper code's
 *    mean): a dead latent keeps its random initial direction, so counting it punishes a member for its
 *    larger partner's dead latents (the fixed-k and gated kinds leave many at R 4 on the toy). Ties go to
 *    the smaller R, then the larger α, then the name;
 * 3. when no member passes step 1's dead and L0 filters, the same order over every member with an
 *    `mmcsBetween`; when none has one, the first member.
 *
 * @param members The sweep's members.
 * @param d The input dimension (for the L0 bound).
 * @param options Thresholds.
 * @returns The chosen member's name.
 * @throws {RangeError} When `members` is empty.
 * @example
 * ```ts
 * import { chooseToyMember } from "@saelab/sae";
 * const m = { kind: "untied" as const, l1: 1e-3, l0: 5, deadFraction: 0 };
 * const name = chooseToyMember([
 *   { ...m, name: "a", ratio: 1, mmcsTruth: 0.6, mmcsBetween: 0.7 },
 *   { ...m, name: "b", ratio: 2, mmcsTruth: 0.95, mmcsBetween: 0.9 },
 *   { ...m, name: "c", ratio: 4, mmcsTruth: 0.97, mmcsBetween: null },
 * ], 32);
 * if (name !== "b") throw new Error(name);
 * ```
 */
export function chooseToyMember(members: readonly ToyJsonMember[], d: number, options: ChooseOptions = {}): string {
  if (members.length === 0) throw new RangeError("Cannot choose a toy member: the sweep has no members");
  const { maxDead, minL0, maxL0Fraction } = { ...CHOOSE_DEFAULTS, ...options };
  const paired = members.filter((m) => m.mmcsBetween !== null);
  const healthy = paired.filter((m) =>
    (m.deadFraction <= maxDead || spareDead(m, d)) && m.l0 >= minL0 && m.l0 <= maxL0Fraction * d
  );
  const pool = healthy.length > 0 ? healthy : paired;
  if (pool.length === 0) return members[0].name;
  const between = (m: ToyJsonMember) => m.mmcsBetweenAlive ?? m.mmcsBetween!;
  const order = (a: ToyJsonMember, b: ToyJsonMember) =>
    (between(b) - between(a)) || (a.ratio - b.ratio) || (b.l1 - a.l1) || a.name.localeCompare(b.name);
  return [...pool].sort(order)[0].name;
}

/**
 * Per kind, in the order the kinds first appear: the member {@linkcode chooseToyMember} picks among that
 * kind's members (no ground truth: MMCS with the kind's own next-larger dictionary, dead fraction, L0),
 * its MMCS with the truth and chance level, the kind's best member by the truth, and whether the choice
 * picked well (the chosen member recovered the features, MMCS ≥ `TOY_RECOVERED`; or none of the kind
 * did and the chosen one is the best).
 *
 * @param members The sweep's members.
 * @param options `d`, the chance levels of `mmcsTruth` per ratio, and the choice thresholds.
 * @returns One entry per kind.
 * @example
 * ```ts
 * import { compareToyKinds } from "@saelab/sae";
 * const m = { l1: 0, l0: 5, deadFraction: 0 };
 * const kinds = compareToyKinds([
 *   { ...m, kind: "topk", name: "t1", ratio: 1, mmcsTruth: 0.7, mmcsBetween: 0.6 },
 *   { ...m, kind: "topk", name: "t2", ratio: 2, mmcsTruth: 0.95, mmcsBetween: 0.9 },
 *   { ...m, kind: "topk", name: "t4", ratio: 4, mmcsTruth: 0.97, mmcsBetween: null },
 * ], { d: 32, truthChance: [{ ratio: 2, value: 0.4 }] });
 * if (kinds[0].chosen !== "t2" || !kinds[0].pickedWell || kinds[0].best !== "t4") throw new Error();
 * ```
 */
export function compareToyKinds(
  members: readonly ToyJsonMember[],
  options: { d: number; truthChance?: readonly ToyChance[]; choose?: ChooseOptions },
): ToyJsonKind[] {
  const kinds = [...new Set(members.map((m) => m.kind))];
  return kinds.map((kind) => {
    const own = members.filter((m) => m.kind === kind);
    const chosen = own.find((m) => m.name === chooseToyMember(own, options.d, options.choose))!;
    const best = own.reduce((a, b) => (b.mmcsTruth > a.mmcsTruth ? b : a));
    const recovered = chosen.mmcsTruth >= TOY_RECOVERED;
    return {
      kind,
      chosen: chosen.name,
      chosenMmcsTruth: chosen.mmcsTruth,
      chance: options.truthChance?.find((c) => c.ratio === chosen.ratio)?.value ?? null,
      best: best.name,
      bestMmcsTruth: best.mmcsTruth,
      recovered,
      pickedWell: recovered || (best.mmcsTruth < TOY_RECOVERED && best.name === chosen.name),
    };
  });
}
