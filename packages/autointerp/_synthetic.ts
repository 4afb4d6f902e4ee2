/**
 * Synthetic text and planted features for tests: random words in fragments, and features defined
 * by the text (a token, the token after a word) or by nothing (noise).
 *
 * @module
 */
import { seededRandom } from "@saelab/core";
import type { Fragment } from "@saelab/runs";
import { selectFeatures } from "./select.ts";
import type { FeatureSample } from "./types.ts";

export const WORDS = [" the", " cat", " dog", " sat", " on", " a", " mat", " and", " ran", " away", ".", " it"];

/** `count` fragments of `length` random words. */
export function randomText(count: number, length: number, seed: number): string[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]));
}

/** Activation of a planted feature on every token. */
export type Planted = (tokens: string[], t: number, random: () => number) => number;

export const onCat: Planted = (tok, t) => (tok[t] === " cat" ? 3 : tok[t] === " dog" ? 1 : 0);
export const afterThe: Planted = (tok, t) => (t > 0 && tok[t - 1] === " the" ? 2 : 0);
export const noise: Planted = (_tok, _t, random) => (random() < 0.08 ? random() * 3 : 0);

/** The samples of planted features over the fragments, chosen as the GPU path chooses them. */
export function plantedSamples(text: string[][], features: Planted[], seed = 0): FeatureSample[] {
  const random = seededRandom(seed + 1);
  const L = text[0].length, nf = text.length, nF = features.length;
  const acts = text.map((tok) => features.map((f) => tok.map((_, t) => f(tok, t, random))));
  const max = new Float32Array(nf * nF), nnz = new Float32Array(nf * nF), sum = new Float32Array(nf * nF);
  acts.forEach((perF, f) =>
    perF.forEach((a, j) => {
      max[f * nF + j] = Math.max(...a);
      nnz[f * nF + j] = a.filter((v) => v !== 0).length;
      sum[f * nF + j] = a.reduce((s, v) => s + v, 0);
    })
  );
  const sel = selectFeatures({ fragments: nf, features: nF, length: L, max, nnz, sum }, "planted", { seed });
  const frag = (f: number, j: number): Fragment => ({ tokens: text[f], acts: acts[f][j] });
  return sel.chosen.map((c) => ({
    dict: "planted",
    index: c.index,
    density: sel.summaries[c.index].density,
    maxActivation: sel.summaries[c.index].maxActivation,
    meanActivation: sel.summaries[c.index].meanActivation ?? 0,
    top: c.top.map((f) => frag(f, c.index)),
    random: c.random.map((f) => frag(f, c.index)),
    negatives: c.negatives.map((f) => frag(f, c.index)),
    histogram: { edges: [0, 1], counts: [0] },
  }));
}
