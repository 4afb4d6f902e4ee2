/**
 * The AuxK selection of the SAE trainer (Gao et al. 2024, "Scaling and evaluating sparse
 * autoencoders", with sparsify's scale for few dead latents): a latent is dead when it has not
 * fired for more than a window of tokens; each row's auxiliary codes are its `k_aux` largest
 * ReLU'd pre-activations among the dead latents, which the auxiliary loss asks to reconstruct the
 * main reconstruction's residual.
 *
 * {@linkcode auxkSelect}, per member: the dead latents `dead_j = step − fired_j > windowSteps`
 * (`fired` already marked for this step), `k_eff = min(k_aux, dead)`, `σ = min(dead / k_aux, 1)`;
 * per row the `k_eff` largest positive `P` among dead latents (exact ties at the threshold all kept)
 * → aux codes `A [rows, n]`, and `Sᵀ = (A + C)ᵀ [n, rows]` (decoding `S` against `X` gives
 * `ê − e`, since `e = x − C D̂`). {@linkcode scaleRows} then multiplies each member's `G_aux` by its `σ`.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, commonMode, type MatrixOperand } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

const AUXK = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const p = (y: string) => w.load("tp", { x: "j4", y, layer: "z" });
  return perMemberProgram({
    name: "sae_auxk",
    key: modeKey(mode),
    uniforms: `rows: u32, n: u32, kAux: u32, step: u32, window: u32${w.fields(["tp", "tc", "oa", "ost"])}`,
    bindings: [
      w.decl("tp", "read"),
      w.decl("tc", "read"),
      w.decl("oa", "write"),
      w.decl("ost", "write"),
      "var<storage, read> fired: array<u32>",
      "var<storage, read_write> sigma: array<f32>",
    ],
    helpers: `fn dead4(z: u32, j4: u32) -> vec4<bool> {
  let f = vec4u(fired[z * u.n + j4 * 4u], fired[z * u.n + j4 * 4u + 1u], fired[z * u.n + j4 * 4u + 2u],
    fired[z * u.n + j4 * 4u + 3u]);
  return (f <= vec4u(u.step)) & (vec4u(u.step) - f > vec4u(u.window));
}
// the bits of the dead latents' ReLU'd pre-activations (0 elsewhere): non-negative floats order like their bits
fn masked(p: vec4f, dead: vec4<bool>) -> vec4u {
  return select(vec4u(0u), bitcast<vec4u>(p), dead & (p > vec4f(0.0)));
}
// the bits of the k-th largest masked value of row b (0 when fewer than k are positive)
fn threshold(b: u32, z: u32, k: u32) -> u32 {
  var t = 0u;
  for (var bit = 30i; bit >= 0i; bit--) {
    let cand = t | (1u << u32(bit));
    var count = 0u;
    for (var j4 = 0u; j4 < u.n / 4u; j4++) {
      count += dot(select(vec4u(0u), vec4u(1u), masked(${p("b")}, dead4(z, j4)) >= vec4u(cand)), vec4u(1u));
    }
    if (count >= k) { t = cand; }
  }
  return t;
}`,
    item: ["b4", "u.rows / 4u"],
    body: `var dead = 0u;
  for (var j4 = 0u; j4 < u.n / 4u; j4++) { dead += dot(select(vec4u(0u), vec4u(1u), dead4(z, j4)), vec4u(1u)); }
  let k = min(u.kAux, dead);
  if (b4 == 0u) { sigma[z] = min(f32(dead) / f32(u.kAux), 1.0); }
  let b = b4 * 4u;
  var t = vec4u(0xffffffffu);
  if (k > 0u) { t = vec4u(threshold(b, z, k), threshold(b + 1u, z, k), threshold(b + 2u, z, k), threshold(b + 3u, z, k)); }
  // no code when no positive dead value is among the k largest
  t = max(t, vec4u(1u));
  for (var j4 = 0u; j4 < u.n / 4u; j4++) {
    let dj = dead4(z, j4);
    var s: array<vec4f, 4>;
    for (var r = 0u; r < 4u; r++) {
      let v = ${p("b + r")};
      let a = select(vec4f(0.0), v, masked(v, dj) >= vec4u(t[r]));
      ${w.store("oa", { x: "j4", y: "b + r", layer: "z" }, "a")}
      s[r] = a + ${w.load("tc", { x: "j4", y: "b + r", layer: "z" })};
    }
    for (var c = 0u; c < 4u; c++) {
      ${w.store("ost", { x: "b4", y: "j4 * 4u + c", layer: "z" }, "vec4f(s[0][c], s[1][c], s[2][c], s[3][c])")}
    }
  }`,
  });
});

/**
 * Record the AuxK selection: aux codes `A`, `Sᵀ = (A + C)ᵀ` and each member's `σ`.
 *
 * @param gpu The context.
 * @param inputs Raw pre-activations `P [rows, n]`, the step's codes `C [rows, n]` and the last-fired
 *   steps `fired [members·n]` (this step's firings marked).
 * @param out `a` and `st` operands (mode of `p`), `sigma [members]`, sizes, `kAux`, the `step` and
 *   `windowSteps` (a latent is dead when `step − fired > windowSteps`).
 * @returns Nothing; the dispatch is recorded.
 * @throws {RangeError} When `kAux` is not a whole number ≥ 1.
 * @example
 * ```ts ignore
 * auxkSelect(gpu, { p, c, fired }, { a, st, sigma, rows, n, kAux: 16, members, step, windowSteps: 100 });
 * ```
 */
export function auxkSelect(
  gpu: Gpu,
  inputs: { p: MatrixOperand; c: MatrixOperand; fired: Binding },
  out: {
    a: MatrixOperand;
    st: MatrixOperand;
    sigma: Binding;
    rows: number;
    n: number;
    kAux: number;
    members: number;
    step: number;
    windowSteps: number;
  },
): void {
  const { p, c } = inputs, { a, st } = out;
  if (!Number.isInteger(out.kAux) || out.kAux < 1) {
    throw new RangeError(`Cannot run sae_auxk: k_aux ${out.kAux} is not a whole number ≥ 1`);
  }
  const u = new Uint32Array([out.rows, out.n, out.kAux, out.step, Math.max(0, Math.floor(out.windowSteps))]);
  dispatchMembers(gpu, AUXK(commonMode("sae_auxk", [p, c, a, st])), {
    bindings: [bindingOf(p), bindingOf(c), bindingOf(a), bindingOf(st), inputs.fired, out.sigma],
    uniforms: withOperandSizes(u, [p, c, a, st]),
    items: out.rows / 4,
    members: out.members,
  });
}

const SCALE = programsByMode((mode) => {
  const w = operandWgsl(mode);
  const at = { x: "e % u.c4", y: "e / u.c4", layer: "z" };
  return perMemberProgram({
    name: "sae_scale_rows",
    key: modeKey(mode),
    uniforms: `rows: u32, c4: u32${w.fields(["t", "o"])}`,
    bindings: [w.decl("t", "read"), w.decl("o", "write"), "var<storage, read> factor: array<f32>"],
    item: ["e", "u.rows * u.c4"],
    body: `${w.store("o", at, `factor[z] * ${w.load("t", at)}`)}`,
  });
});

/**
 * `out[z][r][c] = factor[z] · src[z][r][c]` for `r < rows`, `c < cols` (a multiple of 4).
 *
 * @param gpu The context.
 * @param src The operand read.
 * @param out `dst` (same mode, not `src`), `factor [members]`, sizes.
 * @returns Nothing; the dispatch is recorded.
 * @example
 * ```ts ignore
 * scaleRows(gpu, gAuxRaw, { dst: gAux, factor: sigma, rows, cols: d, members });
 * ```
 */
export function scaleRows(
  gpu: Gpu,
  src: MatrixOperand,
  out: { dst: MatrixOperand; factor: Binding; rows: number; cols: number; members: number },
): void {
  const { dst } = out;
  if (src === dst) throw new RangeError("Cannot run sae_scale_rows: dst must not be src (read and written at once)");
  dispatchMembers(gpu, SCALE(commonMode("sae_scale_rows", [src, dst])), {
    bindings: [bindingOf(src), bindingOf(dst), out.factor],
    uniforms: withOperandSizes(new Uint32Array([out.rows, out.cols / 4]), [src, dst]),
    items: out.rows * (out.cols / 4),
    members: out.members,
  });
}
