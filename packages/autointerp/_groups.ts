/**
 * Dictionaries grouped for encoding: all without top-k that share a non-linearity are concatenated into
 * one encoder (one matmul per block); each top-k dictionary is its own group.
 *
 * @module
 */
import type { LinearDictionary } from "@saelab/baselines";
import type { Gpu, Tensor } from "@saelab/gpu";
import { matmul, topK } from "@saelab/kernels";

/** Dictionaries encoded together; column `offsets[g] + j` is feature j of `dicts[g]`. */
export interface Group {
  dicts: LinearDictionary[];
  offsets: number[];
  width: number;
  relu: boolean;
  k: number;
}

/**
 * Group dictionaries: those without top-k that share a non-linearity go together, up to `maxWidth` features per
 * group (a larger dictionary is a group of its own); each top-k dictionary is alone.
 */
export function groupDictionaries(dicts: readonly LinearDictionary[], maxWidth = Infinity): Group[] {
  const lists: LinearDictionary[][] = [];
  const open = new Map<string, { list: LinearDictionary[]; width: number }>();
  for (const d of dicts) {
    if (d.k > 0) {
      lists.push([d]);
      continue;
    }
    let g = open.get(d.activation);
    if (!g || g.width + d.dDict > maxWidth) {
      g = { list: [], width: 0 };
      open.set(d.activation, g);
      lists.push(g.list);
    }
    g.list.push(d);
    g.width += d.dDict;
  }
  return lists.map((list) => {
    const offsets: number[] = [];
    let width = 0;
    for (const d of list) {
      offsets.push(width);
      width += d.dDict;
    }
    return { dicts: list, offsets, width, relu: list[0].activation === "relu", k: list[0].k };
  });
}

/** Encoder rows `[n, d]` and bias `[n]` of a group, or of some of its columns. */
export function encoderOf(group: Group, cols?: readonly number[]): { w: Float32Array; b: Float32Array; n: number } {
  const d = group.dicts[0].dIn;
  const all = cols ?? Array.from({ length: group.width }, (_, i) => i);
  const w = new Float32Array(all.length * d), b = new Float32Array(all.length);
  all.forEach((c, i) => {
    let g = group.offsets.length - 1;
    while (group.offsets[g] > c) g--;
    const j = c - group.offsets[g];
    w.set(group.dicts[g].encoder.subarray(j * d, (j + 1) * d), i * d);
    b[i] = group.dicts[g].encoderBias[j];
  });
  return { w, b, n: all.length };
}

/** `topk?(act(x·Wᵀ + b))` for a group's (sub-)encoder: `[rows, n]`. */
export function encode(gpu: Gpu, x: Tensor<"f32">, enc: { w: Tensor<"f32">; b: Tensor<"f32"> }, group: Group, k = 0) {
  const pre = matmul(gpu, x, enc.w, { transposeB: true, bias: enc.b, relu: group.relu }); // [rows, n]
  if (k === 0) return pre;
  const out = topK(gpu, pre, k);
  pre.dispose();
  return out;
}
