/**
 * Train / held-out split by hashing document ids: a document's side depends
 * only on its id, the fraction and the seed, so adding or removing other
 * documents never moves it.
 *
 * @module
 */
import { hashUnit } from "@saelab/core";

/** Options of a document split. */
export interface SplitOptions {
  /** Fraction of documents held out, in `[0, 1]`. Default: 0.1. */
  heldOutFraction?: number;
  /** Selects an independent split. Default: 0. */
  seed?: number;
}

/** Which side of the split a document is on. */
export type SplitName = "train" | "heldout";

/**
 * The side of the split a document id falls on.
 *
 * @param id The document id.
 * @param options Fraction and seed.
 * @returns `"heldout"` when the id's hash is below the fraction, else `"train"`.
 * @example
 * ```ts
 * import { splitOf } from "@saelab/corpus";
 * if (splitOf("sotu:1790-george-washington", { heldOutFraction: 0 }) !== "train") throw new Error();
 * ```
 */
export function splitOf(id: string, options: SplitOptions = {}): SplitName {
  const fraction = checkFraction(options.heldOutFraction ?? 0.1);
  return hashUnit(id, options.seed ?? 0) < fraction ? "heldout" : "train";
}

/**
 * Split documents (or anything with an `id`) into train and held-out sets, keeping their order.
 *
 * @param docs The documents.
 * @param options Fraction and seed.
 * @returns The two sets.
 * @example
 * ```ts
 * import { splitDocuments } from "@saelab/corpus";
 * const docs = Array.from({ length: 100 }, (_, i) => ({ id: `d:${i}` }));
 * const { train, heldOut } = splitDocuments(docs, { heldOutFraction: 0.2, seed: 1 });
 * if (train.length + heldOut.length !== 100) throw new Error("lost documents");
 * ```
 */
export function splitDocuments<D extends { id: string }>(
  docs: readonly D[],
  options: SplitOptions = {},
): { train: D[]; heldOut: D[] } {
  const train: D[] = [];
  const heldOut: D[] = [];
  for (const d of docs) (splitOf(d.id, options) === "heldout" ? heldOut : train).push(d);
  return { train, heldOut };
}

function checkFraction(f: number): number {
  if (typeof f !== "number" || !(f >= 0 && f <= 1)) {
    throw new RangeError(`Cannot split documents: heldOutFraction ${f} is not a number in [0, 1]`);
  }
  return f;
}
