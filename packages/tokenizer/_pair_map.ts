/**
 * An open-addressing hash map from a pair of token ids `(a, b)` to a dense
 * index `0, 1, 2, …` given in insertion order. Keys live in typed arrays, so a
 * lookup costs two multiplications and a few array reads (no boxed numbers or
 * string keys).
 *
 * @module
 */

const EMPTY = -1;

/** Maps pairs of non-negative 31-bit ints to dense indices. */
export class PairMap {
  #mask: number;
  #keysA: Int32Array;
  #keysB: Int32Array;
  #slots: Int32Array;
  #size = 0;

  /** @param expected How many pairs will be stored (a hint; the map grows). */
  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.#mask = cap - 1;
    this.#keysA = new Int32Array(cap);
    this.#keysB = new Int32Array(cap);
    this.#slots = new Int32Array(cap).fill(EMPTY);
  }

  /** Number of pairs stored. */
  get size(): number {
    return this.#size;
  }

  #home(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) & this.#mask;
  }

  /**
   * @param a Left id.
   * @param b Right id.
   * @returns The index of `(a, b)`, or -1 when absent.
   */
  get(a: number, b: number): number {
    const mask = this.#mask, keysA = this.#keysA, keysB = this.#keysB, slots = this.#slots;
    let h = this.#home(a, b);
    for (;;) {
      const v = slots[h];
      if (v === EMPTY) return -1;
      if (keysA[h] === a && keysB[h] === b) return v;
      h = (h + 1) & mask;
    }
  }

  /**
   * The index of `(a, b)`, inserting it with the next free index when absent.
   *
   * @param a Left id.
   * @param b Right id.
   * @returns Its index.
   */
  intern(a: number, b: number): number {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const mask = this.#mask, keysA = this.#keysA, keysB = this.#keysB, slots = this.#slots;
    let h = this.#home(a, b);
    for (;;) {
      const v = slots[h];
      if (v === EMPTY) {
        keysA[h] = a;
        keysB[h] = b;
        slots[h] = this.#size;
        return this.#size++;
      }
      if (keysA[h] === a && keysB[h] === b) return v;
      h = (h + 1) & mask;
    }
  }

  #grow(): void {
    const oldA = this.#keysA, oldB = this.#keysB, oldSlots = this.#slots;
    const cap = oldSlots.length * 2;
    this.#mask = cap - 1;
    this.#keysA = new Int32Array(cap);
    this.#keysB = new Int32Array(cap);
    this.#slots = new Int32Array(cap).fill(EMPTY);
    for (let i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] === EMPTY) continue;
      let h = this.#home(oldA[i], oldB[i]);
      while (this.#slots[h] !== EMPTY) h = (h + 1) & this.#mask;
      this.#keysA[h] = oldA[i];
      this.#keysB[h] = oldB[i];
      this.#slots[h] = oldSlots[i];
    }
  }
}
