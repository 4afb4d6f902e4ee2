/**
 * Backward pass of self-attention (`attention.ts`) on the fused per-head
 * `[q_h | k_h | v_h]` layout. With `p_ij = exp(scale·q_i·k_j − lse_i)` (the forward's
 * softmax, recomputed from its log-sum-exp) and `δ_i = dz_i · z_i`:
 *
 * ```
 * ds_ij = p_ij · (dz_i · v_j − δ_i)
 * dq_i = scale · Σ_j ds_ij k_j      dk_j = scale · Σ_i ds_ij q_i      dv_j = Σ_i p_ij dz_i
 * ```
 *
 * Two kernels, no atomics: `attention_backward_q`, one invocation per (b, h, query i),
 * writes `dq_i` and `δ_i`; `attention_backward_kv`, one invocation per (b, h, key j),
 * walks the queries that see key `j` and writes `dk_j`, `dv_j`. Every element of
 * `dqkv` has exactly one writer. Bindings: `qkv`, `z`, `dz`, `lse`, `dqkv`, `delta`,
 * uniforms `{ rows, seq, heads, headSize, scale, causal }`. Workgroup size 64. As in the
 * forward, the head size is compiled in (one pipeline per head size, so the loops over it
 * unroll into registers) and head sizes that are multiples of 4 are read as `vec4`s.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkSameShape, checkTensor, fmtShape, grid, outTensor, Uniforms } from "./_util.ts";
import { checkHeads, headRowMain } from "./attention.ts";

/** Options of {@linkcode attentionBackward}. */
export interface AttentionBackwardOptions {
  /** Number of heads, as in the forward. */
  heads: number;
  /** The forward output `[B, T, D]`. */
  z: Tensor<"f32">;
  /** The forward's log-sum-exp `[B, H, T]` (its `lse` option). */
  lse: Tensor<"f32">;
  /** Causal mask, as in the forward. Default true. */
  causal?: boolean;
  /** Score scale, as in the forward. Default `headSize^−0.5`. */
  scale?: number;
  /** Write `dqkv` here (shape of `qkv`) instead of a new tensor. */
  out?: Tensor<"f32">;
}

const WG = 64;

/** Bindings and uniforms of both kernels; `T` is `f32` or `vec4<f32>` (head sizes that are multiples of 4). */
function header(lanes: 1 | 4): string {
  return `
alias T = ${lanes === 4 ? "vec4<f32>" : "f32"};
@group(0) @binding(0) var<storage, read> qkv: array<T>;
@group(0) @binding(1) var<storage, read> z: array<T>;
@group(0) @binding(2) var<storage, read> dz: array<T>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<T>;
@group(0) @binding(5) var<storage, read_write> delta: array<f32>;
struct U { rows: u32, seq: u32, heads: u32, headSize: u32, scale: f32, causal: u32 }
@group(0) @binding(6) var<uniform> u: U;

fn dotT(a: T, b: T) -> f32 { return ${lanes === 4 ? "dot(a, b)" : "a * b"}; }`;
}

/**
 * A kernel of this file: the shared bindings and entry (`id` enumerates (b, h, i) with i fastest),
 * then `body`, which ends `main`. The head size is compiled in (`hs`, in units of `T`), so the
 * loops over it unroll and the per-invocation vectors stay in registers.
 */
function program(name: string, headSize: number, body: string): Program {
  const lanes = headSize % 4 === 0 ? 4 : 1;
  return {
    name,
    key: `hs${headSize}|x${lanes}`,
    code: () =>
      `${header(lanes)}

${headRowMain(WG)}
  const hs = ${headSize / lanes}u;
  let width = 3u * u.heads * hs;
  let row0 = b * u.seq;
  let head0 = h * 3u * hs;${body}
}`,
  };
}

function queries(headSize: number): Program {
  return program(
    "attention_backward_q",
    headSize,
    `
  let q0 = (row0 + i) * width + head0;
  let z0 = (row0 + i) * u.heads * hs + h * hs;
  var q: array<T, hs>;
  var g: array<T, hs>;
  var dq: array<T, hs>;
  var d = 0.0;
  for (var e = 0u; e < hs; e++) {
    q[e] = qkv[q0 + e] * u.scale;
    g[e] = dz[z0 + e];
    d += dotT(g[e], z[z0 + e]);
    dq[e] = T(0.0);
  }
  let m = lse[id];
  let last = select(u.seq, i + 1u, u.causal != 0u);
  for (var j = 0u; j < last; j++) {
    let k0 = (row0 + j) * width + head0 + hs;
    let v0 = k0 + hs;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < hs; e++) { s += dotT(q[e], qkv[k0 + e]); dp += dotT(g[e], qkv[v0 + e]); }
    let ds = exp(s - m) * (dp - d);
    for (var e = 0u; e < hs; e++) { dq[e] += ds * qkv[k0 + e]; }
  }
  for (var e = 0u; e < hs; e++) { dqkv[q0 + e] = dq[e] * u.scale; }
  delta[id] = d;`,
  );
}

function keys(headSize: number): Program {
  return program(
    "attention_backward_kv",
    headSize,
    `
  let j = i;
  _ = z[0]; // one bind group layout for both kernels
  let k0 = (row0 + j) * width + head0 + hs;
  let v0 = k0 + hs;
  var k: array<T, hs>;
  var v: array<T, hs>;
  var dk: array<T, hs>;
  var dv: array<T, hs>;
  for (var e = 0u; e < hs; e++) { k[e] = qkv[k0 + e] * u.scale; v[e] = qkv[v0 + e]; dk[e] = T(0.0); dv[e] = T(0.0); }
  let first = select(0u, j, u.causal != 0u);
  let stat0 = (b * u.heads + h) * u.seq;
  for (var qi = first; qi < u.seq; qi++) {
    let q0 = (row0 + qi) * width + head0;
    let z0 = (row0 + qi) * u.heads * hs + h * hs;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < hs; e++) { s += dotT(qkv[q0 + e], k[e]); dp += dotT(dz[z0 + e], v[e]); }
    let p = exp(s - lse[stat0 + qi]);
    let ds = p * (dp - delta[stat0 + qi]) * u.scale;
    for (var e = 0u; e < hs; e++) { dk[e] += ds * qkv[q0 + e]; dv[e] += p * dz[z0 + e]; }
  }
  for (var e = 0u; e < hs; e++) { dqkv[k0 + e] = dk[e]; dqkv[v0 + e] = dv[e]; }`,
  );
}

/**
 * Gradient of `attention(qkv, { heads, causal, scale })` with respect to `qkv`.
 *
 * @param gpu The GPU context.
 * @param qkv The forward input `[B, T, 3·D]`.
 * @param dz The gradient of the output `[B, T, D]`.
 * @param options `heads`, the forward's `z` and `lse`, `causal`, `scale`, `out`.
 * @returns `dqkv`, shaped like `qkv`.
 * @throws {RangeError} When shapes disagree with `heads`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { attention, attentionBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const qkv = gpu.upload(new Float32Array(2 * 24).fill(0.1), [1, 2, 24]);
 * const lse = gpu.zeros([1, 2, 2]);
 * const z = attention(gpu, qkv, { heads: 2, lse });
 * const dqkv = attentionBackward(gpu, qkv, gpu.upload(new Float32Array(16).fill(1), [1, 2, 8]), { heads: 2, z, lse });
 * ```
 */
export function attentionBackward(
  gpu: Gpu,
  qkv: Tensor<"f32">,
  dz: Tensor<"f32">,
  options: AttentionBackwardOptions,
): Tensor<"f32"> {
  const k = "attentionBackward";
  checkTensor(gpu, k, "qkv", qkv, { rank: 3 });
  checkTensor(gpu, k, "dz", dz, { rank: 3 });
  const [batch, seq] = qkv.shape;
  const { heads, headSize } = checkHeads(k, qkv, options?.heads);
  if (dz.shape[0] !== batch || dz.shape[1] !== seq || dz.shape[2] !== heads * headSize) {
    throw new RangeError(`Cannot run ${k}: dz ${fmtShape(dz.shape)} must be [${batch}, ${seq}, ${heads * headSize}]`);
  }
  const z = checkTensor(gpu, k, "z", options.z, { rank: 3 });
  checkSameShape(k, ["z", "dz"], z, dz);
  const lse = checkTensor(gpu, k, "lse", options.lse);
  if (lse.size !== batch * heads * seq) {
    throw new RangeError(`Cannot run ${k}: lse ${fmtShape(lse.shape)} must be [${batch}, ${heads}, ${seq}]`);
  }
  const scale = checkNumber(k, "scale", options.scale ?? 1 / Math.sqrt(headSize));
  const dqkv = outTensor(gpu, k, options.out, qkv.shape);
  if (dqkv.buffer === qkv.buffer) throw new RangeError(`Cannot run ${k}: out must not be qkv`);
  const rows = batch * heads * seq;
  const delta = gpu.empty([Math.max(rows, 1)], "f32", "attentionBackward.delta");
  const run = {
    bindings: [qkv, z, dz, lse, dqkv, delta],
    uniforms: new Uniforms().u32(rows).u32(seq).u32(heads).u32(headSize).f32(scale)
      .u32(options.causal === false ? 0 : 1).bytes(),
    workgroups: grid(Math.ceil(rows / WG)),
  };
  gpu.dispatch(queries(headSize), run);
  gpu.dispatch(keys(headSize), run);
  delta.dispose();
  return dqkv;
}
