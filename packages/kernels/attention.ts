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
 * registers); head sizes that are multiples of 4 are read as `vec4`s. On CPU
 * software adapters `qkv` is first copied into a cached `rgba32float` texture and
 * read with `textureLoad` (the same values, so the same result, about twice as
 * fast there as storage-buffer loads). Workgroup size 64.
 *
 * @module
 */
import type { Binding, Gpu, Program, Tensor } from "@saelab/gpu";
import { stage, stagedExtent, wrapShift } from "./_matmul_stage.ts";
import { textureLoadsSupported } from "./_matmul_texture.ts";
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

/**
 * @internal WGSL of where an attention kernel reads the rows (tokens) of an activation:
 * `fn ${fn}(row, col) -> T`, the `T` at column `col` (in units of `T`) of a row `width` `T`s wide,
 * from the storage buffer `name` or, with a `shift`, from the `rgba32float` texture `name`
 * staged by `_matmul_stage.ts` (rows wrapped every 2^shift).
 *
 * @returns WGSL for module scope.
 */
export function rowSource(
  spec: { name: string; fn: string; binding: number; width: string },
  shift: number | undefined,
): string {
  const { name, fn, binding, width } = spec;
  if (shift === undefined) {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<T>;
fn ${fn}(row: u32, col: u32) -> T { return ${name}[row * ${width} + col]; }`;
  }
  return `@group(0) @binding(${binding}) var ${name}: texture_storage_2d<rgba32float, read>;
fn ${fn}(row: u32, col: u32) -> T {
  return textureLoad(${name}, vec2u(col + (row >> ${shift}u) * ${width}, row & ${2 ** shift - 1}u));
}`;
}

function program(headSize: number, withLse: boolean, lanes: 1 | 4, shift: number | undefined): Program {
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const dot = lanes === 4 ? "dot(a, b)" : "a * b";
  return {
    name: "attention",
    key: `hs${headSize}|${withLse ? "lse" : "nolse"}|x${lanes}|${shift === undefined ? "buffer" : `texture${shift}`}`,
    code: () => `
alias T = ${T};
const hs = ${headSize / lanes}u; // head size in units of T, compiled in so that the loops unroll
struct U { rows: u32, seq: u32, heads: u32, scale: f32, causal: u32 }
@group(0) @binding(${withLse ? 3 : 2}) var<uniform> u: U;
${rowSource({ name: "qkv", fn: "ld", binding: 0, width: "3u * u.heads * hs" }, shift)}
@group(0) @binding(1) var<storage, read_write> z: array<T>;
${withLse ? "@group(0) @binding(2) var<storage, read_write> lse: array<f32>;" : ""}

fn dotT(a: T, b: T) -> f32 { return ${dot}; }

${headRowMain(WG)}
  let head0 = h * 3u * hs;
  let qi = b * u.seq + i;
  var q: array<T, hs>;
  var acc: array<T, hs>;
  for (var e = 0u; e < hs; e++) { q[e] = ld(qi, head0 + e) * u.scale; acc[e] = T(0.0); }
  var m = -3.0e38;
  var l = 0.0;
  let last = select(u.seq, i + 1u, u.causal != 0u);
  for (var j = 0u; j < last; j++) {
    let kj = b * u.seq + j;
    var s = 0.0;
    for (var e = 0u; e < hs; e++) { s += dotT(q[e], ld(kj, head0 + hs + e)); }
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      for (var e = 0u; e < hs; e++) { acc[e] *= c; }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    for (var e = 0u; e < hs; e++) { acc[e] += p * ld(kj, head0 + 2u * hs + e); }
  }
  let z0 = qi * u.heads * hs + h * hs;
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
  const lanes = headSize % 4 === 0 ? 4 : 1;
  const source = rowBinding(gpu, qkv, { lanes, slot: "attention.qkv" });
  gpu.dispatch(program(headSize, lse !== undefined, lanes, source.shift), {
    bindings: lse ? [source.binding, z, lse] : [source.binding, z],
    uniforms: new Uniforms().u32(rows).u32(seq).u32(heads).f32(scale).u32(
      options.causal === false ? 0 : 1,
    )
      .bytes(),
    workgroups: grid(Math.ceil(rows / WG)),
  });
  return z;
}

/**
 * @internal How an attention kernel reads a `[B, T, W]` activation: on CPU software adapters, with
 * `vec4` lanes and read-only storage textures, staged into a cached `rgba32float` texture of
 * `slot` (one `textureLoad` per `vec4`, about twice as fast there as storage-buffer loads);
 * else the buffer itself. Every activation a kernel reads this way takes its own `slot`.
 *
 * @returns The binding and, for a texture, its wrap shift (for {@linkcode rowSource}).
 */
export function rowBinding(
  gpu: Gpu,
  t: Tensor<"f32">,
  options: { lanes: 1 | 4; slot: string },
): { binding: Binding; shift: number | undefined } {
  const [batch, seq, width] = t.shape;
  const rows = batch * seq;
  if (!gpu.isSoftware || options.lanes !== 4 || !textureLoadsSupported() || !stagedExtent(gpu, rows, width)) {
    return { binding: t, shift: undefined };
  }
  const staged = stage(gpu, t, { rows, cols: width, padRows: false, slot: options.slot, keep: new Set() });
  return { binding: staged.texture.createView(), shift: wrapShift(gpu) };
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
