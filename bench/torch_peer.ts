/**
 * The PyTorch-CPU peer of the benchmarks and the figures they print: runs
 * `bench/torch_peer.py` on the cases a benchmark measured (installing Debian's
 * `python3-torch` with OpenBLAS first when `import torch` fails), in a process
 * of its own with 2 threads and with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` removed
 * from its environment (only the peer's: ours keeps them), and turns both
 * sides' seconds per step into rates and their ratio.
 *
 * Environment: `SAELAB_TORCH_PYTHON` names the interpreter (default: the first
 * of `python3` and `/usr/bin/python3` that imports torch);
 * `SAELAB_TORCH_INSTALL=0` never installs. When the peer cannot run, its report
 * says why and every ratio is `null`: no figure is ever quoted in its place.
 *
 * @module
 */

/** One case in the peer's request (see `torch_peer.py` for the fields of each kind). */
export type PeerCase = { kind: "sae" | "neox_forward" | "neox_train" | "matmul" } & Record<string, unknown>;

/** Seconds per step of every measured round, and their median. */
export interface Timing {
  /** Seconds per step, one entry per round. */
  seconds: number[];
  /** Median of `seconds`. */
  median: number;
}

/** What the peer measured, or why it could not. */
export type PeerReport =
  | {
    available: true;
    name: string;
    python: string;
    torch: string;
    threads: number;
    blas: string[];
    results: (Timing & Record<string, unknown>)[];
  }
  | { available: false; name: string; error: string };

/** The variables removed from the peer's environment. */
export const PEER_UNSET = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] as const;

const SCRIPT = new URL("./torch_peer.py", import.meta.url).pathname;
/** The peer's name in every report. */
export const PEER_NAME = "PyTorch on the CPU";

/**
 * The median of some numbers.
 *
 * @param xs Numbers (at least one).
 * @returns The middle value (the upper of the two middles for an even count).
 * @example
 * ```ts
 * import { median } from "./torch_peer.ts";
 * if (median([3, 1, 2]) !== 2) throw new Error("median");
 * ```
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * A timing from the seconds per step of each round.
 *
 * @param seconds Seconds per step, one per round.
 * @returns The rounds and their median.
 * @example
 * ```ts
 * import { timing } from "./torch_peer.ts";
 * if (timing([0.2, 0.1, 0.3]).median !== 0.2) throw new Error("timing");
 * ```
 */
export function timing(seconds: number[]): Timing {
  return { seconds: seconds.map((s) => +s.toPrecision(4)), median: +median(seconds).toPrecision(4) };
}

/** The 1-, 5- and 15-minute load averages (`/proc/loadavg`), or `null` where they cannot be read. */
export function loadAverage(): number[] | null {
  try {
    return Deno.loadavg().map((v) => +v.toFixed(2));
  } catch {
    return null;
  }
}

/** One printed case: both rates (work per second at the median) and ours ÷ PyTorch's. */
export interface Comparison {
  /** What was measured. */
  name: string;
  /** Unit of `ours` and `pytorch`. */
  unit: string;
  /** Our rate. */
  ours: number;
  /** PyTorch's rate, or `null` when the peer did not run. */
  pytorch: number | null;
  /** `ours / pytorch`, or `null`. */
  ratio: number | null;
  /**
   * The fastest rounds' ratio, PyTorch's fewest seconds per step ÷ ours, or `null`: where the machine's load moves
   * between rounds (and a median of few rounds lands on either side of it), the rounds each side ran least disturbed.
   */
  ratioFastest: number | null;
  /** Both sides' rounds. */
  seconds: { ours: Timing; pytorch: Timing | null };
}

/**
 * Compare our timing of a case with the peer's.
 *
 * @param name The case.
 * @param options `unit`, `work` (units per step: vectors or tokens), `ours`, `pytorch` (absent: the peer did not run).
 * @returns Both rates, their ratio and the ratio of the fastest rounds.
 * @example
 * ```ts
 * import { compare, timing } from "./torch_peer.ts";
 * const c = compare("x", { unit: "tokens/s", work: 10, ours: timing([0.5, 0.4, 0.6]), pytorch: timing([1, 0.6, 2]) });
 * if (c.ratio !== 2 || c.ratioFastest !== 1.5) throw new Error("ratio");
 * ```
 */
export function compare(
  name: string,
  options: { unit: string; work: number; ours: Timing; pytorch?: Timing | null },
): Comparison {
  const { unit, work, ours } = options;
  const peer = options.pytorch ?? null;
  const rate = (t: Timing) => Math.round(work / t.median);
  return {
    name,
    unit,
    ours: rate(ours),
    pytorch: peer ? rate(peer) : null,
    ratio: peer ? +(peer.median / ours.median).toFixed(2) : null,
    ratioFastest: peer ? +(Math.min(...peer.seconds) / Math.min(...ours.seconds)).toFixed(2) : null,
    seconds: { ours, pytorch: peer },
  };
}

async function output(cmd: string, args: string[], env?: Record<string, string>) {
  try {
    const out = await new Deno.Command(cmd, { args, env, clearEnv: env !== undefined, stdin: "null" }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, stdout: text(out.stdout), stderr: text(out.stderr) };
  } catch (e) {
    return { ok: false, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The peer's environment: ours without the OpenBLAS variables that tune OpenBLAS for this project's process,
 * and OpenBLAS's own thread count set to the peer's.
 */
function peerEnv(threads = 2): Record<string, string> {
  const env = Deno.env.toObject();
  for (const k of PEER_UNSET) delete env[k];
  env.OPENBLAS_NUM_THREADS = String(threads);
  return env;
}

/** Options of {@linkcode runTorchPeer}. */
export interface PeerOptions {
  /** `torch.set_num_threads` of the peer. Default 2. */
  threads?: number;
  /** The interpreter. Default `SAELAB_TORCH_PYTHON`, else the first of `python3` and `/usr/bin/python3` with torch. */
  python?: string;
  /** Install `python3-torch` when no interpreter imports torch. Default true unless `SAELAB_TORCH_INSTALL=0`. */
  install?: boolean;
}

/**
 * An interpreter that imports torch: `SAELAB_TORCH_PYTHON` when set, else `python3` on the PATH or Debian's
 * `/usr/bin/python3` (where `python3-torch` installs), installing the package when neither imports it.
 */
async function findPython(options: PeerOptions): Promise<{ python: string } | { error: string }> {
  const imports = async (python: string) => (await output(python, ["-c", "import torch"], peerEnv()));
  const chosen = options.python ?? Deno.env.get("SAELAB_TORCH_PYTHON");
  const candidates = chosen ? [chosen] : ["python3", "/usr/bin/python3"];
  let last = "";
  for (const python of candidates) {
    const p = await imports(python);
    if (p.ok) return { python };
    last = p.stderr.trim().split("\n").at(-1) ?? "";
  }
  if (chosen || !(options.install ?? Deno.env.get("SAELAB_TORCH_INSTALL") !== "0")) {
    return { error: `${candidates.join(" and ")} cannot import torch (${last}); installing is off` };
  }
  console.error("installing PyTorch for the peer (apt-get install -y python3-torch libopenblas0-pthread)…");
  const root = Deno.uid() === 0;
  const install = await output(root ? "apt-get" : "sudo", [
    ...(root ? [] : ["-n", "apt-get"]),
    "install",
    "-y",
    "python3-torch",
    "libopenblas0-pthread", // Debian's default BLAS is the reference one, far slower than what a user runs
  ]);
  const p = await imports("/usr/bin/python3");
  if (p.ok) return { python: "/usr/bin/python3" };
  const why = (install.ok ? p.stderr : install.stderr).trim().split("\n").at(-1);
  return { error: `python3-torch could not be installed or imported by /usr/bin/python3 (${why})` };
}

/**
 * Run the PyTorch peer on some cases.
 *
 * @param cases The cases, as `torch_peer.py` reads them.
 * @param options `threads`, `python`, `install` (defaults from the environment, see the module's notes).
 * @returns The peer's timings in case order, or why it did not run.
 * @example
 * ```ts ignore
 * const peer = await runTorchPeer([{ kind: "sae", dIn: 128, ratio: 4, batch: 1024, l1: 1e-3, fire: null,
 *   rounds: 3, steps: 5 }]);
 * ```
 */
export async function runTorchPeer(cases: PeerCase[], options: PeerOptions = {}): Promise<PeerReport> {
  const found = await findPython(options);
  if ("error" in found) return { available: false, name: PEER_NAME, error: found.error };
  const { python } = found;
  const request = JSON.stringify({ threads: options.threads ?? 2, seed: 1, cases });
  const run = await output(python, [SCRIPT, request], peerEnv(options.threads ?? 2));
  if (!run.ok) {
    return { available: false, name: PEER_NAME, error: `${SCRIPT} failed: ${run.stderr.trim().split("\n").at(-1)}` };
  }
  try {
    const report = JSON.parse(run.stdout);
    return {
      available: true,
      name: PEER_NAME,
      python,
      torch: report.torch,
      threads: report.threads,
      blas: report.blas ?? [],
      results: report.results,
    };
  } catch {
    return { available: false, name: PEER_NAME, error: `${SCRIPT} printed no JSON: ${run.stdout.slice(0, 200)}` };
  }
}

/**
 * The peer's timing of case `i`, or `null` when the peer did not run.
 *
 * @param report The peer's report.
 * @param i The case's index in the request.
 * @returns Its timing.
 */
export function peerTiming(report: PeerReport, i: number): (Timing & Record<string, unknown>) | null {
  return report.available ? report.results[i] ?? null : null;
}

/**
 * The part of a benchmark's JSON that says who the peer was and how it ran.
 *
 * @param report The peer's report.
 * @returns Its name, version and threads, or its error.
 */
export function peerSummary(report: PeerReport): Record<string, unknown> {
  return report.available
    ? {
      name: report.name,
      python: report.python,
      torch: report.torch,
      threads: report.threads,
      blas: report.blas,
      unset: [...PEER_UNSET],
    }
    : { name: report.name, error: report.error };
}
