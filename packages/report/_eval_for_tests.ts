/**
 * Test support: the `eval.json` of a small SAE member, for tests that only care about a few of its
 * fields.
 *
 * @module
 */
import type { DictEval } from "@saelab/runs";

/**
 * An SAE member's evaluation (d_in 4, d_sae 8, FVU 0.1, L0 3, no dead features) with `o` on top.
 *
 * @param o The fields a test is about.
 * @returns The evaluation.
 */
export const saeEval = (o: Partial<DictEval> = {}): DictEval => ({
  kind: "sae",
  method: "sae",
  dIn: 4,
  dSae: 8,
  fvu: 0.1,
  l0: 3,
  deadFraction: 0,
  ...o,
});
