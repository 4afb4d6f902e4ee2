/**
 * Backward pass of the embedding lookup (`embedding.ts`): a scatter-add of the
 * output gradient into the rows of the table, `dtable[v] = Σ_{n: ids[n] = v} dy[n]`.
 *
 * Race-free without atomics: the ids are grouped on the host ({@linkcode groupIds},
 * a counting sort giving each vocabulary row the list of positions that use it),
 * and one invocation per (row, column) owns its output element and sums its
 * positions in increasing order, so the result is deterministic. Rows no id uses
 * get 0 (or keep their value with `accumulate`).
 *
 * Bindings: `dy` [N, D], `order` [N] (i32), `offsets` [V + 1] (i32), `out` [V, D],
 * uniforms `{ n, width, accumulate }` (`n` = V·D). Workgroup size 256.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkRows, checkTensor, dispatchLinear, fmtShape, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

/** Positions grouped by id: positions of id `v` are `order[offsets[v] … offsets[v+1]−1]`, increasing. */
export interface IdGroups {
  /** `[N]` positions sorted by id (stable). */
  order: Int32Array;
  /** `[V + 1]` start of each id's positions in `order`. */
  offsets: Int32Array;
}

/**
 * Group token positions by id (a stable counting sort), for {@linkcode embeddingBackward}.
 *
 * @param ids Token ids, each in `0 … vocab−1`.
 * @param vocab The number of table rows.
 * @returns `order` and `offsets`.
 * @throws {RangeError} For an id outside the table.
 * @example
 * ```ts
 * import { groupIds } from "./embedding_backward.ts";
 * const g = groupIds([2, 0, 2], 3);
 * console.log([...g.order], [...g.offsets]); // [1, 0, 2] [0, 1, 1, 3]
 * ```
 */
export function groupIds(ids: ArrayLike<number>, vocab: number): IdGroups {
  const offsets = new Int32Array(vocab + 1);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < vocab) || !Number.isInteger(id)) {
      throw new RangeError(`Cannot group ids: id ${id} at position ${n} is outside 0 … ${vocab - 1}`);
    }
    offsets[id + 1]++;
  }
  for (let v = 0; v < vocab; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, vocab);
  const order = new Int32Array(ids.length);
  for (let n = 0; n < ids.length; n++) order[next[ids[n]]++] = n;
  return { order, offsets };
}

/** Options of {@linkcode embeddingBackward}. */
export interface EmbeddingBackwardOptions {
  /** `[N]` i32 positions grouped by id (upload {@linkcode groupIds}' `order`). */
  order: Tensor<"i32">;
  /** `[V + 1]` i32 group starts (upload {@linkcode groupIds}' `offsets`). */
  offsets: Tensor<"i32">;
  /** Write (or add) here `[V, D]` instead of a new tensor. */
  out?: Tensor<"f32">;
  /** Add into `out` instead of overwriting it. Default false. */
  accumulate?: boolean;
}

const WG = 256;

const EMBEDDING_BACKWARD = perItemProgram({
  name: "embedding_backward",
  wg: WG,
  buffers: [["dy", "read", "f32"], ["order", "read", "i32"], ["offsets", "read", "i32"], ["out", "read_write", "f32"]],
  uniforms: "width: u32, accumulate: u32",
  body: `let v = i / u.width;
  let e = i % u.width;
  var s = 0.0;
  for (var k = offsets[v]; k < offsets[v + 1u]; k++) { s += dy[u32(order[k]) * u.width + e]; }
  out[i] = select(s, out[i] + s, u.accumulate != 0u);`,
});

/**
 * Scatter-add the gradient of embedded rows into a table-shaped gradient.
 *
 * @param gpu The GPU context.
 * @param dy `[..., D]` gradient of the lookup's output (`N` rows).
 * @param vocab `V`, the number of table rows.
 * @param options The grouped positions (`order`, `offsets`), `out`, `accumulate`.
 * @returns `[V, D]`.
 * @throws {RangeError} When `order` or `offsets` do not fit `dy` and `vocab`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { embeddingBackward, groupIds } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const g = groupIds([1, 1], 2);
 * const order = gpu.upload(g.order, [2]), offsets = gpu.upload(g.offsets, [3]);
 * const dy = gpu.upload(new Float32Array([1, 2]), [2, 1]);
 * console.log(await embeddingBackward(gpu, dy, 2, { order, offsets }).read()); // [0, 3]
 * ```
 */
export function embeddingBackward(
  gpu: Gpu,
  dy: Tensor<"f32">,
  vocab: number,
  options: EmbeddingBackwardOptions,
): Tensor<"f32"> {
  const k = "embeddingBackward";
  checkTensor(gpu, k, "dy", dy);
  const { rows, width } = checkRows(k, ["dy", dy]);
  if (!Number.isInteger(vocab) || vocab < 1) throw new RangeError(`Cannot run ${k}: vocab ${vocab} must be ≥ 1`);
  const order = checkTensor(gpu, k, "order", options?.order, { dtypes: ["i32"] });
  const offsets = checkTensor(gpu, k, "offsets", options.offsets, { dtypes: ["i32"] });
  if (order.size !== rows || offsets.size !== vocab + 1) {
    throw new RangeError(
      `Cannot run ${k}: order ${fmtShape(order.shape)} and offsets ${fmtShape(offsets.shape)} must have ` +
        `${rows} and ${vocab + 1} entries for dy ${fmtShape(dy.shape)} and ${vocab} rows`,
    );
  }
  if (options.accumulate && options.out === undefined) throw new TypeError(`Cannot run ${k}: accumulate needs out`);
  const out = outTensor(gpu, k, options.out, [vocab, width]);
  if (out.buffer === dy.buffer) throw new RangeError(`Cannot run ${k}: out must not be dy`);
  const total = vocab * width;
  dispatchLinear(gpu, EMBEDDING_BACKWARD, {
    bindings: [dy, order, offsets, out],
    uniforms: new Uniforms().u32(total).u32(width).u32(options.accumulate ? 1 : 0),
    count: total,
    wg: WG,
  });
  return out;
}
