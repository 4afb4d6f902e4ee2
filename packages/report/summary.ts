/**
 * Reductions of run data into the rows the charts and tables show.
 *
 * @module
 */
import type { DictEval, MetricRow, SplicedLoss } from "@saelab/runs";

/** A vega-lite specification (a plain JSON object). */
export type VegaLiteSpec = Record<string, unknown>;

/** A named dictionary evaluation, the input of the sweep charts and tables. */
export interface NamedEval {
  /** Dictionary name. */
  name: string;
  /** Its `eval.json`. */
  eval: DictEval;
}

/** One SAE sweep member as plotted: ratio R, coefficient α and its evaluation. */
export interface MemberPoint {
  /** Member name. */
  name: string;
  /** Dictionary ratio R = d_sae / d_in. */
  ratio: number;
  /** L1 coefficient α (NaN when unknown). */
  alpha: number;
  /** Fraction of variance unexplained. */
  fvu: number;
  /** Mean active features per token. */
  l0: number;
  /** Fraction of dead features. */
  deadFraction: number;
  /** MMCS against the reference dictionary, when measured. */
  mmcs?: number;
  /** The reference dictionary of `mmcs`. */
  mmcsReference?: string;
  /** The same statistic for seeded random unit vectors of the same sizes (the chance level), when measured. */
  mmcsChance?: number;
  /** The SAE kind (`"untied"`, `"tied"`, …), when the evaluation records it. */
  variant?: string;
}

/** A number written either bare or as `{ value }`; `undefined` otherwise. */
function numberOf(x: unknown): number | undefined {
  const v = typeof x === "object" && x !== null ? (x as { value?: unknown }).value : x;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * The SAE members among named evaluations, sorted by R then α.
 *
 * @param evals Evaluations of SAEs and baselines.
 * @returns One point per SAE.
 * @example
 * ```ts
 * import { memberPoints } from "@saelab/report";
 * const e = { kind: "sae", method: "sae", dIn: 4, dSae: 8, l1Coefficient: 0.01, fvu: 0.1, l0: 3, deadFraction: 0 } as const;
 * memberPoints([{ name: "r2", eval: e }])[0].ratio; // 2
 * ```
 */
export function memberPoints(evals: readonly NamedEval[]): MemberPoint[] {
  return evals
    .filter((e) => e.eval.kind === "sae")
    .map(({ name, eval: e }) => {
      // fields that newer evaluations write: the SAE kind and MMCS's chance level
      const extra = e as unknown as { variant?: unknown; mmcsChance?: unknown; mmcsReference?: unknown };
      const ratio = e.ratio ?? e.dSae / e.dIn;
      const variant = typeof extra.variant === "string" ? extra.variant : undefined;
      const mmcs = numberOf(e.mmcs), chance = numberOf(extra.mmcsChance);
      const reference = (e.mmcs as { reference?: unknown } | undefined)?.reference ?? extra.mmcsReference;
      return {
        name,
        ratio,
        alpha: e.l1Coefficient ?? NaN,
        fvu: e.fvu,
        l0: e.l0,
        deadFraction: e.deadFraction,
        ...(mmcs !== undefined ? { mmcs } : {}),
        ...(mmcs !== undefined && typeof reference === "string" ? { mmcsReference: reference } : {}),
        ...(chance !== undefined ? { mmcsChance: chance } : {}),
        ...(variant ? { variant } : {}),
      };
    })
    .sort((a, b) => a.ratio - b.ratio || a.alpha - b.alpha || a.name.localeCompare(b.name));
}

/**
 * Fraction of the zero-ablation loss increase that splicing the dictionary in recovers:
 * `(zeroAblation − spliced) / (zeroAblation − clean)`; 1 is perfect, 0 is no better than zeros.
 *
 * @param loss Clean, spliced and zero-ablation cross-entropies.
 * @returns The fraction, or NaN when clean equals zero-ablation.
 * @example
 * ```ts
 * import { lossRecovered } from "@saelab/report";
 * lossRecovered({ clean: 3, spliced: 3.5, zeroAblation: 5 }); // 0.75
 * ```
 */
export function lossRecovered(loss: SplicedLoss): number {
  const gap = loss.zeroAblation - loss.clean;
  return gap === 0 ? NaN : (loss.zeroAblation - loss.spliced) / gap;
}

/**
 * Keep at most `maxPerMember` rows per member, evenly spaced in file order, always keeping each
 * member's last row.
 *
 * @param rows Metric rows.
 * @param options The budget per member.
 * @returns The kept rows, in the original order.
 * @example
 * ```ts
 * import { downsampleRows } from "@saelab/report";
 * const rows = Array.from({ length: 10 }, (_, step) => ({ member: "a", step, loss: 1, mse: 1, l0: 1 }));
 * downsampleRows(rows, { maxPerMember: 3 }).map((r) => r.step); // [0, 5, 9]
 * ```
 */
export function downsampleRows(rows: readonly MetricRow[], options: { maxPerMember: number }): MetricRow[] {
  const max = Math.max(2, Math.floor(options.maxPerMember));
  const byMember = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const list = byMember.get(r.member) ?? [];
    list.push(i);
    byMember.set(r.member, list);
  });
  const keep = new Set<number>();
  for (const idx of byMember.values()) {
    if (idx.length <= max) idx.forEach((i) => keep.add(i));
    else {
      for (let k = 0; k < max - 1; k++) keep.add(idx[Math.floor((k * idx.length) / (max - 1))]);
      keep.add(idx[idx.length - 1]);
    }
  }
  return rows.filter((_, i) => keep.has(i));
}

/**
 * The last row of each member (the latest step), in member order of first appearance.
 *
 * @param rows Metric rows.
 * @returns One row per member.
 * @example
 * ```ts
 * import { lastRows } from "@saelab/report";
 * lastRows([{ member: "a", step: 0, loss: 2, mse: 1, l0: 1 }, { member: "a", step: 5, loss: 1, mse: 1, l0: 1 }])[0].step; // 5
 * ```
 */
export function lastRows(rows: readonly MetricRow[]): MetricRow[] {
  const last = new Map<string, MetricRow>();
  for (const r of rows) {
    const prev = last.get(r.member);
    if (!prev || r.step >= prev.step) last.set(r.member, r);
  }
  return [...last.values()];
}

/**
 * Format a number for tables: `digits` significant digits, exponent form for very small or large
 * magnitudes, an en dash for missing values.
 *
 * @param x Value.
 * @param options Significant digits (default 3).
 * @returns Text.
 * @example
 * ```ts
 * import { formatNumber } from "@saelab/report";
 * formatNumber(0.000123); // "1.23e-4"
 * formatNumber(12.3456); // "12.3"
 * ```
 */
export function formatNumber(x: number | undefined | null, options: { digits?: number } = {}): string {
  if (x === undefined || x === null || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  const digits = options.digits ?? 3;
  if (x === 0) return "0";
  const mag = Math.abs(x);
  if (mag < 1e-3 || mag >= 1e6) return x.toExponential(digits - 1).replace("e+", "e").replace(/\.?0+e/, "e");
  if (Number.isInteger(x) && mag < 1e6) return String(x);
  return String(Number(x.toPrecision(digits)));
}
