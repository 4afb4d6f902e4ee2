/**
 * Embedding lookup: `y[n, :] = table[ids[n], :]`.
 *
 * Bindings: `ids` [N] (i32 or u32), `table` [V, D], `y` [N, D], uniforms
 * `{ n, width, rows, first }` (`n` = N·D). A table may hold only rows `first …
 * first + V − 1` of a larger vocabulary (a vocabulary split across buffers):
 * rows of other ids are left untouched, so one call per part fills `y`. With
 * `first` 0 (one table), an id outside the table gives a zero row. One
 * invocation per output element; workgroup size 256.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, dispatchLinear, fmtShape, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

/** Options of {@linkcode embedding}. */
export interface EmbeddingOptions {
  /** Write here (`[...ids.shape, D]`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /**
   * The table holds the rows of ids `firstRow … firstRow + V − 1`; rows of other
   * ids are not written (they must come from another part). Default 0, where
   * out-of-range ids give zero rows instead.
   */
  firstRow?: number;
}

const WG = 256;

const EMBEDDING = perItemProgram({
  name: "embedding",
  wg: WG,
  buffers: [["ids", "read", "i32"], ["table", "read", "f32"], ["y", "read_write", "f32"]],
  uniforms: "width: u32, rows: u32, first: u32",
  body: `let n = i / u.width;
  let e = i % u.width;
  let row = ids[n] - i32(u.first);
  if (row >= 0 && row < i32(u.rows)) {
    y[i] = table[u32(row) * u.width + e];
  } else if (u.first == 0u) {
    y[i] = 0.0;
  }`,
});

/**
 * Gather rows of an embedding table.
 *
 * @param gpu The GPU context.
 * @param ids Token ids, any shape (`[B, T]`), i32 or u32.
 * @param table `[V, D]`.
 * @param options `out`, `firstRow`.
 * @returns `[...ids.shape, D]`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { embedding } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const table = gpu.upload(new Float32Array([0, 0, 1, 1, 2, 2]), [3, 2]);
 * const ids = gpu.upload(new Int32Array([2, 1]), [1, 2]);
 * console.log(await embedding(gpu, ids, table).read()); // [2, 2, 1, 1]
 * ```
 */
export function embedding(
  gpu: Gpu,
  ids: Tensor<"i32"> | Tensor<"u32">,
  table: Tensor<"f32">,
  options: EmbeddingOptions = {},
): Tensor<"f32"> {
  const k = "embedding";
  checkTensor(gpu, k, "ids", ids, { dtypes: ["i32", "u32"] });
  checkTensor(gpu, k, "table", table, { rank: 2 });
  const first = checkNumber(k, "firstRow", options.firstRow ?? 0, { integer: true });
  if (first < 0 || first > 2 ** 31 - 1) throw new RangeError(`Cannot run ${k}: firstRow ${first} is out of range`);
  const [rows, width] = table.shape;
  const shape = [...ids.shape, width];
  const y = outTensor(gpu, k, options.out, shape);
  if (y.buffer === table.buffer) throw new RangeError(`Cannot run ${k}: out must not be the table ${fmtShape(shape)}`);
  const total = ids.size * width;
  dispatchLinear(gpu, EMBEDDING, {
    bindings: [ids, table, y],
    uniforms: new Uniforms().u32(total).u32(width).u32(rows).u32(first),
    count: total,
    wg: WG,
  });
  return y;
}
