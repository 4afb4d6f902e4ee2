/**
 * What every matmul kernel shares: the resolved problem, the uniform block,
 * the WGSL epilogue (alpha, bias, accumulate, ReLU) and a dispatch helper
 * that splits grids taller than the workgroup-count limit.
 *
 * Uniform block `Params` (16 words, all kernels):
 *
 * | word | field    | meaning                                                  |
 * | ---- | -------- | -------------------------------------------------------- |
 * | 0–3  | m n k    | C is [m, n], the inner dimension is k; `flags` below     |
 * | 4    | alpha    | scale of op(A)·op(B)                                     |
 * | 5    | tile0    | first row tile of this dispatch (tall grids are split)   |
 * | 6–9  | sa0 sa1  | element (i, l) of op(A) is `a[i·sa0 + l·sa1]`            |
 * |      | sb0 sb1  | element (l, j) of op(B) is `b[l·sb0 + j·sb1]`            |
 * | 10   | aw       | texture variant: texels per stored row of A              |
 * | 11   | bw       | texture variant: texels per stored row of B              |
 * | 12   | cw       | texture variant: texels per row of the product texture   |
 *
 * `flags`: 1 = add bias, 2 = ReLU, 4 = accumulate into C.
 *
 * @module
 */
import type { Binding, Gpu, Program, Tensor } from "@saelab/gpu";

/** Largest workgroup count along one dispatch dimension. */
export const MAX_GROUPS = 65535;

/** Epilogue flag bits. */
export const FLAG_BIAS = 1, FLAG_RELU = 2, FLAG_ACCUMULATE = 4;

/** A validated matmul: C[m, n] = epilogue(alpha · op(A)[m, k] · op(B)[k, n]). */
export interface MatmulProblem {
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** A is stored [k, m] and used transposed. */
  transposeA: boolean;
  /** B is stored [n, k] and used transposed. */
  transposeB: boolean;
  /** Stored left operand. */
  a: Tensor; // [m, k] or [k, m]
  /** Stored right operand. */
  b: Tensor; // [k, n] or [n, k]
  /** Bias over columns, or undefined. */
  bias?: Tensor; // [n]
  /** Output. */
  c: Tensor; // [m, n]
  /** Scale of the product. */
  alpha: number;
  /** Epilogue flags (FLAG_*). */
  flags: number;
}

/** WGSL declaration of the uniform block. */
export const PARAMS_WGSL = `struct Params {
  m: u32, n: u32, k: u32, flags: u32,
  alpha: f32, tile0: u32, sa0: u32, sa1: u32,
  sb0: u32, sb1: u32, aw: u32, bw: u32,
  cw: u32, pad1: u32, pad2: u32, pad3: u32,
}`;

/**
 * WGSL of the epilogue. Needs `c` (read_write storage), `bias` (read storage)
 * and `p` (Params) in scope; writes one element of C.
 */
export const EPILOGUE_WGSL = `fn finish(i: u32, j: u32, v: f32) {
  let o = i * p.n + j;
  var x = p.alpha * v;
  if ((p.flags & ${FLAG_BIAS}u) != 0u) { x = x + bias[j]; }
  if ((p.flags & ${FLAG_ACCUMULATE}u) != 0u) { x = x + c[o]; }
  if ((p.flags & ${FLAG_RELU}u) != 0u) { x = max(x, 0.0); }
  c[o] = x;
}`;

/** The uniform block of a problem (`tile0` is filled in per dispatch). */
export function params(pr: MatmulProblem, extra: { aw?: number; bw?: number; cw?: number } = {}): Uint32Array {
  const u = new Uint32Array(16);
  u[0] = pr.m;
  u[1] = pr.n;
  u[2] = pr.k;
  u[3] = pr.flags;
  new Float32Array(u.buffer, 16, 1)[0] = pr.alpha;
  // op(A)[i, l]: stored [m, k] → (k, 1); stored [k, m] → (1, m)
  u[6] = pr.transposeA ? 1 : pr.k;
  u[7] = pr.transposeA ? pr.m : 1;
  // op(B)[l, j]: stored [k, n] → (n, 1); stored [n, k] → (1, k)
  u[8] = pr.transposeB ? 1 : pr.n;
  u[9] = pr.transposeB ? pr.k : 1;
  u[10] = extra.aw ?? 0;
  u[11] = extra.bw ?? 0;
  u[12] = extra.cw ?? 0;
  return u;
}

/**
 * Dispatch `[tilesX, tilesY]` workgroups, split into several dispatches when
 * `tilesY` exceeds the limit (each sees its first row tile in `tile0`).
 */
export function dispatchTiles(
  gpu: Gpu,
  program: Program,
  options: { bindings: Binding[]; uniforms: Uint32Array; tiles: [number, number] },
): void {
  const [tx, ty] = options.tiles;
  if (tx > MAX_GROUPS) {
    throw new RangeError(
      `Cannot run ${program.name}: the output needs ${tx} column tiles, more than the ${MAX_GROUPS} a dispatch allows`,
    );
  }
  for (let t0 = 0; t0 < ty; t0 += MAX_GROUPS) {
    const u = options.uniforms.slice();
    u[5] = t0;
    gpu.dispatch(program, { bindings: options.bindings, uniforms: u, workgroups: [tx, Math.min(MAX_GROUPS, ty - t0)] });
  }
}

/** A buffer to bind where the bias goes when there is none (never read). */
export function biasBinding(pr: MatmulProblem): GPUBuffer {
  return (pr.bias ?? pr.a).buffer;
}

/**
 * WGSL head of the kernels that read both operands from storage buffers: `Params`, bindings
 * 0 `a`, 1 `b`, 2 `bias` (read), 3 `c` (read_write), 4 `p`, and the epilogue; bind
 * {@linkcode storageBindings}.
 */
export const STORAGE_HEAD_WGSL = `${PARAMS_WGSL}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

${EPILOGUE_WGSL}`;

/** The bindings of {@linkcode STORAGE_HEAD_WGSL} for a problem. */
export function storageBindings(pr: MatmulProblem): Binding[] {
  return [pr.a, pr.b, biasBinding(pr), pr.c];
}
