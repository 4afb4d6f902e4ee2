/**
 * Per-column non-zero counts of a matrix `c` [B, n] (how often each SAE
 * feature fired in a batch), written or added to a u32 or f32 vector [n]
 * (adding across steps tracks dead features).
 *
 * Bindings: `c`, `counts` (read-write), uniforms `{ rows, cols, accumulate }`.
 * One invocation per column walks the rows; workgroup size 64.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkTensor, dispatchLinear, GRID_ARGS, LINEAR_ID, outTensor, Uniforms } from "./_util.ts";

const WG = 64;

function program(dtype: "u32" | "f32"): Program {
  return {
    name: "nonzero_count",
    key: `${dtype}|wg${WG}`,
    code: () => `
@group(0) @binding(0) var<storage, read> c: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<${dtype}>;
struct U { rows: u32, cols: u32, accumulate: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let j = ${LINEAR_ID(WG)};
  if (j >= u.cols) { return; }
  var k = 0u;
  for (var i = 0u; i < u.rows; i++) { k += select(0u, 1u, c[i * u.cols + j] != 0.0); }
  var total = ${dtype}(k);
  if (u.accumulate != 0u) { total += counts[j]; }
  counts[j] = total;
}`,
  };
}

/** Options of {@linkcode nonzeroCount}. */
export interface NonzeroCountOptions {
  /** Element type of a new result. Default `"u32"` (exact); `"f32"` suits rate arithmetic. */
  dtype?: "u32" | "f32";
  /** Write the counts here ([n], u32 or f32). */
  out?: Tensor<"u32" | "f32">;
  /** Add the counts to this tensor ([n], u32 or f32) and return it (not with `out`). */
  accumulate?: Tensor<"u32" | "f32">;
}

/**
 * Count the non-zero entries of each column.
 *
 * @param gpu The GPU context.
 * @param c Matrix [B, n] (f32).
 * @param options Result dtype, `out` or `accumulate`.
 * @returns Counts [n] (`accumulate` itself when given).
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { nonzeroCount } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const c = gpu.upload(new Float32Array([0, 1, 2, 0, 3, 0]), [2, 3]);
 * console.log(await nonzeroCount(gpu, c).read()); // Uint32Array [1, 2, 0]
 * ```
 */
export function nonzeroCount(
  gpu: Gpu,
  c: Tensor<"f32">,
  options: NonzeroCountOptions = {},
): Tensor<"u32" | "f32"> {
  const k = "nonzeroCount";
  checkTensor(gpu, k, "c", c, { rank: 2 });
  const [rows, cols] = c.shape;
  if (options.accumulate !== undefined && options.out !== undefined && options.out !== options.accumulate) {
    throw new TypeError(`Cannot run ${k}: give either out or accumulate, not both`);
  }
  const given = options.accumulate ?? options.out;
  const name = options.accumulate !== undefined ? "accumulate" : "out";
  let counts: Tensor<"u32" | "f32">;
  if (given === undefined) {
    counts = outTensor(gpu, k, undefined, [cols], { dtype: options.dtype ?? "u32", name: "counts" });
  } else {
    const dtype = checkTensor(gpu, k, name, given, { dtypes: ["u32", "f32"] }).dtype as "u32" | "f32";
    counts = outTensor(gpu, k, given, [cols], { dtype, name });
  }
  dispatchLinear(gpu, program(counts.dtype as "u32" | "f32"), {
    bindings: [c, counts],
    uniforms: new Uniforms().u32(rows).u32(cols).u32(options.accumulate !== undefined ? 1 : 0),
    count: cols,
    wg: WG,
  });
  return counts;
}
