/**
 * A binary heap with a given order: merge candidates of long words (smallest key
 * first) and the trainer's pairs (most frequent first).
 *
 * @module
 */

/** A heap ordered by `before(x, y)`: true when `x` must come out before `y`. */
export class Heap<T> {
  #items: T[] = [];
  #before: (x: T, y: T) => boolean;

  /** @param before The order: true when `x` comes out before `y`. */
  constructor(before: (x: T, y: T) => boolean) {
    this.#before = before;
  }

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** @param value The item to add. */
  push(value: T): void {
    const a = this.#items;
    let i = a.length;
    a.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(value, a[parent])) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = value;
  }

  /** @returns The first item, removed (undefined when empty). */
  pop(): T | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) this.#siftDown(last);
    return top;
  }

  /** Puts `value` at the root and sifts it down. */
  #siftDown(value: T): void {
    const a = this.#items, n = a.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(a[child + 1], a[child])) child++;
      if (!this.#before(a[child], value)) break;
      a[i] = a[child];
      i = child;
    }
    a[i] = value;
  }
}
