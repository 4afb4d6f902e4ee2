/**
 * Small kernels of the SAE training step around the matmuls: input staging
 * and parameter → operand packing (the decoder-row normalisation is in `sae_normalize.ts`).
 * Operands are textures or storage buffers (`sae_operands.ts`), one builder
 * per kernel for both. None uses workgroup memory (cheap to compile on every backend).
 *
 * @module
 */
import type { Binding, Gpu, Program } from "@saelab/gpu";
import { type DispatchGate, dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type KernelMode, type MatrixOperand, modeOf } from "./sae_operands.ts";
import {
  modeKey,
  type OperandWgsl,
  operandWgsl,
  programsByMode,
  storeTransposed,
  withOperandSizes,
} from "./sae_operand_wgsl.ts";

const PREP = programsByMode((mode): Program => {
  const w = operandWgsl(mode);
  const st = (t: string, y: string, v: string) => w.store(t, { x: "i4", y, layer: "0" }, v);
  const code = `struct U { rows: u32, d: u32${w.fields(["xe", "xt"])} }
@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) ${w.decl("xe", "write")};
@group(0) @binding(2) ${w.decl("xt", "write")};
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i4 = g.x;
  let b4 = g.y;
  let d4 = u.d / 4u;
  if (b4 >= u.rows / 4u || i4 > d4) { return; }
  if (i4 == d4) {
    for (var r = 0u; r < 4u; r++) { ${st("xe", "b4 * 4u + r", "vec4f(1.0, 0.0, 0.0, 0.0)")} }
    return;
  }
  let r0 = x[(b4 * 4u) * d4 + i4];
  let r1 = x[(b4 * 4u + 1u) * d4 + i4];
  let r2 = x[(b4 * 4u + 2u) * d4 + i4];
  let r3 = x[(b4 * 4u + 3u) * d4 + i4];
  ${st("xe", "b4 * 4u", "r0")}
  ${st("xe", "b4 * 4u + 1u", "r1")}
  ${st("xe", "b4 * 4u + 2u", "r2")}
  ${st("xe", "b4 * 4u + 3u", "r3")}
  ${storeTransposed(w, "xt", { x: "b4", y: "i4 * 4u", layer: "0", rows: ["r0", "r1", "r2", "r3"] })}
}`;
  return { name: "sae_prep_input", key: modeKey(mode), code: () => code };
});

/**
 * Stage a batch `X [rows, d]` (storage buffer) into `X_e [rows, d + 4]`
 * (column d = 1, the bias input of the encoder-gradient matmul) and `Xᵀ [d, rows]` (operands of one mode).
 *
 * @param gpu The context.
 * @param x The batch.
 * @param out Sizes and members.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * prepInput(gpu, { x, xt, xe }, { rows, d, members });
 * ```
 */
export function prepInput(
  gpu: Gpu,
  x: Binding,
  out: { xe: MatrixOperand; xt: MatrixOperand; rows: number; d: number },
) {
  const { rows, d, xe, xt } = out;
  gpu.dispatch(PREP(commonMode("sae_prep_input", [xe, xt])), {
    bindings: [x, bindingOf(xe), bindingOf(xt)],
    uniforms: withOperandSizes(new Uint32Array([rows, d]), [xe, xt]),
    workgroups: [Math.ceil((d / 4 + 1) / 8), Math.ceil(rows / 32), 1],
  });
}

/** The frame of the buffer → operand copies: one invocation per item of each layer `z`. */
function packProgram(
  name: string,
  spec: { uniforms: string; item: readonly [string, string]; body: (w: OperandWgsl) => string },
): (mode: KernelMode) => Program {
  return programsByMode((mode) => {
    const w = operandWgsl(mode);
    return perMemberProgram({
      name,
      key: modeKey(mode),
      uniforms: `${spec.uniforms}${w.fields(["t"])}`,
      bindings: ["var<storage, read> p: array<vec4f>", w.decl("t", "write")],
      item: spec.item,
      body: spec.body(w),
    });
  });
}

const PACK_T = packProgram("sae_pack_transposed", {
  uniforms: "rows: u32, cols: u32, src4: u32, stride4: u32",
  item: ["block", "(u.rows / 4u) * (u.cols / 4u)"],
  body: (w) =>
    `let c4 = u.cols / 4u;
  let i4 = block % c4;
  let j4 = block / c4;
  let base = u.src4 + z * u.stride4 + j4 * 4u * c4 + i4;
  let r0 = p[base]; let r1 = p[base + c4]; let r2 = p[base + 2u * c4]; let r3 = p[base + 3u * c4];
  ${storeTransposed(w, "t", { x: "j4", y: "i4 * 4u", layer: "z", rows: ["r0", "r1", "r2", "r3"] })}`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a
 * texture or storage operand transposed, `[cols, rows]` per layer (rows and cols multiples of 4).
 *
 * @param gpu The context.
 * @param src The packed parameters.
 * @param dst The operand written.
 * @param at Offset, stride, rows, columns and layers.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * packTransposed(gpu, params, w, { offset, stride, rows: n, cols: d + 4, layers });
 * ```
 */
export function packTransposed(
  gpu: Gpu,
  src: Binding,
  dst: MatrixOperand,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number },
): void {
  const blocks = (at.rows / 4) * (at.cols / 4);
  dispatchMembers(gpu, PACK_T(modeOf(dst)), {
    bindings: [src, bindingOf(dst)],
    uniforms: withOperandSizes(new Uint32Array([at.rows, at.cols, at.offset / 4, at.stride / 4]), [dst]),
    items: blocks,
    members: at.layers,
  });
}

const PACK = packProgram("sae_pack", {
  uniforms: "rows: u32, cols4: u32, src4: u32, stride4: u32",
  item: ["e", "u.rows * u.cols4"],
  body: (w) =>
    `let x = e % u.cols4;
  let row = e / u.cols4;
  ${w.store("t", { x: "x", y: "row", layer: "z" }, "p[u.src4 + z * u.stride4 + row * u.cols4 + x]")}`,
});

/**
 * Copy `layers` matrices `[rows, cols]` from a buffer (offset and stride in floats) into a texture
 * or storage operand.
 *
 * @param gpu The context.
 * @param src The buffer read.
 * @param dst The operand written.
 * @param at Offset, stride, rows, columns and layers.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * packTexture(gpu, dpBuf, dp, { offset: 0, stride: rows * n, rows, cols: n, layers });
 * ```
 */
export function packTexture(
  gpu: Gpu,
  src: Binding,
  dst: MatrixOperand,
  at: { offset: number; stride: number; rows: number; cols: number; layers: number; gate?: DispatchGate },
): void {
  const cols4 = at.cols / 4;
  dispatchMembers(gpu, PACK(modeOf(dst)), {
    bindings: [src, bindingOf(dst)],
    uniforms: withOperandSizes(new Uint32Array([at.rows, cols4, at.offset / 4, at.stride / 4]), [dst]),
    items: at.rows * cols4,
    members: at.layers,
    gate: at.gate,
  });
}
