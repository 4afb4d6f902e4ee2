/**
 * Reductions over fragment activations, so that only small results leave the GPU:
 *
 * - `fragment_stats`: per (fragment, feature) the maximum, the count of non-zero tokens and the sum,
 *   written at a fragment offset into `[fragments, F]` outputs; one invocation per pair.
 * - `gather_cols`: `out[r, s] = acts[r, cols[s]]`, one invocation per output element.
 * - `feature_hist`: per selected feature, a 32-bin histogram of its positive activations on `[0, max]`,
 *   added into `hist [S, 32]`; one invocation per feature (no atomics).
 * - `gather_pairs`: the per-token activations of (fragment, column) pairs into `out [P, L]`.
 *
 * All use workgroup size 64 over a 2-D grid (`stride` = invocations per grid row).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";

const WG = 64;
const MAX_GROUPS = 65535;
/** Bins of the activation histograms. */
export const HIST_BINS = 32;

const ID = "let i = id.x + id.y * u.stride;";

const STATS: Program = {
  name: "autointerp_fragment_stats",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> acts: array<f32>;
@group(0) @binding(1) var<storage, read_write> fmax: array<f32>;
@group(0) @binding(2) var<storage, read_write> fnnz: array<f32>;
@group(0) @binding(3) var<storage, read_write> fsum: array<f32>;
struct U { n: u32, cols: u32, len: u32, offset: u32, stride: u32 }
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  ${ID}
  if (i >= u.n) { return; }
  let f = i / u.cols;
  let j = i % u.cols;
  var m = acts[f * u.len * u.cols + j];
  var c = 0.0;
  var s = 0.0;
  for (var t = 0u; t < u.len; t++) {
    let v = acts[(f * u.len + t) * u.cols + j];
    m = max(m, v);
    c += select(0.0, 1.0, v != 0.0);
    s += v;
  }
  let o = (u.offset + f) * u.cols + j;
  fmax[o] = m;
  fnnz[o] = c;
  fsum[o] = s;
}`,
};

const GATHER_COLS: Program = {
  name: "autointerp_gather_cols",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> acts: array<f32>;
@group(0) @binding(1) var<storage, read> cols: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct U { n: u32, width: u32, selected: u32, stride: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  ${ID}
  if (i >= u.n) { return; }
  let r = i / u.selected;
  out[i] = acts[r * u.width + cols[i % u.selected]];
}`,
};

const HIST: Program = {
  name: "autointerp_feature_hist",
  key: `wg${WG}|bins${HIST_BINS}`,
  code: () => `
@group(0) @binding(0) var<storage, read> acts: array<f32>;
@group(0) @binding(1) var<storage, read> top: array<f32>;
@group(0) @binding(2) var<storage, read_write> hist: array<u32>;
struct U { n: u32, rows: u32, stride: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  ${ID}
  if (i >= u.n) { return; }
  var h: array<u32, ${HIST_BINS}>;
  let scale = select(0.0, f32(${HIST_BINS}) / top[i], top[i] > 0.0);
  for (var r = 0u; r < u.rows; r++) {
    let v = acts[r * u.n + i];
    if (v > 0.0) {
      h[min(u32(v * scale), ${HIST_BINS - 1}u)] += 1u;
    }
  }
  for (var b = 0u; b < ${HIST_BINS}u; b++) { hist[i * ${HIST_BINS}u + b] += h[b]; }
}`,
};

const GATHER_PAIRS: Program = {
  name: "autointerp_gather_pairs",
  key: `wg${WG}`,
  code: () => `
@group(0) @binding(0) var<storage, read> acts: array<f32>;
@group(0) @binding(1) var<storage, read> pairs: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct U { n: u32, len: u32, width: u32, stride: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  ${ID}
  if (i >= u.n) { return; }
  let p = i / u.len;
  let t = i % u.len;
  let frag = pairs[3u * p];
  let col = pairs[3u * p + 1u];
  let slot = pairs[3u * p + 2u];
  out[slot * u.len + t] = acts[(frag * u.len + t) * u.width + col];
}`,
};

function run(gpu: Gpu, program: Program, bindings: Binding[], n: number, fields: number[]): void {
  if (n === 0) return;
  const groups = Math.ceil(n / WG);
  const x = Math.min(groups, MAX_GROUPS);
  const uniforms = new Uint32Array([n, ...fields, x * WG]);
  gpu.dispatch(program, { bindings, uniforms, workgroups: [x, Math.ceil(groups / x)] });
}

/**
 * Per (fragment, column) max, non-zero count and sum of `acts [frags · len, cols]`, written at rows
 * `offset …` of `fmax`, `fnnz`, `fsum` (each `[fragments, cols]`).
 */
export function fragmentStats(
  gpu: Gpu,
  acts: Binding,
  o: { frags: number; cols: number; len: number; offset: number; fmax: Binding; fnnz: Binding; fsum: Binding },
): void {
  run(gpu, STATS, [acts, o.fmax, o.fnnz, o.fsum], o.frags * o.cols, [o.cols, o.len, o.offset]);
}

/** `out [rows, S] = acts [rows, width][:, cols]`. */
export function gatherCols(
  gpu: Gpu,
  acts: Binding,
  o: { rows: number; width: number; cols: Binding; selected: number; out: Binding },
): void {
  run(gpu, GATHER_COLS, [acts, o.cols, o.out], o.rows * o.selected, [o.width, o.selected]);
}

/** Add the histograms of the `S` columns of `acts [rows, S]` (bins over `[0, top[s]]`) into `hist [S, 32]`. */
export function featureHist(
  gpu: Gpu,
  acts: Binding,
  o: { rows: number; selected: number; top: Binding; hist: Binding },
): void {
  run(gpu, HIST, [acts, o.top, o.hist], o.selected, [o.rows]);
}

/** Copy the `len` activations of each (fragment, column, slot) triple of `pairs` from `acts [frags · len, width]`. */
export function gatherPairs(
  gpu: Gpu,
  acts: Binding,
  o: { pairs: Binding; count: number; len: number; width: number; out: Binding },
): void {
  run(gpu, GATHER_PAIRS, [acts, o.pairs, o.out], o.count * o.len, [o.len, o.width]);
}
