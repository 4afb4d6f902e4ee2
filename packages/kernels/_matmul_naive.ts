/**
 * Naive matmul: one invocation per output element, operands read straight
 * from storage buffers through run-time strides (so one pipeline serves all
 * four transpose combinations). The benchmark baseline and the simplest
 * GPU path.
 *
 * Bindings: 0 `a` (read), 1 `b` (read), 2 `bias` (read), 3 `c` (read_write),
 * 4 `p` (Params). Workgroup 8×8; x runs over columns, y over rows.
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import { dispatchTiles, type MatmulProblem, params, STORAGE_HEAD_WGSL, storageBindings } from "./_matmul_common.ts";

const WG = 8;

const NAIVE: Program = {
  name: "matmul_naive",
  key: `wg=${WG}`,
  code: () =>
    `${STORAGE_HEAD_WGSL}

@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y + p.tile0 * ${WG}u;
  let j = g.x;
  if (i >= p.m || j >= p.n) { return; }
  var acc = 0.0;
  for (var l = 0u; l < p.k; l++) {
    acc = acc + a[i * p.sa0 + l * p.sa1] * b[l * p.sb0 + j * p.sb1];
  }
  finish(i, j, acc);
}
`,
};

/** Record the naive kernel for a validated problem. */
export function matmulNaive(gpu: Gpu, pr: MatmulProblem): void {
  dispatchTiles(gpu, NAIVE, {
    bindings: storageBindings(pr),
    uniforms: params(pr),
    tiles: [Math.ceil(pr.n / WG), Math.ceil(pr.m / WG)],
  });
}
