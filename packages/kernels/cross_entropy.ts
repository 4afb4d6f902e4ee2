/**
 * Softmax cross-entropy per row: `loss[n] = logsumexp(logits[n, :]) − logits[n, target[n]]`.
 * A negative target marks a row to ignore (its loss is 0); a target ≥ V gives NaN.
 *
 * Bindings: `logits` [N, V], `targets` [N] (i32), `loss` [N], optionally
 * `lse` [N] (each row's log-sum-exp, for the backward pass), uniforms
 * `{ rows, vocab }`. One workgroup of 256 invocations per row: each keeps a
 * running max and sum of exponentials over its strided entries (one pass over
 * the row), then the pairs are merged in shared memory. On CPU software adapters
 * one invocation per row computes the same 256 pairs and merges them in the same
 * tree by itself (bit-identical, without the barriers that dominate there).
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkRows, checkTensor, fmtShape, grid, GRID_ARGS, LINEAR_ID, outTensor, Uniforms } from "./_util.ts";
import { checkRowMode, type RowMode } from "./_wgsl.ts";

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions {
  /** Write the per-row losses here (`[N]`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** Also write each row's log-sum-exp here (`[N]`). */
  lse?: Tensor<"f32">;
  /**
   * A workgroup per row or an invocation per row (bit-identical results). Default: an invocation
   * per row on CPU software adapters (vocabularies of up to 32,768), a workgroup per row elsewhere.
   */
  mode?: RowMode;
}

const WG = 256;
/** Rows per workgroup in `"serial"` mode (one invocation per row). */
const SERIAL_WG = 64;
/** Longest row `"serial"` mode takes: its loops run about V + 2·256 iterations per invocation. */
const SERIAL_VOCAB_MAX = 32768;

/** Merge of two (max, sum of exponentials) pairs: `(m1, s1)` ← `(m1, s1) ⊕ (m2, s2)`. */
const MERGE = `let mm = max(m1, m2);
      s1 = s1 * exp(m1 - mm) + s2 * exp(m2 - mm);
      m1 = mm;`;

function program(withLse: boolean, mode: RowMode): Program {
  const serial = mode === "serial";
  // the WG strided (max, sum) pairs of a row and their merge tree: shared by a workgroup per row,
  // or walked in the same order by one invocation per row
  const pairs = serial
    ? `var pm: array<f32, ${WG}>;
  var ps: array<f32, ${WG}>;
  for (var l = 0u; l < ${WG}u; l++) {
    var m = -3.0e38;
    var s = 0.0;
    for (var i = l; i < u.vocab; i += ${WG}u) {
      let v = logits[o + i];
      if (v > m) { s *= exp(m - v); m = v; }
      s += exp(v - m);
    }
    pm[l] = m;
    ps[l] = s;
  }
  for (var k = ${WG / 2}u; k > 0u; k >>= 1u) {
    for (var l = 0u; l < k; l++) {
      var m1 = pm[l];
      let m2 = pm[l + k];
      var s1 = ps[l];
      let s2 = ps[l + k];
      ${MERGE}
      ps[l] = s1;
      pm[l] = m1;
    }
  }`
    : `var m = -3.0e38;
  var s = 0.0;
  for (var i = lid; i < u.vocab; i += ${WG}u) {
    let v = logits[o + i];
    if (v > m) { s *= exp(m - v); m = v; }
    s += exp(v - m);
  }
  pm[lid] = m;
  ps[lid] = s;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k >>= 1u) {
    if (lid < k) {
      var m1 = pm[lid];
      let m2 = pm[lid + k];
      var s1 = ps[lid];
      let s2 = ps[lid + k];
      ${MERGE}
      ps[lid] = s1;
      pm[lid] = m1;
    }
    workgroupBarrier();
  }`;
  return {
    name: "cross_entropy",
    key: `${withLse ? "lse" : "nolse"}|${mode}`,
    code: () => `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
${withLse ? "@group(0) @binding(3) var<storage, read_write> lse: array<f32>;" : ""}
struct U { rows: u32, vocab: u32 }
@group(0) @binding(${withLse ? 4 : 3}) var<uniform> u: U;
${serial ? "" : `var<workgroup> pm: array<f32, ${WG}>;\nvar<workgroup> ps: array<f32, ${WG}>;`}

@compute @workgroup_size(${serial ? SERIAL_WG : WG})
fn main(${GRID_ARGS}) {
  let row = ${serial ? LINEAR_ID(SERIAL_WG) : "wid.y * nwg.x + wid.x"};
  if (row >= u.rows) { return; }
  let o = row * u.vocab;
  ${pairs}
  if (${serial ? "true" : "lid == 0u"}) {
    let total = pm[0] + log(ps[0]);
    let t = targets[row];
    var value = 0.0;
    if (t >= 0) {
      value = select(bitcast<f32>(0x7fc00000u), total - logits[o + u32(t)], u32(t) < u.vocab);
    }
    loss[row] = value;
    ${withLse ? "lse[row] = total;" : ""}
  }
}`,
  };
}

/**
 * Per-row softmax cross-entropy of logits against target ids.
 *
 * @param gpu The GPU context.
 * @param logits `[N, V]` (or `[..., V]`, flattened to rows).
 * @param targets `[N]` i32 ids; negative ids mark ignored rows.
 * @param options `out`, `lse`.
 * @returns Per-row losses `[N]` in nats (0 for ignored rows).
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { crossEntropy } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const logits = gpu.upload(new Float32Array([0, 0, 0, 0]), [1, 4]);
 * const targets = gpu.upload(new Int32Array([2]), [1]);
 * console.log(await crossEntropy(gpu, logits, targets).read()); // [ln 4 ≈ 1.386]
 * ```
 */
export function crossEntropy(
  gpu: Gpu,
  logits: Tensor<"f32">,
  targets: Tensor<"i32">,
  options: CrossEntropyOptions = {},
): Tensor<"f32"> {
  const k = "crossEntropy";
  const { vocab, rows } = checkLogitsTargets(gpu, k, [logits, targets]);
  const loss = outTensor(gpu, k, options.out, [rows]);
  const lse = options.lse === undefined ? undefined : outTensor(gpu, k, options.lse, [rows], { name: "lse" });
  const mode = checkRowMode(k, options.mode) ??
    (gpu.isSoftware && vocab <= SERIAL_VOCAB_MAX ? "serial" : "workgroup");
  gpu.dispatch(program(lse !== undefined, mode), {
    bindings: lse ? [logits, targets, loss, lse] : [logits, targets, loss],
    uniforms: new Uniforms().u32(rows).u32(vocab).bytes(),
    workgroups: grid(mode === "serial" ? Math.ceil(rows / SERIAL_WG) : rows),
  });
  return loss;
}

/**
 * @internal Check `logits [..., V]` (f32) and `targets` (i32, one id per row of logits) for kernel `k`.
 *
 * @returns The vocabulary size and the number of rows.
 */
export function checkLogitsTargets(
  gpu: Gpu,
  k: string,
  [logits, targets]: [Tensor<"f32">, Tensor<"i32">],
): { vocab: number; rows: number } {
  checkTensor(gpu, k, "logits", logits);
  checkTensor(gpu, k, "targets", targets, { dtypes: ["i32"] });
  const { rows, width: vocab } = checkRows(k, ["logits", logits]);
  if (targets.size !== rows) {
    throw new RangeError(
      `Cannot run ${k}: targets ${fmtShape(targets.shape)} must hold one id per row of logits ${
        fmtShape(logits.shape)
      }`,
    );
  }
  return { vocab, rows };
}
