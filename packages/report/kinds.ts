/**
 * SAE kinds compared, as data: the members of each kind with their metrics, each kind's frontier, and the
 * kinds at shared L0 values (drawn by `specs_kinds.ts`). Kinds come from what the members' evaluations record
 * (`variant`), so a kind added to the registry later appears without a change here. A kind's frontier is its
 * Pareto-optimal members (no other member of the kind has both a lower L0 and a better value), joined in order
 * of L0; values between two frontier members are interpolated linearly in log L0, and never extrapolated.
 *
 * @module
 */
import type { ScoresJson } from "@saelab/runs";
import { memberPoints, type NamedEval } from "./summary.ts";
import { scoreRules } from "./specs_results.ts";

/** What the kinds are compared on, and which way is better. */
export const KIND_METRICS = Object.freeze(
  [
    { key: "fvu", label: "FVU", better: "lower" },
    { key: "deltaCe", label: "ΔCE (nats)", better: "lower" },
    { key: "klDiv", label: "KL (nats)", better: "lower" },
    { key: "score", label: "score", better: "higher" },
  ] as const,
);

/** A metric of {@linkcode KIND_METRICS}. */
export type KindMetric = (typeof KIND_METRICS)[number]["key"];

/** One SAE member as the kind comparison sees it. */
export interface KindMember {
  /** Member name. */
  name: string;
  /** Its kind as the evaluation records it (`"sae"` when it records none). */
  kind: string;
  /** Mean active features per token. */
  l0: number;
  /** The metrics it has. */
  values: Partial<Record<KindMetric, number>>;
}

/** The reference levels drawn with the frontiers. */
export interface KindReferences {
  /** Baselines with their L0 and the metrics they have. */
  baselines: KindMember[];
  /** ΔCE of replacing the activation by its training mean and by zeros, when measured. */
  meanAblation: number | null;
  /** The same for zeros. */
  zeroAblation: number | null;
  /** Scores of the random-direction and neuron baselines. */
  scores: { name: string; mean: number }[];
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/**
 * The members and baselines of a run with the metrics the comparison uses.
 *
 * @param evals Evaluations of SAEs and baselines.
 * @param options `scores.json`, for the explanation score of each dictionary.
 * @returns The SAE members, and the reference levels.
 * @example
 * ```ts
 * import { kindMembers } from "@saelab/report";
 * const e = { kind: "sae", method: "sae", dIn: 4, dSae: 8, fvu: 0.1, l0: 3, deadFraction: 0, variant: "topk" } as const;
 * if (kindMembers([{ name: "m", eval: e }]).members[0].kind !== "topk") throw new Error();
 * ```
 */
export function kindMembers(
  evals: readonly NamedEval[],
  options: { scores?: ScoresJson | null } = {},
): { members: KindMember[]; references: KindReferences } {
  const variant = new Map(memberPoints(evals).map((p) => [p.name, p.variant ?? "sae"]));
  const of = ({ name, eval: e }: NamedEval): KindMember => {
    const deltaCe = e.deltaCe ?? (e.splicedLoss ? e.splicedLoss.spliced - e.splicedLoss.clean : undefined);
    const score = options.scores?.dicts[name]?.mean;
    const values: Partial<Record<KindMetric, number>> = {};
    for (const [k, x] of [["fvu", e.fvu], ["deltaCe", deltaCe], ["klDiv", e.klDiv], ["score", score]] as const) {
      if (finite(x)) values[k] = x;
    }
    return { name, kind: variant.get(name) ?? e.method, l0: e.l0, values };
  };
  const spliced = evals.map((e) => e.eval.spliced).find((s) => s !== undefined);
  return {
    members: evals.filter((e) => e.eval.kind === "sae" && e.eval.l0 > 0).map(of),
    references: {
      baselines: evals.filter((e) => e.eval.kind === "baseline" && e.eval.l0 > 0).map(of),
      meanAblation: spliced ? spliced.meanAblation - spliced.clean : null,
      zeroAblation: spliced ? spliced.zeroAblation - spliced.clean : null,
      scores: options.scores ? scoreRules(options.scores) : [],
    },
  };
}

/**
 * Each kind's frontier on one metric: its Pareto-optimal members in order of L0.
 *
 * @param members The members.
 * @param metric What the frontier is of.
 * @returns Frontier points by kind, kinds in name order.
 * @example
 * ```ts
 * import { kindFrontiers } from "@saelab/report";
 * const m = (name: string, l0: number, fvu: number) => ({ name, kind: "untied", l0, values: { fvu } });
 * const f = kindFrontiers([m("a", 2, 0.5), m("b", 4, 0.6), m("c", 8, 0.2)], "fvu");
 * if (f.get("untied")!.map((p) => p.name).join() !== "a,c") throw new Error("b is dominated by a");
 * ```
 */
export function kindFrontiers(
  members: readonly KindMember[],
  metric: KindMetric,
): Map<string, { name: string; l0: number; value: number }[]> {
  const better = KIND_METRICS.find((m) => m.key === metric)!.better === "lower" ? 1 : -1;
  const out = new Map<string, { name: string; l0: number; value: number }[]>();
  for (const kind of [...new Set(members.map((m) => m.kind))].sort()) {
    const points = members.filter((m) => m.kind === kind && finite(m.values[metric]))
      .map((m) => ({ name: m.name, l0: m.l0, value: m.values[metric]! }))
      .sort((a, b) => a.l0 - b.l0 || better * (a.value - b.value));
    const front: typeof points = [];
    for (const p of points) if (!front.length || better * (p.value - front.at(-1)!.value) < 0) front.push(p);
    if (front.length) out.set(kind, front);
  }
  return out;
}

/**
 * A frontier's value at an L0, linear in log L0 between the two frontier points around it.
 *
 * @param front Frontier points in order of L0.
 * @param l0 Where.
 * @returns The value, or null outside the frontier's L0 range.
 * @example
 * ```ts
 * import { atL0 } from "@saelab/report";
 * const v = atL0([{ l0: 1, value: 0.4 }, { l0: 100, value: 0.2 }], 10)!; // halfway in log L0
 * if (Math.abs(v - 0.3) > 1e-12) throw new Error(String(v));
 * ```
 */
export function atL0(front: readonly { l0: number; value: number }[], l0: number): number | null {
  if (!front.length || l0 < front[0].l0 || l0 > front.at(-1)!.l0) return null;
  const i = front.findIndex((p) => p.l0 >= l0);
  const b = front[i];
  if (b.l0 === l0 || i === 0) return b.value;
  const a = front[i - 1];
  const t = (Math.log(l0) - Math.log(a.l0)) / (Math.log(b.l0) - Math.log(a.l0));
  return a.value + t * (b.value - a.value);
}

/** One row of the matched-L0 table. */
export interface MatchedRow {
  /** The shared L0. */
  l0: number;
  /** The kind. */
  kind: string;
  /** Each metric on the kind's frontier at that L0 (null outside its range or where not measured). */
  values: Record<KindMetric, number | null>;
}

/**
 * The kinds at shared L0 values: `count` values spaced evenly in log L0 across the range that every kind's
 * FVU frontier covers, each metric interpolated on the kind's own frontier of that metric.
 *
 * @param members The members (two kinds or more for a comparison).
 * @param options How many L0 values (default 3).
 * @returns The rows (none when fewer than two kinds or their ranges do not overlap) and the shared range.
 * @example
 * ```ts
 * import { matchedL0 } from "@saelab/report";
 * const m = (kind: string, l0: number, fvu: number) => ({ name: `${kind}${l0}`, kind, l0, values: { fvu } });
 * const { rows } = matchedL0([m("a", 1, 0.5), m("a", 100, 0.1), m("b", 10, 0.2), m("b", 1000, 0.05)]);
 * if (rows.length !== 6 || rows[0].l0 !== 10) throw new Error();
 * ```
 */
export function matchedL0(
  members: readonly KindMember[],
  options: { count?: number } = {},
): { rows: MatchedRow[]; range: [number, number] | null } {
  const fronts = Object.fromEntries(KIND_METRICS.map((m) => [m.key, kindFrontiers(members, m.key)])) as Record<
    KindMetric,
    ReturnType<typeof kindFrontiers>
  >;
  const fvu = [...fronts.fvu.values()];
  if (fvu.length < 2) return { rows: [], range: null };
  const lo = Math.max(...fvu.map((f) => f[0].l0)), hi = Math.min(...fvu.map((f) => f.at(-1)!.l0));
  if (!(lo <= hi)) return { rows: [], range: null };
  const count = lo === hi ? 1 : Math.max(2, options.count ?? 3);
  const l0s = Array.from(
    { length: count },
    (_, i) =>
      i === 0 ? lo : i === count - 1 ? hi : Math.exp(Math.log(lo) + (i / (count - 1)) * (Math.log(hi) - Math.log(lo))),
  );
  const rows = l0s.flatMap((l0) =>
    [...fronts.fvu.keys()].map((kind) => ({
      l0,
      kind,
      values: Object.fromEntries(
        KIND_METRICS.map((m) => [m.key, atL0(fronts[m.key].get(kind) ?? [], l0)]),
      ) as Record<KindMetric, number | null>,
    }))
  );
  return { rows, range: [lo, hi] };
}
