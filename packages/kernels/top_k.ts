/**
 * Row-wise top-k for TopK sparse autoencoders: keep the `k` largest entries
 * of each row of `x` [B, n] and zero the rest; ties at the k-th value go to
 * the lowest column indices, so exactly `k` entries per row are kept
 * (−0 ranks just below +0; NaN above +Infinity).
 *
 * One invocation per row selects the k-th largest value exactly by a radix
 * select over order-preserving 32-bit keys: four passes count one 8-bit digit
 * each in a private 256-bin histogram, a fifth writes the row. No workgroup
 * memory. Bindings: `x`, `y`, uniforms `{ n: rows, cols, k }`; workgroup size 64.
 * The backward pass is the mask of kept entries (an elementwise map).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, runMap } from "./_map.ts";
import { checkNumber, checkSameShape, checkTensor, dispatchLinear, fmtShape, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;

/** One invocation per row (the item count `n`). */
const TOP_K = perItemProgram({
  name: "top_k",
  key: "radix8",
  wg: WG,
  buffers: [["x", "read", "f32"], ["y", "read_write", "f32"]],
  uniforms: "cols: u32, k: u32",
  helpers: `// larger float -> larger unsigned key
fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}`,
  body: `let row = i;
  let start = row * u.cols;
  var prefix = 0u;
  var mask = 0u;
  var remaining = u.k; // how many of the entries matching prefix still belong to the top k
  var hist: array<u32, 256>;
  for (var p = 0u; p < 4u; p++) {
    let shift = 24u - 8u * p;
    for (var d = 0u; d < 256u; d++) { hist[d] = 0u; }
    for (var j = 0u; j < u.cols; j++) {
      let kk = key(x[start + j]);
      if ((kk & mask) == prefix) { hist[(kk >> shift) & 255u] += 1u; }
    }
    var digit = 255u;
    loop {
      let c = hist[digit];
      if (c >= remaining || digit == 0u) { break; }
      remaining -= c;
      digit -= 1u;
    }
    prefix |= digit << shift;
    mask |= 255u << shift;
  }
  // prefix is now the key of the k-th largest entry; keep everything above it
  // and the first 'remaining' entries equal to it
  var taken = 0u;
  for (var j = 0u; j < u.cols; j++) {
    let v = x[start + j];
    let kk = key(v);
    var keep = kk > prefix;
    if (kk == prefix && taken < remaining) {
      keep = true;
      taken += 1u;
    }
    y[start + j] = select(0.0, v, keep);
  }`,
});

const TOP_K_BACKWARD: MapSpec = {
  name: "top_k_backward",
  operands: [{ name: "g", access: "read" }, { name: "y", access: "read" }, { name: "dx", access: "write" }],
  body: "dx = select(Z, g, y != Z);",
};

/**
 * Keep the `k` largest entries of each row, zero the others.
 *
 * @param gpu The GPU context.
 * @param x Matrix [B, n].
 * @param k Entries kept per row, 1 ≤ k ≤ n.
 * @param options `out` [B, n] (must not be `x`).
 * @returns The sparse matrix [B, n].
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { topK } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([3, -1, 5, 2]), [1, 4]);
 * console.log(await topK(gpu, x, 2).read()); // [3, 0, 5, 0]
 * ```
 */
export function topK(gpu: Gpu, x: Tensor<"f32">, k: number, options: { out?: Tensor<"f32"> } = {}): Tensor<"f32"> {
  checkTensor(gpu, "topK", "x", x, { rank: 2 });
  checkNumber("topK", "k", k, { integer: true });
  const [rows, cols] = x.shape;
  if (k < 1 || k > cols) {
    throw new RangeError(
      `Cannot run topK: k = ${k} must be between 1 and the ${cols} columns of x ${fmtShape(x.shape)}`,
    );
  }
  const y = outTensor(gpu, "topK", options.out, x.shape);
  if (y.buffer === x.buffer) throw new RangeError("Cannot run topK: out must not be x");
  dispatchLinear(gpu, TOP_K, {
    bindings: [x, y],
    uniforms: new Uniforms().u32(rows).u32(cols).u32(k),
    count: rows,
    wg: WG,
  });
  return y;
}

/**
 * Gradient of {@linkcode topK}: `gradOut` where the forward output is non-zero, else 0.
 * A kept entry that was exactly 0 passes no gradient (as ReLU at 0).
 *
 * @param gpu The GPU context.
 * @param gradOut Gradient with respect to the top-k output [B, n].
 * @param y The forward output [B, n].
 * @param options `out` (may be `gradOut`).
 * @returns Gradient with respect to the input of `topK`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { topK, topKBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([3, -1, 5, 2]), [1, 4]);
 * const g = gpu.upload(new Float32Array([1, 1, 1, 1]), [1, 4]);
 * console.log(await topKBackward(gpu, g, topK(gpu, x, 2)).read()); // [1, 0, 1, 0]
 * ```
 */
export function topKBackward(
  gpu: Gpu,
  gradOut: Tensor<"f32">,
  y: Tensor<"f32">,
  options: { out?: Tensor<"f32"> } = {},
): Tensor<"f32"> {
  checkTensor(gpu, "topKBackward", "gradOut", gradOut);
  checkTensor(gpu, "topKBackward", "y", y);
  checkSameShape("topKBackward", ["gradOut", "y"], gradOut, y);
  const dx = outTensor(gpu, "topKBackward", options.out, y.shape);
  runMap(gpu, TOP_K_BACKWARD, { tensors: { g: gradOut, y, dx } });
  return dx;
}
