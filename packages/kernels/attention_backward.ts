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
 * unroll into registers) and head sizes that are multiples of 4 are read as `vec4`s; on
 * CPU software adapters `qkv` and `dz` are read from staged textures (`rowBinding`).
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkSameShape, checkTensor, fmtShape, grid, outTensor, Uniforms } from "./_util.ts";
import { checkHeads, headRowMain, rowBinding, rowSource } from "./attention.ts";

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

/** Where the kernels read `qkv` and `dz`: wrap shifts of their staged textures, `undefined` for buffers. */
interface Sources {
  qkv: number | undefined;
  dz: number | undefined;
}

/**
 * A kernel of this file: the shared bindings and entry (`id` enumerates (b, h, i) with i fastest),
 * then `body`, which ends `main`. `T` is `f32` or `vec4<f32>` (head sizes that are multiples of 4);
 * the head size is compiled in (`hs`, in units of `T`), so the loops over it unroll and the
 * per-invocation vectors stay in registers. `ld(row, col)` reads `qkv`, `ldz(row, col)` reads `dz`.
 */
function program(name: string, headSize: number, sources: Sources, body: string): Program {
  const lanes = headSize % 4 === 0 ? 4 : 1;
  const where = (shift: number | undefined) => (shift === undefined ? "b" : `t${shift}`);
  return {
    name,
    key: `hs${headSize}|x${lanes}|${where(sources.qkv)}|${where(sources.dz)}`,
    code: () => `
alias T = ${lanes === 4 ? "vec4<f32>" : "f32"};
const hs = ${headSize / lanes}u;
struct U { rows: u32, seq: u32, heads: u32, headSize: u32, scale: f32, causal: u32 }
@group(0) @binding(6) var<uniform> u: U;
${rowSource({ name: "qkv", fn: "ld", binding: 0, width: "3u * u.heads * hs" }, sources.qkv)}
@group(0) @binding(1) var<storage, read> z: array<T>;
${rowSource({ name: "dz", fn: "ldz", binding: 2, width: "u.heads * hs" }, sources.dz)}
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<T>;
@group(0) @binding(5) var<storage, read_write> delta: array<f32>;

fn dotT(a: T, b: T) -> f32 { return ${lanes === 4 ? "dot(a, b)" : "a * b"}; }

${headRowMain(WG)}
  let width = 3u * u.heads * hs;
  let row0 = b * u.seq;
  let head0 = h * 3u * hs;${body}
}`,
  };
}

function queries(headSize: number, sources: Sources): Program {
  return program(
    "attention_backward_q",
    headSize,
    sources,
    `
  let r = row0 + i;
  let z0 = r * u.heads * hs + h * hs;
  var q: array<T, hs>;
  var g: array<T, hs>;
  var dq: array<T, hs>;
  var d = 0.0;
  for (var e = 0u; e < hs; e++) {
    q[e] = ld(r, head0 + e) * u.scale;
    g[e] = ldz(r, h * hs + e);
    d += dotT(g[e], z[z0 + e]);
    dq[e] = T(0.0);
  }
  let m = lse[id];
  let last = select(u.seq, i + 1u, u.causal != 0u);
  for (var j = 0u; j < last; j++) {
    let kj = row0 + j;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < hs; e++) {
      s += dotT(q[e], ld(kj, head0 + hs + e));
      dp += dotT(g[e], ld(kj, head0 + 2u * hs + e));
    }
    let ds = exp(s - m) * (dp - d);
    for (var e = 0u; e < hs; e++) { dq[e] += ds * ld(kj, head0 + hs + e); }
  }
  let q0 = r * width + head0;
  for (var e = 0u; e < hs; e++) { dqkv[q0 + e] = dq[e] * u.scale; }
  delta[id] = d;`,
  );
}

function keys(headSize: number, sources: Sources): Program {
  return program(
    "attention_backward_kv",
    headSize,
    sources,
    `
  let r = row0 + i;
  _ = z[0]; // one bind group layout for both kernels
  var k: array<T, hs>;
  var v: array<T, hs>;
  var dk: array<T, hs>;
  var dv: array<T, hs>;
  for (var e = 0u; e < hs; e++) {
    k[e] = ld(r, head0 + hs + e) * u.scale;
    v[e] = ld(r, head0 + 2u * hs + e);
    dk[e] = T(0.0);
    dv[e] = T(0.0);
  }
  let first = select(0u, i, u.causal != 0u);
  let stat0 = (b * u.heads + h) * u.seq;
  for (var qi = first; qi < u.seq; qi++) {
    let rq = row0 + qi;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < hs; e++) { s += dotT(ld(rq, head0 + e), k[e]); dp += dotT(ldz(rq, h * hs + e), v[e]); }
    let p = exp(s - lse[stat0 + qi]);
    let ds = p * (dp - delta[stat0 + qi]) * u.scale;
    for (var e = 0u; e < hs; e++) { dk[e] += ds * ld(rq, head0 + e); dv[e] += p * ldz(rq, h * hs + e); }
  }
  let k0 = r * width + head0 + hs;
  for (var e = 0u; e < hs; e++) { dqkv[k0 + e] = dk[e]; dqkv[k0 + hs + e] = dv[e]; }`,
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
  const lanes = headSize % 4 === 0 ? 4 : 1;
  const tq = rowBinding(gpu, qkv, { lanes, slot: "attention.qkv" });
  const tdz = rowBinding(gpu, dz, { lanes, slot: "attention.dz" });
  const sources = { qkv: tq.shift, dz: tdz.shift };
  const run = {
    bindings: [tq.binding, z, tdz.binding, lse, dqkv, delta],
    uniforms: new Uniforms().u32(rows).u32(seq).u32(heads).u32(headSize).f32(scale)
      .u32(options.causal === false ? 0 : 1).bytes(),
    workgroups: grid(Math.ceil(rows / WG)),
  };
  gpu.dispatch(queries(headSize, sources), run);
  gpu.dispatch(keys(headSize, sources), run);
  delta.dispose();
  return dqkv;
}
