/**
 * KL divergence between the softmax distributions of two logits tensors, per row:
 * `kl[n] = Σ_v P(v)·(log P(v) − log Q(v))` with `P = softmax(p[n, :])`, `Q = softmax(q[n, :])`.
 *
 * With `targets` it also writes `loss[n] = logsumexp(q[n, :]) − q[n, target[n]]`, the
 * cross-entropy of Q (0 where the target is negative, NaN where it is ≥ V), which the
 * pass computes anyway: a spliced model's loss and its divergence from the clean
 * model in one read of its logits.
 *
 * Either input may hold fewer rows than the other, a divisor of their number: row `n`
 * then compares with row `n mod M` of the shorter one (one reference distribution
 * against many candidates, without copying it).
 *
 * Bindings: `p` [N or M, V], `q` [N or M, V], `kl` [N], optionally `targets` [N] (i32) and
 * `loss` [N], uniforms `{ rows, vocab, pRows, qRows }`. One workgroup of 64 invocations per row
 * (fewer than the usual 256: software adapters pay per invocation and barrier, and a
 * row of a few thousand entries still gives each invocation dozens) makes one pass over both rows: each
 * invocation keeps, over its strided entries, the running max `m` and sum
 * `s = Σ exp(p − m)` of `p`, the same pair for `q`, and `a = Σ exp(p − m)·(p − q)`
 * (rescaled with `s` whenever `m` grows). The pairs are merged in shared memory
 * and `kl = a/s_p − (m_p − m_q) − log s_p + log s_q`, which is
 * `E_P[p − q] − logsumexp(p) + logsumexp(q)` without subtracting two large
 * log-sum-exps. Identical rows give exactly 0; rounding can leave values a few
 * ulps below 0 for nearly identical rows.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkSameShape, checkTensor, fmtShape, grid, GRID_ARGS, outTensor, Uniforms } from "./_util.ts";

/** Options of {@linkcode klDiv}. */
export interface KlDivOptions {
  /** Write the per-row divergences here (`[N]`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** `[N]` i32 target ids: also write the cross-entropy of Q against them into `loss`. */
  targets?: Tensor<"i32">;
  /** `[N]`: where the cross-entropy of Q goes; needed with `targets` and only with them. */
  loss?: Tensor<"f32">;
}

const WG = 64;

function program(withLoss: boolean): Program {
  return {
    name: "kl_div",
    key: withLoss ? "loss" : "noloss",
    code: () => `
@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> kl: array<f32>;
${
      withLoss
        ? `@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;`
        : ""
    }
struct U { rows: u32, vocab: u32, prows: u32, qrows: u32 }
@group(0) @binding(${withLoss ? 5 : 3}) var<uniform> u: U;
var<workgroup> wmp: array<f32, ${WG}>;
var<workgroup> wsp: array<f32, ${WG}>;
var<workgroup> wa: array<f32, ${WG}>;
var<workgroup> wmq: array<f32, ${WG}>;
var<workgroup> wsq: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let op = (row % u.prows) * u.vocab;
  let oq = (row % u.qrows) * u.vocab;
  var mp = -3.0e38;
  var sp = 0.0;
  var a = 0.0;
  var mq = -3.0e38;
  var sq = 0.0;
  for (var i = lid; i < u.vocab; i += ${WG}u) {
    let x = p[op + i];
    let y = q[oq + i];
    if (x > mp) { let r = exp(mp - x); sp *= r; a *= r; mp = x; }
    let e = exp(x - mp);
    sp += e;
    a += e * (x - y);
    if (y > mq) { sq *= exp(mq - y); mq = y; }
    sq += exp(y - mq);
  }
  wmp[lid] = mp;
  wsp[lid] = sp;
  wa[lid] = a;
  wmq[lid] = mq;
  wsq[lid] = sq;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let m1 = wmp[lid];
      let m2 = wmp[lid + k];
      let mm = max(m1, m2);
      let r1 = exp(m1 - mm);
      let r2 = exp(m2 - mm);
      wsp[lid] = wsp[lid] * r1 + wsp[lid + k] * r2;
      wa[lid] = wa[lid] * r1 + wa[lid + k] * r2;
      wmp[lid] = mm;
      let n1 = wmq[lid];
      let n2 = wmq[lid + k];
      let nn = max(n1, n2);
      wsq[lid] = wsq[lid] * exp(n1 - nn) + wsq[lid + k] * exp(n2 - nn);
      wmq[lid] = nn;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    kl[row] = wa[0] / wsp[0] - (wmp[0] - wmq[0]) - log(wsp[0]) + log(wsq[0]);
    ${
      withLoss
        ? `let t = targets[row];
    var value = 0.0;
    if (t >= 0) {
      value = select(bitcast<f32>(0x7fc00000u), wmq[0] + log(wsq[0]) - q[oq + u32(t)], u32(t) < u.vocab);
    }
    loss[row] = value;`
        : ""
    }
  }
}`,
  };
}

/**
 * Per-row KL divergence `KL(softmax(p) ‖ softmax(q))` of two logits tensors.
 *
 * @param gpu The GPU context.
 * @param p `[N, V]` logits of the reference distribution P (or `[..., V]`, flattened to rows).
 * @param q Logits of Q, the same shape as `p`; or either of them `[M, V]` with M dividing N,
 *   repeated cyclically (row `n` uses row `n mod M`).
 * @param options `out`; `targets` and `loss` for the cross-entropy of Q.
 * @returns `[N]` divergences in nats.
 * @throws {RangeError} When the rows are not of one width `V`, neither row count divides the other, `V` is 0,
 *   or `targets` is not one id per row.
 * @throws {TypeError} When only one of `targets` and `loss` is given.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { klDiv } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const p = gpu.upload(new Float32Array([0, 0]), [1, 2]);
 * const q = gpu.upload(new Float32Array([Math.log(3), 0]), [1, 2]);
 * console.log(await klDiv(gpu, p, q).read()); // [½·ln(½/¾) + ½·ln(½/¼) ≈ 0.1438]
 * ```
 */
export function klDiv(gpu: Gpu, p: Tensor<"f32">, q: Tensor<"f32">, options: KlDivOptions = {}): Tensor<"f32"> {
  const k = "klDiv";
  checkTensor(gpu, k, "p", p);
  checkTensor(gpu, k, "q", q);
  if (p.rank < 1 || q.rank < 1) throw new RangeError(`Cannot run ${k}: the logits must have at least one dimension`);
  const vocab = p.shape[p.rank - 1];
  if (vocab === 0) throw new RangeError(`Cannot run ${k}: the rows are empty (V is 0), so no distribution is defined`);
  const pRows = p.size / vocab, qRows = q.size / vocab;
  if (pRows === qRows || q.shape[q.rank - 1] !== vocab) checkSameShape(k, ["p", "q"], p, q);
  else {
    const [few, many] = pRows < qRows ? [pRows, qRows] : [qRows, pRows];
    if (few === 0 || many % few !== 0) {
      throw new RangeError(
        `Cannot run ${k}: p ${fmtShape(p.shape)} and q ${fmtShape(q.shape)} are neither the same shape ` +
          `nor rows of one width where one row count divides the other`,
      );
    }
  }
  const rows = Math.max(pRows, qRows);
  const { targets } = options;
  if ((targets === undefined) !== (options.loss === undefined)) {
    throw new TypeError(`Cannot run ${k}: targets and loss go together (the loss is that of Q against the targets)`);
  }
  if (targets !== undefined) {
    checkTensor(gpu, k, "targets", targets, { dtypes: ["i32"] });
    if (targets.size !== rows) {
      throw new RangeError(
        `Cannot run ${k}: targets ${fmtShape(targets.shape)} must hold one id per row of q ${fmtShape(q.shape)}`,
      );
    }
  }
  const kl = outTensor(gpu, k, options.out, [rows]);
  const loss = targets === undefined ? undefined : outTensor(gpu, k, options.loss, [rows], { name: "loss" });
  if (rows === 0) return kl;
  gpu.dispatch(program(loss !== undefined), {
    bindings: loss ? [p, q, kl, targets!, loss] : [p, q, kl],
    uniforms: new Uniforms().u32(rows).u32(vocab).u32(pRows).u32(qRows).bytes(),
    workgroups: grid(rows),
  });
  return kl;
}
