/**
 * Multi-head scaled dot-product self-attention on GPT-NeoX's fused QKV layout:
 * each token's `3·D` values are, per head `h`, `[q_h | k_h | v_h]` (the
 * output of `query_key_value` viewed as `[B, T, H, 3·headSize]`). For each
 * head, `softmax(q·kᵀ · scale)` (causal by default) weights `v`; heads are
 * merged back into `[B, T, D]` in head order.
 *
 * Bindings: `qkv` [B, T, 3·D], `z` [B, T, D], optionally `lse` [B, H, T] (the
 * log-sum-exp of each softmax row, for a backward pass that recomputes the
 * probabilities), uniforms `{ rows, seq, heads, scale, causal }`.
 * One invocation per (b, h, query) walks the keys once with an online softmax
 * (running max and sum), so no score row is stored. The head size is
 * compiled in (one pipeline per head size, so the loops over it unroll into
 * registers); head sizes that are multiples of 4 are read as `vec4`s.
 * Workgroup size 64.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, fmtShape, grid, GRID_ARGS, LINEAR_ID, outTensor, Uniforms } from "./_util.ts";

/** Options of {@linkcode attention}. */
export interface AttentionOptions {
  /** Number of heads; `3·D` must split into `heads` groups. */
  heads: number;
  /** Mask keys after the query. Default true. */
  causal?: boolean;
  /** Score scale. Default `headSize^−0.5`. */
  scale?: number;
  /** Write the merged heads here (`[B, T, D]`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** Also write each softmax row's log-sum-exp (of the scaled scores) here, `[B, H, T]`. */
  lse?: Tensor<"f32">;
}

const WG = 64;
/** Largest head size the kernel accepts. */
export const MAX_HEAD_SIZE = 256;

function program(headSize: number, withLse: boolean, lanes: 1 | 4): Program {
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const dot = lanes === 4 ? "dot(a, b)" : "a * b";
  return {
    name: "attention",
    key: `hs${headSize}|${withLse ? "lse" : "nolse"}|x${lanes}`,
    code: () => `
alias T = ${T};
@group(0) @binding(0) var<storage, read> qkv: array<T>;
@group(0) @binding(1) var<storage, read_write> z: array<T>;
${withLse ? "@group(0) @binding(2) var<storage, read_write> lse: array<f32>;" : ""}
struct U { rows: u32, seq: u32, heads: u32, scale: f32, causal: u32 }
@group(0) @binding(${withLse ? 3 : 2}) var<uniform> u: U;

fn dotT(a: T, b: T) -> f32 { return ${dot}; }

${headRowMain(WG)}
  const hs = ${headSize / lanes}u; // head size in units of T, compiled in so that the loops unroll
  let width = 3u * u.heads * hs;
  let q0 = (b * u.seq + i) * width + h * 3u * hs;
  var q: array<T, hs>;
  var acc: array<T, hs>;
  for (var e = 0u; e < hs; e++) { q[e] = qkv[q0 + e] * u.scale; acc[e] = T(0.0); }
  var m = -3.0e38;
  var l = 0.0;
  let last = select(u.seq, i + 1u, u.causal != 0u);
  for (var j = 0u; j < last; j++) {
    let k0 = (b * u.seq + j) * width + h * 3u * hs + hs;
    var s = 0.0;
    for (var e = 0u; e < hs; e++) { s += dotT(q[e], qkv[k0 + e]); }
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      for (var e = 0u; e < hs; e++) { acc[e] *= c; }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    let v0 = k0 + hs;
    for (var e = 0u; e < hs; e++) { acc[e] += p * qkv[v0 + e]; }
  }
  let z0 = (b * u.seq + i) * u.heads * hs + h * hs;
  for (var e = 0u; e < hs; e++) { z[z0 + e] = acc[e] / l; }
  ${withLse ? "lse[id] = m + log(l);" : ""}
}`,
  };
}

/**
 * Self-attention over fused per-head `[q | k | v]` activations.
 *
 * @param gpu The GPU context.
 * @param qkv `[B, T, 3·D]`, laid out per head as `[q_h | k_h | v_h]`.
 * @param options `heads`, `causal`, `scale`, `out`, `lse`.
 * @returns The attention output before the output projection, `[B, T, D]` (heads merged).
 * @throws {RangeError} When `3·D` does not split into `heads` or the head size exceeds {@linkcode MAX_HEAD_SIZE}.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { attention } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const qkv = gpu.upload(new Float32Array(1 * 4 * 3 * 8), [1, 4, 24]); // B 1, T 4, D 8
 * const z = attention(gpu, qkv, { heads: 2 }); // [1, 4, 8]
 * ```
 */
export function attention(gpu: Gpu, qkv: Tensor<"f32">, options: AttentionOptions): Tensor<"f32"> {
  const k = "attention";
  checkTensor(gpu, k, "qkv", qkv, { rank: 3 });
  const [batch, seq] = qkv.shape;
  const { heads, headSize } = checkHeads(k, qkv, options?.heads);
  const scale = checkNumber(k, "scale", options.scale ?? 1 / Math.sqrt(headSize));
  const z = outTensor(gpu, k, options.out, [batch, seq, heads * headSize]);
  const lse = options.lse === undefined
    ? undefined
    : outTensor(gpu, k, options.lse, [batch, heads, seq], { name: "lse" });
  const rows = batch * heads * seq;
  gpu.dispatch(program(headSize, lse !== undefined, headSize % 4 === 0 ? 4 : 1), {
    bindings: lse ? [qkv, z, lse] : [qkv, z],
    uniforms: new Uniforms().u32(rows).u32(seq).u32(heads).f32(scale).u32(
      options.causal === false ? 0 : 1,
    )
      .bytes(),
    workgroups: grid(Math.ceil(rows / WG)),
  });
  return z;
}

/**
 * @internal WGSL opening of `main` in the attention kernels, forward and backward: one invocation
 * `id < u.rows` per (batch `b`, head `h`, row `i`) with `i` fastest, so that neighbouring invocations
 * share keys and `id` indexes the `[B, H, T]` log-sum-exps.
 *
 * @param wg The workgroup size.
 * @returns WGSL, ending inside `main`.
 */
export function headRowMain(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(${GRID_ARGS}) {
  let id = ${LINEAR_ID(wg)};
  if (id >= u.rows) { return; }
  let i = id % u.seq;
  let h = (id / u.seq) % u.heads;
  let b = id / (u.seq * u.heads);`;
}

/**
 * @internal Check that `qkv [B, T, 3·heads·hs]` splits into `heads` heads of a supported size, for kernel `k`.
 *
 * @returns The number of heads and the head size.
 */
export function checkHeads(k: string, qkv: Tensor<"f32">, headsOption: unknown): { heads: number; headSize: number } {
  const width = qkv.shape[2];
  const heads = checkNumber(k, "heads", headsOption, { integer: true });
  if (heads < 1 || width % (3 * heads) !== 0) {
    throw new RangeError(
      `Cannot run ${k}: qkv ${fmtShape(qkv.shape)} does not split into ${heads} heads of [q | k | v]`,
    );
  }
  const headSize = width / (3 * heads);
  if (headSize > MAX_HEAD_SIZE) {
    throw new RangeError(`Cannot run ${k}: head size ${headSize} exceeds the supported ${MAX_HEAD_SIZE}`);
  }
  return { heads, headSize };
}
