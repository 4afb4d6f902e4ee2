/**
 * Decoder directions for the feature pages, read from a dictionary's `sae_weights.safetensors`:
 * the nearest features of a feature that has no detail file, and a feature's MMCS partner (its
 * best-matching feature in the next larger dictionary).
 *
 * @module
 */
import { openSafetensors } from "@saelab/safetensors";
import { resolveInside } from "@saelab/runs";
import type { Neighbour } from "@saelab/runs";

/** Unit decoder rows of one dictionary, `[dSae, dIn]` row-major. */
export interface Decoder {
  /** Rows scaled to unit length (a zero row stays zero). */
  rows: Float32Array;
  /** Number of features. */
  dSae: number;
  /** Width of a row. */
  dIn: number;
}

/**
 * Read `W_dec` of a dictionary folder (`saes/<name>`, `baselines/<name>`, `circuits/<name>`).
 *
 * @param runsDir The runs folder.
 * @param segments Run id, folder and dictionary name.
 * @returns The unit rows, or `null` when the file is missing, unreadable or has no 2-D `W_dec`.
 * @example
 * ```ts ignore
 * const dec = await readDecoder("runs", ["demo", "saes", "r4_a3e-3"]);
 * ```
 */
export async function readDecoder(runsDir: string, segments: readonly string[]): Promise<Decoder | null> {
  const path = await resolveInside(runsDir, [...segments, "sae_weights.safetensors"]);
  if (path === null) return null;
  try {
    using file = await openSafetensors(path);
    if (!file.has("W_dec")) return null;
    const shape = file.info("W_dec").shape;
    if (shape.length !== 2) return null;
    const [dSae, dIn] = shape;
    const rows = await file.getFloat32("W_dec");
    for (let i = 0; i < dSae; i++) {
      const row = rows.subarray(i * dIn, (i + 1) * dIn);
      let n = 0;
      for (const v of row) n += v * v;
      if (n > 0) { for (let k = 0; k < dIn; k++) row[k] /= Math.sqrt(n); }
    }
    return { rows, dSae, dIn };
  } catch {
    return null;
  }
}

/**
 * Cosines of one unit row against every row of a decoder, the largest `k` first.
 *
 * @param row A unit row of width `dec.dIn`.
 * @param dec The decoder compared against.
 * @param options How many to keep and an index to leave out (the row's own).
 * @returns Neighbours, most similar first (ties by index).
 * @example
 * ```ts
 * import { closestRows } from "./pages_decoder.ts";
 * const dec = { rows: new Float32Array([1, 0, 0, 1]), dSae: 2, dIn: 2 };
 * closestRows(new Float32Array([0, 1]), dec, { k: 1 }); // [{ index: 1, cosine: 1 }]
 * ```
 */
export function closestRows(row: Float32Array, dec: Decoder, options: { k: number; skip?: number }): Neighbour[] {
  if (row.length !== dec.dIn) return [];
  const out: Neighbour[] = [];
  for (let j = 0; j < dec.dSae; j++) {
    if (j === options.skip) continue;
    let dot = 0;
    for (let k = 0; k < dec.dIn; k++) dot += row[k] * dec.rows[j * dec.dIn + k];
    out.push({ index: j, cosine: Number(dot.toFixed(4)) });
  }
  return out.sort((a, b) => b.cosine - a.cosine || a.index - b.index).slice(0, options.k);
}
