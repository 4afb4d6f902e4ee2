/**
 * k-lists for the sparse operands of the training matmuls. For an operand
 * `At [K, M]` (k-major texture or storage buffer, one layer per member) and tiles of `tm`
 * consecutive m, the list of a tile holds, in increasing order, every k at
 * which some of the tile's `tm` values is non-zero. The matmuls then loop over
 * that list instead of all K — on llvmpipe only a loop's trip count skips
 * work; a branch would run masked.
 *
 * One invocation per (tile, member) scans all K rows and appends in order, so
 * the lists (and the sums that use them) are deterministic. No workgroup memory.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { type DispatchGate, dispatchMembers, perMemberProgram } from "./_wgsl.ts";
import { bindingOf, type KernelMode, type MatrixOperand, modeOf } from "./sae_operands.ts";
import { modeKey, operandWgsl, programsByMode, withOperandSizes } from "./sae_operand_wgsl.ts";

/** The k-lists of one operand, bound by `tileMatmul`'s `list`. */
export interface KList {
  /** `[Z][tiles][stride]` k indices. */
  indices: Tensor<"u32">;
  /** `[Z][tiles]` list lengths. */
  counts: Tensor<"u32">;
  /** Entries reserved per tile (the largest K). */
  stride: number;
  /** Tiles per member (the largest M ÷ tm, rounded up). */
  tiles: number;
  /** Rows per tile. */
  tm: number;
}

/**
 * Allocate lists for up to `k` × `m` operands.
 *
 * @param gpu The context.
 * @param sizes Largest `k` and `m`, members, and the tile rows `tm` of the matmul that will use them.
 * @param label Label prefix.
 * @returns Zeroed lists.
 * @example
 * ```ts ignore
 * const list = allocKList(gpu, { k: n, m: batch, members, tm: 16 }, "sae.klist_rows");
 * ```
 */
export function allocKList(
  gpu: Gpu,
  sizes: { k: number; m: number; members: number; tm: number },
  label: string,
): KList {
  const tiles = Math.ceil(sizes.m / sizes.tm);
  return {
    indices: gpu.zeros([sizes.members * tiles * sizes.k], "u32", `${label}.indices`),
    counts: gpu.zeros([sizes.members * tiles], "u32", `${label}.counts`),
    stride: sizes.k,
    tiles,
    tm: sizes.tm,
  };
}

const PROGRAMS = programsByMode((mode, tm) => program(Number(tm), mode));

function program(tm: number, mode: KernelMode): Program {
  const w = operandWgsl(mode);
  const loads = Array.from(
    { length: tm / 4 },
    (_, q) => `(m4 + ${q}u < u.m / 4u && any(${w.load("at", { x: `m4 + ${q}u`, y: "k", layer: "z" })} != vec4f(0.0)))`,
  );
  return perMemberProgram({
    name: "sae_k_list",
    key: modeKey(mode, `tm${tm}`),
    uniforms: `k: u32, m: u32, tiles: u32, stride: u32${w.fields(["at"])}`,
    bindings: [
      w.decl("at", "read"),
      "var<storage, read_write> list: array<u32>",
      "var<storage, read_write> count: array<u32>",
    ],
    item: ["tile", "u.tiles"],
    body: `let m4 = tile * ${tm / 4}u;
  let base = (z * u.tiles + tile) * u.stride;
  var c = 0u;
  for (var k = 0u; k < u.k; k++) {
    if (${loads.join(" || ")}) {
      list[base + c] = k;
      c++;
    }
  }
  count[z * u.tiles + tile] = c;`,
  });
}

/**
 * Record the list build for operand `at` (`k` rows of `m` values used, every member).
 *
 * @param gpu The context.
 * @param at The operand (texture or storage buffer).
 * @param out Lists from {@linkcode allocKList}, and the sizes in use.
 * @returns Nothing; the dispatches are recorded.
 * @example
 * ```ts ignore
 * buildKList(gpu, ct, { list, k: n, m: rows, members });
 * ```
 */
export function buildKList(
  gpu: Gpu,
  at: MatrixOperand,
  out: { list: KList; k: number; m: number; members: number; gate?: DispatchGate },
) {
  const { list, k, m } = out;
  const tiles = Math.ceil(m / list.tm);
  if (k > list.stride || tiles > list.tiles) {
    throw new RangeError(
      `Cannot build k-lists for ${k} × ${m}: they were sized for ${list.stride} × ${list.tiles * list.tm}`,
    );
  }
  dispatchMembers(gpu, PROGRAMS(modeOf(at), String(list.tm)), {
    bindings: [bindingOf(at), list.indices, list.counts],
    uniforms: withOperandSizes(new Uint32Array([k, m, list.tiles, list.stride]), [at]),
    items: tiles,
    members: out.members,
    gate: out.gate,
  });
}
