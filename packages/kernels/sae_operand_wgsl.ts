/**
 * WGSL of the SAE kernels' matrix operands (`sae_operands.ts`): each kernel's
 * code is built once per mode by {@linkcode operandWgsl}, whose loads and
 * stores are `textureLoad`/`textureStore` or array indexing. A storage
 * operand's rows and vec4s per row travel as uniform fields `<name>_r` and
 * `<name>_c4`, appended after the kernel's own fields.
 *
 * @module
 */
import { type KernelMode, type MatrixOperand, modeOf } from "./sae_operands.ts";

/** WGSL of matrix operands in one mode. */
export interface OperandWgsl {
  /** The mode. */
  readonly mode: KernelMode;
  /** A binding declaration (without attributes) of operand `name`, read or written. */
  decl(name: string, access: "read" | "write"): string;
  /** The vec4f at texel `(x, y)` of `layer`. */
  load(name: string, at: { x: string; y: string; layer: string }): string;
  /** A statement storing `value` at texel `(x, y)` of `layer`. */
  store(name: string, at: { x: string; y: string; layer: string }, value: string): string;
  /** Uniform fields for the operands' sizes (storage: `, <name>_r: u32, <name>_c4: u32` each; texture: none). */
  fields(names: readonly string[]): string;
}

const textureStore: OperandWgsl["store"] = (name, at, value) =>
  `textureStore(${name}, vec2u(${at.x}, ${at.y}), ${at.layer}, ${value});`;

/** Textures read as read-only storage textures (WGSL `readonly_and_readwrite_storage_textures`). */
const TEXTURE_WGSL: OperandWgsl = {
  mode: "texture",
  decl: (name, access) => `var ${name}: texture_storage_2d_array<rgba32float, ${access}>`,
  load: (name, at) => `textureLoad(${name}, vec2u(${at.x}, ${at.y}), ${at.layer})`,
  store: textureStore,
  fields: () => "",
};

/** Textures read as sampled textures (mip level 0). */
const SAMPLED_WGSL: OperandWgsl = {
  mode: "sampled",
  decl: (name, access) =>
    access === "read"
      ? `var ${name}: texture_2d_array<f32>`
      : `var ${name}: texture_storage_2d_array<rgba32float, write>`,
  load: (name, at) => `textureLoad(${name}, vec2u(${at.x}, ${at.y}), ${at.layer}, 0)`,
  store: textureStore,
  fields: () => "",
};

const index = (name: string, at: { x: string; y: string; layer: string }) =>
  `${name}[((${at.layer}) * u.${name}_r + (${at.y})) * u.${name}_c4 + (${at.x})]`;

const STORAGE_WGSL: OperandWgsl = {
  mode: "storage",
  decl: (name, access) => `var<storage, ${access === "read" ? "read" : "read_write"}> ${name}: array<vec4f>`,
  load: index,
  store: (name, at, value) => `${index(name, at)} = ${value};`,
  fields: (names) => names.map((n) => `, ${n}_r: u32, ${n}_c4: u32`).join(""),
};

/**
 * The WGSL builders of one operand mode.
 *
 * @param mode `"texture"`, `"sampled"` or `"storage"`.
 * @returns Declarations, loads, stores and size fields.
 * @example
 * ```ts
 * import { operandWgsl } from "./sae_operand_wgsl.ts";
 * console.log(operandWgsl("storage").load("tc", { x: "j4", y: "b", layer: "z" }));
 * // tc[((z) * u.tc_r + (b)) * u.tc_c4 + (j4)]
 * ```
 */
export function operandWgsl(mode: KernelMode): OperandWgsl {
  return mode === "storage" ? STORAGE_WGSL : mode === "sampled" ? SAMPLED_WGSL : TEXTURE_WGSL;
}

/**
 * Uniform bytes with the sizes of storage operands appended (texture mode: `base` unchanged).
 *
 * @param base The kernel's own uniform fields (4 bytes each).
 * @param operands The operands named in {@linkcode OperandWgsl.fields}, in that order.
 * @returns The bytes to dispatch with.
 * @example
 * ```ts ignore
 * const uniforms = withOperandSizes(new Uint32Array([rows, n]), [c, g]);
 * ```
 */
export function withOperandSizes(
  base: ArrayBuffer | Uint32Array,
  operands: readonly MatrixOperand[],
): ArrayBuffer | Uint32Array {
  if (operands.length === 0 || modeOf(operands[0]) !== "storage") return base;
  const head = base instanceof ArrayBuffer
    ? new Uint8Array(base)
    : new Uint8Array(base.buffer, base.byteOffset, base.byteLength);
  const out = new ArrayBuffer(head.byteLength + operands.length * 8);
  new Uint8Array(out).set(head);
  const w = new Uint32Array(out, head.byteLength);
  operands.forEach((t, i) => w.set([t.rows, t.cols / 4], 2 * i));
  return out;
}

/**
 * A program cache keyed by operand mode (and any other compile-time fact).
 *
 * @param build Builds the program of a mode and key.
 * @returns A getter that builds each (mode, key) once.
 * @example
 * ```ts ignore
 * const STATS = programsByMode((mode) => perMemberProgram({ ... }));
 * dispatchMembers(gpu, STATS(modeOf(c)), { ... });
 * ```
 */
export function programsByMode<P>(
  build: (mode: KernelMode, key: string) => P,
): (mode: KernelMode, key?: string) => P {
  const cache = new Map<string, P>();
  return (mode, key = "") => {
    const k = `${mode}/${key}`;
    let p = cache.get(k);
    if (!p) cache.set(k, p = build(mode, key));
    return p;
  };
}

/**
 * The program key of a mode: texture programs keep `key`, sampled and storage ones add `/sampled`
 * or `/storage`.
 *
 * @param mode The kernel mode.
 * @param key The key of the texture program. Default `"v1"`.
 * @returns The key.
 * @example
 * ```ts
 * import { modeKey } from "./sae_operand_wgsl.ts";
 * console.log(modeKey("texture", "tm8"), modeKey("sampled", "tm8"), modeKey("storage", "tm8"));
 * // tm8 tm8/sampled tm8/storage
 * ```
 */
export function modeKey(mode: KernelMode, key = "v1"): string {
  return mode === "texture" ? key : `${key}/${mode}`;
}

/**
 * WGSL that stores the 4×4 block whose rows are the vec4s `rows` transposed: its column `c`
 * goes to texel `(x, y + c)` of layer `layer` of `tex`.
 *
 * @param w The operand mode's builders.
 * @param tex The operand written.
 * @param spec Where the block goes (`x`, `y`, `layer`) and the names of its four row vectors.
 * @returns Four store statements.
 * @example
 * ```ts ignore
 * storeTransposed(w, "xt", { x: "b4", y: "i4 * 4u", layer: "0", rows: ["r0", "r1", "r2", "r3"] });
 * ```
 */
export function storeTransposed(
  w: OperandWgsl,
  tex: string,
  spec: { x: string; y: string; layer: string; rows: readonly string[] },
): string {
  return [..."xyzw"].map((c, k) =>
    w.store(
      tex,
      { x: spec.x, y: `${spec.y}${k ? ` + ${k}u` : ""}`, layer: spec.layer },
      `vec4f(${spec.rows.map((r) => `${r}.${c}`).join(", ")})`,
    )
  ).join("\n  ");
}

/**
 * WGSL that writes the selected codes of one 4×4 block, as every selection kernel does: for the four rows
 * `b + r` it loads the vec4 `p` of raw pre-activations at `(j4, b + r)` of `tp`, keeps `value` (a vec4f
 * expression of `p` and `r`) in `v[r]` and stores it in `oc`; then it stores the block's columns in `oct`
 * at `(b4, j4·4 + c)` and marks `fired[z·n + j4·4 + c] = u.step` for each column with a positive code.
 * It expects `j4`, `b`, `b4` and `z` in scope and uniforms `n` and `step`.
 *
 * @param w The operand mode's builders.
 * @param value The code kept from `p`, e.g. `select(vec4f(0.0), p, p > theta)`.
 * @param perRow Statements run for each row after its store (reading `v[r]`). Default none.
 * @returns The statements.
 * @example
 * ```ts ignore
 * writeSelectedCodes(operandWgsl("texture"), "select(vec4f(0.0), p, p > theta)");
 * ```
 */
export function writeSelectedCodes(w: OperandWgsl, value: string, perRow = ""): string {
  return `var v: array<vec4f, 4>;
  for (var r = 0u; r < 4u; r++) {
    let p = ${w.load("tp", { x: "j4", y: "b + r", layer: "z" })};
    v[r] = ${value};
    ${w.store("oc", { x: "j4", y: "b + r", layer: "z" }, "v[r]")}
    ${perRow}
  }
  for (var c = 0u; c < 4u; c++) {
    let col = vec4f(v[0][c], v[1][c], v[2][c], v[3][c]);
    ${w.store("oct", { x: "b4", y: "j4 * 4u + c", layer: "z" }, "col")}
    if (any(col > vec4f(0.0))) { fired[z * u.n + j4 * 4u + c] = u.step; }
  }`;
}
