/**
 * The Gated SAE steps of the trainer (Rajamanoharan et al. 2024a), on each member's gate
 * pre-activations `π = W_gate x' + b_gate` (`P [rows, n]`, the raw encoder output):
 *
 * - {@linkcode gatedSelect}: codes `f = [π > 0] · ReLU(exp(r_mag)(π − b_gate) + b_mag)` into `C`, `Cᵀ`,
 *   the gate codes `ReLU(π)` into `Cg`, `Cgᵀ` (the auxiliary reconstruction decodes them), fired marks.
 * - {@linkcode gatedGrad}: from `∂π` (the sparsity and auxiliary terms' gradient at open gates) and
 *   `∂m` (the main reconstruction's gradient at fired codes), the gradient at the encoder output
 *   `∂π + exp(r_mag)·∂m` (in place of `∂π`), and per feature `∂r_mag = Σ_b ∂m·(f − b_mag)`,
 *   `∂b_mag = Σ_b ∂m` and `∂b_gate = Σ_b ∂π` (the last into a scratch buffer, because the
 *   encoder-gradient matmul writes the bias column after it).
 * - {@linkcode gatedBiasGrad}: copy `∂b_gate` into the bias column of the encoder gradient.
 * - {@linkcode gatedCodes}: the same codes at inference, on a plain `[rows, n]` tensor (a Gated dictionary).
 *
 * `b_gate`, `r_mag` and `b_mag` are read from the group's packed parameters at {@linkcode GatedParamsAt}.
 * Matrix operands are textures or storage buffers (`sae_operands.ts`), one builder for both.
 *
 * @module
 */
import type { Binding, Gpu, Tensor } from "@saelab/gpu";
import { checkTensor, dispatchLinear, outTensor, Uniforms } from "./_util.ts";
import { dispatchMembers, perItemProgram, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, storeTransposed, withOperandSizes } from "./sae_operand_wgsl.ts";

/**
 * Where a group's Gated parameters lie in its packed buffer (floats): `b_gate` of member z, feature j
 * at `bias + z·biasStride + j·biasStep`; `r_mag` at `rMag + z·stride + j`, `b_mag` at `bMag + z·stride + j`.
 */
export interface GatedParamsAt {
  /** Offset of `b_gate` of member 0, feature 0. */
  bias: number;
  /** Floats between members' `b_gate`. */
  biasStride: number;
  /** Floats between features' `b_gate` (the encoder row length, `d + 4`). */
  biasStep: number;
  /** Offset of `r_mag` of member 0. */
  rMag: number;
  /** Offset of `b_mag` of member 0. */
  bMag: number;
  /** Floats between members' `r_mag` (and `b_mag`). */
  stride: number;
}

const AT_FIELDS = "bias: u32, biasStride: u32, biasStep: u32, rMag: u32, bMag: u32, stride: u32";
const AT_HELPERS = `fn bgate(z: u32, j: u32) -> u32 { return u.bias + z * u.biasStride + j * u.biasStep; }
fn rmag(z: u32, j: u32) -> u32 { return u.rMag + z * u.stride + j; }
fn bmag(z: u32, j: u32) -> u32 { return u.bMag + z * u.stride + j; }`;

const atWords = (at: GatedParamsAt) => [at.bias, at.biasStride, at.biasStep, at.rMag, at.bMag, at.stride];

const SELECT = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const names = ["tp", "oc", "oct", "ogc", "ogct"];
  const vec = (f: string) => `vec4f(${[0, 1, 2, 3].map((q) => `params[${f}(z, j0 + ${q}u)]`).join(", ")})`;
  return perMemberProgram({
    name: "sae_gated_select",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, step: u32, ${AT_FIELDS}${w.fields(names)}`,
    bindings: [
      w.decl("tp", "read"),
      w.decl("oc", "write"),
      w.decl("oct", "write"),
      w.decl("ogc", "write"),
      w.decl("ogct", "write"),
      "var<storage, read> params: array<f32>",
      "var<storage, read_write> fired: array<u32>",
    ],
    helpers: AT_HELPERS,
    item: ["b4", "u.rows / 4u"],
    body: `let b = b4 * 4u;
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    let j0 = j4 * 4u;
    let bg = ${vec("bgate")};
    let scale = exp(${vec("rmag")});
    let bm = ${vec("bmag")};
    var c: array<vec4f, 4>;
    var g: array<vec4f, 4>;
    for (var r = 0u; r < 4u; r++) {
      let p = ${w.load("tp", { x: "j4", y: "b + r", layer: "z" })};
      let m = scale * (p - bg) + bm;
      c[r] = select(vec4f(0.0), max(m, vec4f(0.0)), p > vec4f(0.0));
      g[r] = max(p, vec4f(0.0));
      ${w.store("oc", { x: "j4", y: "b + r", layer: "z" }, "c[r]")}
      ${w.store("ogc", { x: "j4", y: "b + r", layer: "z" }, "g[r]")}
    }
    let c0 = c[0]; let c1 = c[1]; let c2 = c[2]; let c3 = c[3];
    let g0 = g[0]; let g1 = g[1]; let g2 = g[2]; let g3 = g[3];
    ${storeTransposed(w, "oct", { x: "b4", y: "j0", layer: "z", rows: ["c0", "c1", "c2", "c3"] })}
    ${storeTransposed(w, "ogct", { x: "b4", y: "j0", layer: "z", rows: ["g0", "g1", "g2", "g3"] })}
    let hit = (c0 > vec4f(0.0)) | (c1 > vec4f(0.0)) | (c2 > vec4f(0.0)) | (c3 > vec4f(0.0));
    for (var q = 0u; q < 4u; q++) {
      if (hit[q]) { fired[z * u.n + j0 + q] = u.step; }
    }
  }`,
  });
});

/** Sizes of a Gated dispatch. */
export interface GatedSizes {
  /** Rows per member. */
  rows: number;
  /** Features per member. */
  n: number;
  /** Members (layers). */
  members: number;
  /** Where `b_gate`, `r_mag`, `b_mag` lie in the packed parameters. */
  at: GatedParamsAt;
}

/**
 * Gated codes from the gate pre-activations: `C`, `Cᵀ` (codes `f`), `Cg`, `Cgᵀ` (`ReLU(π)`), and
 * `fired[z·n + j] = step` where a code `f` fired.
 *
 * @param gpu The context.
 * @param inputs `p`: `π [rows, n]` per member; `params`: the packed parameters.
 * @param out The four code operands, the fired marks, the step and the sizes.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * gatedSelect(gpu, { p, params }, { c, ct, gc, gct, fired, step, rows, n, members, at });
 * ```
 */
export function gatedSelect(
  gpu: Gpu,
  inputs: { p: MatrixOperand; params: Binding },
  out: GatedSizes & {
    c: MatrixOperand;
    ct: MatrixOperand;
    gc: MatrixOperand;
    gct: MatrixOperand;
    fired: Binding;
    step: number;
  },
): void {
  const { p } = inputs, { c, ct, gc, gct } = out;
  checkSizes("sae_gated_select", out);
  const ops = [p, c, ct, gc, gct];
  dispatchMembers(gpu, SELECT(commonMode("sae_gated_select", ops)), {
    bindings: [...ops.map(bindingOf), inputs.params, out.fired],
    uniforms: withOperandSizes(new Uint32Array([out.rows, out.n, out.step, ...atWords(out.at)]), ops),
    items: out.rows / 4,
    members: out.members,
  });
}

const GRAD = programsByMode((mode) => {
  const w = operandWgsl(mode);
  return perMemberProgram({
    name: "sae_gated_grad",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, ${AT_FIELDS}${w.fields(["tc"])}`,
    bindings: [
      "var<storage, read_write> dpg: array<f32>",
      "var<storage, read> dpm: array<f32>",
      w.decl("tc", "read"),
      "var<storage, read> params: array<f32>",
      "var<storage, read_write> grads: array<f32>",
      "var<storage, read_write> gsum: array<f32>",
    ],
    helpers: AT_HELPERS,
    item: ["j", "u.n"],
    body: `let scale = exp(params[rmag(z, j)]);
  var sm = 0.0;
  var smf = 0.0;
  var sg = 0.0;
  for (var b = 0u; b < u.rows; b++) {
    let e = (z * u.rows + b) * u.n + j;
    let dm = dpm[e];
    let dg = dpg[e];
    let f = ${w.load("tc", { x: "j / 4u", y: "b", layer: "z" })}[j % 4u];
    dpg[e] = dg + scale * dm;
    sm += dm;
    smf += dm * f;
    sg += dg;
  }
  grads[rmag(z, j)] = smf - params[bmag(z, j)] * sm;
  grads[bmag(z, j)] = sm;
  gsum[z * u.n + j] = sg;`,
  });
});

/**
 * The Gated gradients at the encoder output and of `r_mag`, `b_mag` (into `grads`) and `b_gate` (into `gsum`).
 *
 * @param gpu The context.
 * @param inputs `dpg`: `∂π [Z][rows, n]`, overwritten with `∂π + exp(r_mag)·∂m`; `dpm`: `∂m [Z][rows, n]`;
 *   `c`: the codes `f`; `params`: the packed parameters.
 * @param out `grads` (the packed gradients), `gsum` (`∂b_gate [Z·n]`) and the sizes.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * gatedGrad(gpu, { dpg, dpm, c, params }, { grads, gsum, rows, n, members, at });
 * ```
 */
export function gatedGrad(
  gpu: Gpu,
  inputs: { dpg: Binding; dpm: Binding; c: MatrixOperand; params: Binding },
  out: GatedSizes & { grads: Binding; gsum: Binding },
): void {
  checkSizes("sae_gated_grad", out);
  const { c } = inputs;
  dispatchMembers(gpu, GRAD(commonMode("sae_gated_grad", [c])), {
    bindings: [inputs.dpg, inputs.dpm, bindingOf(c), inputs.params, out.grads, out.gsum],
    uniforms: withOperandSizes(new Uint32Array([out.rows, out.n, ...atWords(out.at)]), [c]),
    items: out.n,
    members: out.members,
  });
}

const BIAS = perMemberProgram({
  name: "sae_gated_bias_grad",
  uniforms: `n: u32, ${AT_FIELDS}`,
  bindings: ["var<storage, read> gsum: array<f32>", "var<storage, read_write> grads: array<f32>"],
  helpers: AT_HELPERS,
  item: ["j", "u.n"],
  body: `grads[bgate(z, j)] = gsum[z * u.n + j];`,
});

/**
 * Write `∂b_gate` (from {@linkcode gatedGrad}) into the bias column of the encoder gradient.
 *
 * @param gpu The context.
 * @param gsum `∂b_gate [Z·n]`.
 * @param out `grads` (the packed gradients) and the sizes (`rows` unused).
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * gatedBiasGrad(gpu, gsum, { grads, rows, n, members, at });
 * ```
 */
export function gatedBiasGrad(gpu: Gpu, gsum: Binding, out: GatedSizes & { grads: Binding }): void {
  dispatchMembers(gpu, BIAS, {
    bindings: [gsum, out.grads],
    uniforms: new Uint32Array([out.n, ...atWords(out.at)]),
    items: out.n,
    members: out.members,
  });
}

function checkSizes(kernel: string, s: GatedSizes): void {
  if (s.rows % 4 !== 0 || s.n % 4 !== 0) {
    throw new RangeError(`Cannot run ${kernel}: rows ${s.rows} and features ${s.n} must be multiples of 4`);
  }
}

const CODES = perItemProgram({
  name: "sae_gated_codes",
  wg: 64,
  buffers: [
    ["x", "read", "f32"],
    ["b", "read", "f32"],
    ["r", "read", "f32"],
    ["m", "read", "f32"],
    ["y", "read_write", "f32"],
  ],
  uniforms: "cols: u32",
  body: `let p = x[i];
  let j = i % u.cols;
  y[i] = select(0.0, max(exp(r[j]) * (p - b[j]) + m[j], 0.0), p > 0.0);`,
});

/**
 * Gated codes at inference: `c_bj = [p_bj > 0] · ReLU(exp(r_j)(p_bj − b_j) + m_j)` on gate pre-activations
 * `P [rows, n]` (`p = W x + b`; a ReLU'd `P` gives the same codes).
 *
 * @param gpu The GPU context.
 * @param x Gate pre-activations `[rows, n]`.
 * @param params `bias` (`b`, the gate bias `P` includes), `rMag` and `bMag`, each `[n]`; `out` `[rows, n]` (not `x`).
 * @returns The codes `[rows, n]`.
 * @throws {RangeError} When a parameter does not hold one value per column of `x`, or `out` is `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { gatedCodes } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, -1]), [1, 2]);
 * const z = gpu.zeros([2]);
 * console.log(await gatedCodes(gpu, x, { bias: z, rMag: z, bMag: z }).read()); // [1, 0]
 * ```
 */
export function gatedCodes(
  gpu: Gpu,
  x: Tensor<"f32">,
  params: { bias: Tensor<"f32">; rMag: Tensor<"f32">; bMag: Tensor<"f32">; out?: Tensor<"f32"> },
): Tensor<"f32"> {
  checkTensor(gpu, "gatedCodes", "x", x, { rank: 2 });
  const [rows, cols] = x.shape;
  for (const key of ["bias", "rMag", "bMag"] as const) {
    checkTensor(gpu, "gatedCodes", key, params[key]);
    if (params[key].size !== cols) {
      throw new RangeError(`Cannot run gatedCodes: ${key} must hold one value per column of x (${cols})`);
    }
  }
  const y = outTensor(gpu, "gatedCodes", params.out, x.shape);
  if (y.buffer === x.buffer) throw new RangeError("Cannot run gatedCodes: out must not be x");
  dispatchLinear(gpu, CODES, {
    bindings: [x, params.bias, params.rMag, params.bMag, y],
    uniforms: new Uniforms().u32(rows * cols).u32(cols),
    count: rows * cols,
    wg: 64,
  });
  return y;
}
