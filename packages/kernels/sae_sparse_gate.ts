/**
 * The gates of the sparse path (`sae_sparse_codes.ts`): which dispatches of a step run, decided on the GPU
 * from the totals of non-zero codes, through indirect dispatch.
 *
 * @module
 */
import type { Gpu, Program } from "@saelab/gpu";
import type { DispatchGate } from "./_wgsl.ts";
import type { SparseCodes } from "./sae_sparse_codes.ts";

/** Indirect-argument slots of one `SparseCodes`: the most gated dispatches between two list builds. */
export const GATE_SLOTS = 64;
const SLOTS = GATE_SLOTS;

/** A gated dispatch as its arm sees it: workgroups, path (0 dense, 1 sparse, 2 sparse per entry), entries. */
export type GateEntry = readonly [x: number, y: number, z: number, mode: number, per: number];

/**
 * The gates of the step being recorded, in order (slot k for the k-th), and per batch size the sequence
 * of the last step with it: a step that repeats it arms every slot in one dispatch after the scan.
 */
export interface GateLog {
  rows: number;
  recording: GateEntry[];
  planned: readonly GateEntry[] | null;
  changed: boolean;
  plans: Map<number, readonly GateEntry[]>;
}

/**
 * An empty gate log.
 *
 * @returns A log with no plans.
 * @example
 * ```ts
 * import { newGateLog } from "./sae_sparse_gate.ts";
 * console.log(newGateLog().plans.size); // 0
 * ```
 */
export function newGateLog(): GateLog {
  return { rows: 0, recording: [], planned: null, changed: false, plans: new Map() };
}

/**
 * Start the gates of a new list build at `rows`: keep the last step's sequence as the plan of its batch size
 * (when new or changed), and take up the plan of this one.
 *
 * @param log The log.
 * @param rows The batch size of the build.
 * @returns Nothing.
 * @example
 * ```ts
 * import { beginGates, newGateLog } from "./sae_sparse_gate.ts";
 * const log = newGateLog();
 * beginGates(log, 64);
 * console.log(log.planned); // null
 * ```
 */
export function beginGates(log: GateLog, rows: number): void {
  if (log.recording.length > 0 && (log.changed || !log.plans.has(log.rows))) log.plans.set(log.rows, log.recording);
  log.rows = rows;
  log.recording = [];
  log.planned = log.plans.get(rows) ?? null;
  log.changed = false;
}

/**
 * After the scan: a step that repeats the last one's gates at its batch size gets every slot armed at once.
 *
 * @param gpu The context.
 * @param codes The lists.
 * @returns Nothing; at most one dispatch is recorded.
 * @example
 * ```ts ignore
 * armPlanned(gpu, codes);
 * ```
 */
export function armPlanned(gpu: Gpu, codes: SparseCodes): void {
  const planned = codes.gates.planned;
  if (planned) arm(gpu, codes, { first: 0, entries: planned });
}

const ARM: Program = {
  name: "sae_sparse_arm",
  key: `s${SLOTS}`,
  code: () =>
    `struct U { count: u32, members: u32, limit: u32, first: u32, e: array<vec4u, ${2 * SLOTS}> }
@group(0) @binding(0) var<storage, read> totals: array<u32>;
@group(0) @binding(1) var<storage, read_write> args: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() {
  var sparse = 1u;
  var most = 0u;
  for (var z = 0u; z < u.members; z++) {
    let t = totals[z];
    if (t > u.limit) { sparse = 0u; }
    most = max(most, t);
  }
  for (var k = 0u; k < u.count; k++) {
    let g = u.e[2u * k];
    let per = u.e[2u * k + 1u].x;
    var a = g.xyz;
    if ((g.w == 0u) == (sparse == 1u)) { a = vec3u(0u); }
    else if (g.w == 2u) {
      let need = (most + per - 1u) / per;
      a = vec3u(min(need, 65535u), (need + 65534u) / 65535u, g.z);
    }
    let slot = u.first + k;
    args[4u * slot] = a.x;
    args[4u * slot + 1u] = a.y;
    args[4u * slot + 2u] = a.z;
    args[4u * slot + 3u] = sparse;
  }
}`,
};

/**
 * A gate for dispatches of one path: `"dense"` ones run only when some member has more than
 * `codes.limit` non-zero codes, `"sparse"` ones only when none has. With `perEntry`, a sparse
 * dispatch runs `ceil(most / perEntry)` workgroups (most: the largest member's total), spread over
 * x and y as `[min(k, 65535), ceil(k / 65535), z]`, instead of its own x and y.
 *
 * @param gpu The context.
 * @param codes Lists whose totals decide (after {@linkcode buildSparseCodes}).
 * @param path The path the gated dispatches belong to.
 * @param perEntry Sparse only: entries one workgroup takes.
 * @returns The gate; each call records one `sae_sparse_arm`.
 * @example
 * ```ts ignore
 * tileMatmul(gpu, "store", { ...args, gate: sparseGate(gpu, codes, "dense") });
 * ```
 */
export function sparseGate(
  gpu: Gpu,
  codes: SparseCodes,
  path: "dense" | "sparse",
  perEntry?: number,
): DispatchGate {
  return (workgroups) => {
    const log = codes.gates;
    const slot = log.recording.length;
    if (slot >= SLOTS) {
      throw new RangeError(`Cannot gate a dispatch: more than ${SLOTS} gated dispatches since the lists were built`);
    }
    const [x, y = 1, z = 1] = workgroups;
    const entry: GateEntry = [x, y, z, path === "dense" ? 0 : perEntry ? 2 : 1, perEntry ?? 1];
    log.recording.push(entry);
    const armed = log.planned?.[slot];
    if (!armed || armed.some((v, i) => v !== entry[i])) {
      log.changed = true;
      arm(gpu, codes, { first: slot, entries: [entry] });
    }
    return { buffer: codes.args, offset: slot * 16 };
  };
}

/** Record one `sae_sparse_arm` that writes the slots from `first` on for `entries`. */
function arm(gpu: Gpu, codes: SparseCodes, at: { first: number; entries: readonly GateEntry[] }): void {
  const u = new Uint32Array(4 + 8 * SLOTS);
  u.set([at.entries.length, codes.members, codes.limit, at.first]);
  at.entries.forEach(([x, y, z, mode, per], k) => u.set([x, y, z, mode, per], 4 + 8 * k));
  gpu.dispatch(ARM, { bindings: [codes.totals, codes.args], uniforms: u, workgroups: [1] });
}
