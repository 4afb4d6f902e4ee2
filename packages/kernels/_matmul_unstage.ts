/**
 * The last step of the texture variant: its kernel writes alpha·op(A)·op(B)
 * into a cached `rgba32float` texture laid out like the staged operands
 * (texel = 4 columns of a row, rows past H wrapped into side-by-side blocks
 * of `aw` texels). This moves it into C:
 * - a plain `copyTextureToBuffer` when there is no epilogue and rows are
 *   256-byte aligned (n a multiple of 64);
 * - otherwise `matmul_unstage`, one invocation per texel (workgroup 64),
 *   which applies bias, accumulation and ReLU on the way.
 *
 * Bindings of `matmul_unstage`: 0 `tc` (read-only storage texture), 1 `bias` (read),
 * 2 `c` (read_write), 3 `p` (Params with alpha = 1, `aw` = texels per block).
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import { biasBinding, EPILOGUE_WGSL, type MatmulProblem, MAX_GROUPS, params, PARAMS_WGSL } from "./_matmul_common.ts";
import { wrapShift } from "./_matmul_stage.ts";

const WG = 64;

function program(shift: number): Program {
  return {
    name: "matmul_unstage",
    key: `shift=${shift}`,
    code: () =>
      `${PARAMS_WGSL}
@group(0) @binding(0) var tc: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

${EPILOGUE_WGSL}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let texels = (p.n + 3u) / 4u;
  let t = (wg.y * ${MAX_GROUPS}u + wg.x) * ${WG}u + li;
  if (t >= p.m * texels) { return; }
  let i = t / texels;
  let j = (t % texels) * 4u;
  let v = textureLoad(tc, vec2u(j / 4u + (i >> ${shift}u) * p.aw, i & ${2 ** shift - 1}u));
  finish(i, j, v.x);
  if (j + 1u < p.n) { finish(i, j + 1u, v.y); }
  if (j + 2u < p.n) { finish(i, j + 2u, v.z); }
  if (j + 3u < p.n) { finish(i, j + 3u, v.w); }
}
`,
  };
}

const programs = new Map<number, Program>();

/**
 * Record the move of the product from `tex` into C, with the epilogue.
 *
 * @param tex The texture the kernel wrote.
 * @param texels Texels per row of one wrapped block of `tex`.
 */
export function unstage(gpu: Gpu, pr: MatmulProblem, tex: GPUTexture, texels: number): void {
  const shift = wrapShift(gpu), h = 2 ** shift;
  if (pr.flags === 0 && pr.n % 64 === 0) {
    const enc = gpu.encoder();
    for (let r0 = 0; r0 < pr.m; r0 += h) {
      const rows = Math.min(h, pr.m - r0);
      enc.copyTextureToBuffer(
        { texture: tex, origin: [(r0 / h) * texels, 0] },
        { buffer: pr.c.buffer, offset: r0 * pr.n * 4, bytesPerRow: pr.n * 4, rowsPerImage: rows },
        [pr.n / 4, rows],
      );
    }
    return;
  }
  let prog = programs.get(shift);
  if (!prog) programs.set(shift, prog = program(shift));
  const u = params({ ...pr, alpha: 1 }, { aw: texels });
  const groups = Math.ceil((pr.m * Math.ceil(pr.n / 4)) / WG);
  gpu.dispatch(prog, {
    bindings: [tex.createView({ label: tex.label }), biasBinding(pr), pr.c],
    uniforms: u,
    workgroups: [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS)],
  });
}
