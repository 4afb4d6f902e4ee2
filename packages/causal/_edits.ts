/**
 * Host bookkeeping of a feature-patching sweep: which features differ between
 * the clean and counterfactual prompts, and the edit `Δ = x_patched − x_clean`
 * of the current set of patched features.
 *
 * The patched activation keeps the clean run's reconstruction error: with an
 * affine decoder, `err_clean + decode(c_mixed) = x_clean + Σ_{j patched} δ_j D_j`
 * where `δ_j = c_cf,j − c_clean,j` per row and `D_j` is feature j's decoder row.
 *
 * @module
 */

/** A feature's per-row change, stored sparsely. */
interface Delta {
  rows: Int32Array;
  values: Float64Array;
}

/** The edits of one sweep. */
export class EditState {
  /** Rows (positions of all prompts, concatenated). */
  readonly rows: number;
  /** Activation width. */
  readonly width: number;
  /** Features whose activation differs on some edited row, ascending. */
  readonly active: number[];
  /** Rows counted by the edit magnitude (the edited positions). */
  readonly editedRows: number[];
  #delta = new Map<number, Delta>();
  #dec = new Map<number, Float32Array>();
  /** Current edit `[rows, width]`. */
  #edit: Float64Array;

  /**
   * @param clean Feature activations on the clean rows `[rows, dDict]`.
   * @param counterfactual The same on the counterfactual rows.
   * @param options `dDict`, `width`, `edited`: which rows may change.
   */
  constructor(
    clean: Float32Array,
    counterfactual: Float32Array,
    options: { dDict: number; width: number; edited: boolean[] },
  ) {
    const { dDict, width, edited } = options;
    this.rows = edited.length;
    this.width = width;
    this.editedRows = edited.flatMap((e, r) => (e ? [r] : []));
    const lists = new Map<number, { rows: number[]; values: number[] }>();
    for (const r of this.editedRows) {
      for (let j = 0; j < dDict; j++) {
        const d = counterfactual[r * dDict + j] - clean[r * dDict + j];
        if (d === 0) continue;
        let l = lists.get(j);
        if (!l) lists.set(j, l = { rows: [], values: [] });
        l.rows.push(r);
        l.values.push(d);
      }
    }
    this.active = [...lists.keys()].sort((a, b) => a - b);
    for (const [j, l] of lists) {
      this.#delta.set(j, { rows: Int32Array.from(l.rows), values: Float64Array.from(l.values) });
    }
    this.#edit = new Float64Array(this.rows * width);
  }

  /**
   * Set the decoder rows of the active features and start with all of them patched.
   *
   * @param rows Decoder rows `[active.length, width]` in the order of `active`.
   */
  start(rows: Float32Array): void {
    const w = this.width;
    this.active.forEach((j, i) => this.#dec.set(j, rows.subarray(i * w, (i + 1) * w)));
    this.#edit.fill(0);
    for (const j of this.active) this.#apply(this.#edit, j, 1);
  }

  /** Stop patching `feature` (revert it to its clean value). */
  revert(feature: number): void {
    this.#apply(this.#edit, feature, -1);
  }

  /**
   * The edit with some more features reverted, without changing the state.
   *
   * @param removed Features to revert in the copy.
   * @returns The edit `[rows, width]`.
   */
  without(removed: readonly number[]): Float64Array {
    const e = this.#edit.slice();
    for (const j of removed) this.#apply(e, j, -1);
    return e;
  }

  /**
   * Mean L2 norm of an edit over the edited rows: the edit magnitude `‖x_clean − x_patched‖`.
   *
   * @param edit An edit `[rows, width]`.
   * @returns The mean norm.
   */
  magnitude(edit: Float64Array): number {
    const w = this.width;
    let total = 0;
    for (const r of this.editedRows) {
      let s = 0;
      for (let k = r * w; k < (r + 1) * w; k++) s += edit[k] * edit[k];
      total += Math.sqrt(s);
    }
    return total / Math.max(1, this.editedRows.length);
  }

  #apply(target: Float64Array, feature: number, sign: number): void {
    const d = this.#delta.get(feature), row = this.#dec.get(feature);
    if (!d || !row) return;
    const w = this.width;
    for (let i = 0; i < d.rows.length; i++) {
      const o = d.rows[i] * w, s = sign * d.values[i];
      for (let k = 0; k < w; k++) target[o + k] += s * row[k];
    }
  }
}
