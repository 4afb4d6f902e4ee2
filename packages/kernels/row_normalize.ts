/**
 * Unit-L2 rows `out[i, :] = w[i, :] / max(‖w[i, :]‖, eps)` (SAE decoder
 * normalisation) and its backward
 * `dw = g/n − w·(w·g)/n³` for `n = ‖w[i, :]‖ > eps`, else `g/eps`.
 *
 * Programs: `row_dot` (one invocation per row, `Σ_j a·b`, optionally its square root; workgroup 64),
 * `row_scale` and `row_normalize_backward` (one invocation per element; workgroup 256).
 * Operands that share a buffer are bound once (in-place use).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkNumber, checkSameShape, checkTensor, fmtShape, type Operand, outTensor, Uniforms } from "./_util.ts";
import { dispatchPerItem } from "./_wgsl.ts";

/** Default guard against dividing by a vanishing norm. */
export const ROW_NORM_EPS = 1e-8;

/** Options of {@linkcode rowNormalize}. */
export interface RowNormalizeOptions {
  /** Write the unit rows here ([r, c]; may be `w` for an in-place update). */
  out?: Tensor<"f32">;
  /** Write the row norms here ([r]). */
  norms?: Tensor<"f32">;
  /** Norms below this divide by `eps` instead. Default {@linkcode ROW_NORM_EPS}. */
  eps?: number;
}

/** Result of {@linkcode rowNormalize}. */
export interface RowNormalizeResult {
  /** Unit rows [r, c]. */
  out: Tensor<"f32">;
  /** L2 norms of the input rows [r] (before the eps guard). */
  norms: Tensor<"f32">;
}

/** What the backward pass needs from the forward pass. */
export interface RowNormalizeSaved {
  /** The forward input [r, c]. */
  w: Tensor<"f32">;
  /** The norms the forward pass returned [r]. */
  norms: Tensor<"f32">;
}

/** Options of {@linkcode rowNormalizeBackward}. */
export interface RowNormalizeBackwardOptions {
  /** Write the gradient here ([r, c]; may be `gradOut`). */
  out?: Tensor<"f32">;
  /** The forward pass's eps. Default {@linkcode ROW_NORM_EPS}. */
  eps?: number;
}

const DOT_WG = 64;
const EL_WG = 256;

/** One invocation per item `i < count`, uniforms `{ n: count, cols, eps, root }`. */
function run(gpu: Gpu, name: string, operands: Operand[], body: string, uniforms: Uniforms, wg: number, count: number) {
  dispatchPerItem(gpu, { name, wg, operands, uniforms: "cols: u32, eps: f32, root: u32", body }, { uniforms, count });
}

/** `out[i] = Σ_j a[i, j]·b[i, j]`, or its square root. */
function rowDot(gpu: Gpu, a: Tensor, b: Tensor, out: Tensor, root: boolean): void {
  const [rows, cols] = a.shape;
  run(
    gpu,
    "row_dot",
    [{ name: "a", tensor: a, access: "read" }, { name: "b", tensor: b, access: "read" }, {
      name: "d",
      tensor: out,
      access: "write",
    }],
    `var s = 0.0;
  let start = i * u.cols;
  for (var j = 0u; j < u.cols; j++) { s += $a[start + j] * $b[start + j]; }
  $d[i] = select(s, sqrt(s), u.root != 0u);`,
    new Uniforms().u32(rows).u32(cols).f32(0).u32(root ? 1 : 0),
    DOT_WG,
    rows,
  );
}

function check2d(gpu: Gpu, kernel: string, name: string, t: Tensor): [number, number] {
  checkTensor(gpu, kernel, name, t, { rank: 2 });
  return [t.shape[0], t.shape[1]];
}

function checkEps(kernel: string, eps: unknown): number {
  const e = checkNumber(kernel, "eps", eps ?? ROW_NORM_EPS);
  if (e <= 0) throw new RangeError(`Cannot run ${kernel}: eps must be > 0, got ${e}`);
  return e;
}

/**
 * Scale every row of `w` to unit L2 norm.
 *
 * @param gpu The GPU context.
 * @param w Matrix [r, c].
 * @param options `out` (may be `w`), `norms`, `eps`.
 * @returns `{ out [r, c], norms [r] }`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { rowNormalize } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const w = gpu.upload(new Float32Array([3, 4, 0, 2]), [2, 2]);
 * const { out, norms } = rowNormalize(gpu, w);
 * console.log(await out.read(), await norms.read()); // [0.6, 0.8, 0, 1] [5, 2]
 * ```
 */
export function rowNormalize(gpu: Gpu, w: Tensor<"f32">, options: RowNormalizeOptions = {}): RowNormalizeResult {
  const k = "rowNormalize";
  const [rows, cols] = check2d(gpu, k, "w", w);
  const eps = checkEps(k, options.eps);
  const out = outTensor(gpu, k, options.out, [rows, cols]);
  const norms = outTensor(gpu, k, options.norms, [rows], { name: "norms" });
  if (norms.buffer === w.buffer || norms.buffer === out.buffer) {
    throw new RangeError(`Cannot run ${k}: norms must be a tensor of its own`);
  }
  if (rows === 0) return { out, norms };
  rowDot(gpu, w, w, norms, true);
  run(
    gpu,
    "row_scale",
    [{ name: "w", tensor: w, access: "read" }, { name: "n", tensor: norms, access: "read" }, {
      name: "y",
      tensor: out,
      access: "write",
    }],
    "$y[i] = $w[i] / max($n[i / u.cols], u.eps);",
    new Uniforms().u32(rows * cols).u32(cols).f32(eps).u32(0),
    EL_WG,
    rows * cols,
  );
  return { out, norms };
}

/**
 * Gradient of {@linkcode rowNormalize} with respect to its input.
 *
 * @param gpu The GPU context.
 * @param gradOut Gradient with respect to the unit rows [r, c].
 * @param saved The forward input `w` [r, c] and the `norms` [r] it returned.
 * @param options `out` (may be `gradOut`) and the forward `eps`.
 * @returns Gradient with respect to `w` [r, c].
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { rowNormalize, rowNormalizeBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const w = gpu.upload(new Float32Array([3, 4]), [1, 2]);
 * const { norms } = rowNormalize(gpu, w);
 * const g = gpu.upload(new Float32Array([1, 0]), [1, 2]);
 * console.log(await rowNormalizeBackward(gpu, g, { w, norms }).read()); // [0.128, -0.096]
 * ```
 */
export function rowNormalizeBackward(
  gpu: Gpu,
  gradOut: Tensor<"f32">,
  saved: RowNormalizeSaved,
  options: RowNormalizeBackwardOptions = {},
): Tensor<"f32"> {
  const k = "rowNormalizeBackward";
  check2d(gpu, k, "gradOut", gradOut);
  if (typeof saved !== "object" || saved === null) throw new TypeError(`Cannot run ${k}: saved must be { w, norms }`);
  const [rows, cols] = check2d(gpu, k, "w", saved.w);
  checkSameShape(k, ["gradOut", "w"], gradOut, saved.w);
  const norms = checkTensor(gpu, k, "norms", saved.norms, { rank: 1 });
  if (norms.shape[0] !== rows) {
    throw new RangeError(`Cannot run ${k}: norms ${fmtShape(norms.shape)} do not match the ${rows} rows of w`);
  }
  const eps = checkEps(k, options.eps);
  const out = outTensor(gpu, k, options.out, [rows, cols]);
  if (out.buffer === norms.buffer) throw new RangeError(`Cannot run ${k}: out must not be norms`);
  if (rows === 0) return out;
  using dot = gpu.empty([rows], "f32", "row_normalize_backward.dot"); // [r] w_i · g_i
  rowDot(gpu, saved.w, gradOut, dot, false);
  run(
    gpu,
    "row_normalize_backward",
    [
      { name: "g", tensor: gradOut, access: "read" },
      { name: "w", tensor: saved.w, access: "read" },
      { name: "n", tensor: norms, access: "read" },
      { name: "d", tensor: dot, access: "read" },
      { name: "y", tensor: out, access: "write" },
    ],
    `let row = i / u.cols;
  let n = $n[row];
  if (n > u.eps) {
    $y[i] = $g[i] / n - $w[i] * ($d[row] / (n * n * n));
  } else {
    $y[i] = $g[i] / u.eps;
  }`,
    new Uniforms().u32(rows * cols).u32(cols).f32(eps).u32(0),
    EL_WG,
    rows * cols,
  );
  return out;
}
