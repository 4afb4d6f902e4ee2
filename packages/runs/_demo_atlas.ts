/**
 * The atlas entry of a synthetic feature, derived from its detail without drawing random numbers (so the
 * rest of the demo run stays as it was): its top fragments, its random ones sorted into four activation
 * intervals, the shares from its histogram, and the tokens at the fragments' peaks.
 *
 * @module
 */
import type { AtlasEntry, TopToken } from "./atlas_types.ts";
import type { FeatureDetail, Fragment } from "./feature_types.ts";

const INTERVALS = 4;

const peakOf = (f: Fragment) => f.acts.indexOf(Math.max(...f.acts));

/** The atlas entry of a demo feature. */
export function demoAtlasEntry(detail: Omit<FeatureDetail, "logits" | "neighbours">): AtlasEntry {
  const max = detail.maxActivation;
  const withPeak = (f: Fragment): Fragment => ({ ...f, peak: peakOf(f) });
  const { edges, counts } = detail.histogram;
  const total = counts.reduce((a, b) => a + b, 0);
  const intervals = Array.from({ length: INTERVALS }, (_, k) => {
    const q = INTERVALS - 1 - k; // highest first
    const low = (max * q) / INTERVALS, high = (max * (q + 1)) / INTERVALS;
    const inside = (v: number) => Math.min(INTERVALS - 1, Math.floor((INTERVALS * v) / max)) === q;
    const binned = counts.reduce((n, c, b) => n + (inside((edges[b] + edges[b + 1]) / 2) ? c : 0), 0);
    return {
      low,
      high,
      share: total ? binned / total : 0,
      fragments: detail.random.filter((f) => inside(Math.max(...f.acts))).map(withPeak),
    };
  });
  const tokens = new Map<string, TopToken>();
  for (const f of [...detail.top, ...detail.random]) {
    const p = peakOf(f);
    const t = tokens.get(f.tokens[p]);
    if (t) {
      t.max = Math.max(t.max, f.acts[p]);
      t.count++;
    } else tokens.set(f.tokens[p], { token: f.tokens[p], max: f.acts[p], count: 1 });
  }
  return {
    index: detail.index,
    density: detail.density,
    maxActivation: max,
    meanActivation: detail.meanActivation ?? 0,
    fragments: detail.top.length + detail.random.length,
    histogram: detail.histogram,
    top: detail.top.map(withPeak),
    intervals,
    topTokens: [...tokens.values()].sort((a, b) => b.max - a.max),
  };
}
