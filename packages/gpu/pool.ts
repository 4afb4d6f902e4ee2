/**
 * A pool of storage buffers keyed by size. A buffer freed while commands that
 * use it are still unsubmitted only becomes reusable after the next submit,
 * so a queue write can never overtake a recorded read.
 *
 * @module
 */

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Size classes: exact below 4 KiB (rounded to 16), then the next power of two's eighth. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return b;
  const step = 2 ** Math.floor(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

/** Reuses storage buffers of equal size class. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
  #recycled: GPUBuffer[] = [];
  #live = 0;
  #bytes = 0;

  /** @param device The device that owns the buffers. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** A buffer of at least `bytes` bytes with storage and copy usage. */
  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    const reused = list?.pop();
    this.#live++;
    if (reused) {
      reused.label = label;
      return reused;
    }
    this.#bytes += size;
    return this.#device.createBuffer({ label, size, usage: USAGE });
  }

  /** Give a buffer back; it is reusable after the next {@linkcode release}. */
  recycle(buffer: GPUBuffer): void {
    this.#live--;
    this.#recycled.push(buffer);
  }

  /** Make recycled buffers reusable (called right after a submit). */
  release(): void {
    for (const b of this.#recycled) {
      const list = this.#free.get(b.size);
      if (list) list.push(b);
      else this.#free.set(b.size, [b]);
    }
    this.#recycled = [];
  }

  /** Destroy idle buffers, keeping at most `keepBytes` of them. */
  trim(keepBytes = 0): void {
    let kept = 0;
    for (const [size, list] of this.#free) {
      while (list.length > 0 && kept + size > keepBytes) {
        list.pop()!.destroy();
        this.#bytes -= size;
      }
      kept += size * list.length;
    }
  }

  /** Buffers handed out and not yet recycled. */
  get live(): number {
    return this.#live;
  }

  /** Bytes held by the pool, live and idle. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Destroy every idle buffer. */
  destroy(): void {
    this.release();
    this.trim(0);
  }
}
