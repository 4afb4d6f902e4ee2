/**
 * The one run handle: which run folder a stage writes — for `harvest`/`train` a named one, the latest
 * unfinished one with the same settings, or a new one ({@linkcode openRun}); for the stages that work on a
 * finished part of a run (`baselines`, `score`, `patch`, `circuits`) a named one or the newest that has what
 * they need ({@linkcode findRun}). Stage records in `run.json` are written by `_runtime.ts` alone. Both
 * take the run's lock (`_lock.ts`) before anything is written, so that a second writer of a run is
 * refused; a run found as "the newest unfinished one" that another process is writing is passed over.
 *
 * @module
 */
import { hashJson } from "@saelab/activations";
import {
  createRun,
  listRuns,
  makeRunId,
  type ModelInfo,
  readRun,
  type RunJson,
  safeJoin,
  type StageDeps,
  updateRun,
  validateId,
} from "@saelab/runs";
import { acquireRunLock, RunLockedError } from "./_lock.ts";

/**
 * Keys of a stored configuration that do not decide what a run computes (`preset` only fills in other keys,
 * which are compared themselves; `probeRows` only chooses which held-out rows are watched during training;
 * `reharvest` only repairs the store; `queue` only says where the work runs).
 */
const FREE_KEYS = [
  "run",
  "queue",
  "steps",
  "trainSeconds",
  "skip",
  "checkpointSeconds",
  "logEvery",
  "preset",
  "probeRows",
  "reharvest",
];

/** What runs written before a key existed did, so that they still resume: no extra members, a constant rate. */
const LEGACY: Record<string, unknown> = { extra: [], lrSchedule: "constant", kindLr: {} };

/** Keys only training and later stages read: they may change until a run's training starts. */
const TRAIN_KEYS = ["kinds", "ratios", "l1", "batchSize", "lr", "kindLr", "lossWindows"];

function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !FREE_KEYS.includes(k)));
  const stored = (k: string) => (k in a ? a[k] : LEGACY[k]);
  return [...keys].filter((k) => hashJson(stored(k) ?? null) !== hashJson(b[k] ?? null));
}

/**
 * Why an existing run cannot continue with a configuration, or null when it can: the settings that
 * decide its results must match, except that training settings may change while it has not trained.
 */
function conflict(run: RunJson, config: Record<string, unknown>): string | null {
  const differ = differences(run.config, config);
  if (differ.length === 0) return null;
  if (run.stages.train === undefined && differ.every((k) => TRAIN_KEYS.includes(k))) return null;
  return `${differ.join(", ")} differ`;
}

/**
 * What to do about bad activation chunks of a run, for messages.
 *
 * @param runId The run.
 * @returns The advice.
 * @example
 * ```ts
 * import { reharvestHint } from "./_run.ts";
 * if (!reharvestHint("r1").includes("--run r1 --reharvest")) throw new Error();
 * ```
 */
export function reharvestHint(runId: string): string {
  return `rerun with --run ${runId} --reharvest to harvest only the bad chunks again`;
}

/** An open run. */
export interface RunHandle {
  /** The CLI's deps. */
  deps: StageDeps;
  /** Run id. */
  id: string;
  /** Absolute path of the run folder. */
  dir: string;
  /** Whether the run existed before this call. */
  resumed: boolean;
  /** `run.json` as it was when the run was opened. */
  json: RunJson;
  /** A path inside the run folder. */
  path(...names: string[]): string;
}

/**
 * Open the run to write: `requested` when given (created, or resumed when its settings match),
 * else the newest run with the same settings that `finished` says has work left, else a new one.
 * Settings that do not decide results (`steps`, `trainSeconds`, `skip`, …) may differ, and so may
 * the training settings of a run that has not trained yet; a resumed run records the new settings.
 *
 * @param deps The CLI's deps (runs folder, log).
 * @param options The requested id, the resolved configuration, the model, the hook, and whether a run
 *   has nothing left to do for this stage (default: its status is `done`).
 * The run's lock is taken first: a requested run that another process writes is refused; a matching
 * run that another process writes is passed over (a new run is started instead).
 *
 * @returns The run.
 * @throws {TypeError} When the requested run exists with other settings.
 * @throws {RunLockedError} When the requested run is being written by another process.
 * @example
 * ```ts ignore
 * const run = await openRun(deps, { config, model: source.info, hook });
 * ```
 */
export async function openRun(
  deps: StageDeps,
  options: {
    requested?: string;
    config: Record<string, unknown>;
    model: ModelInfo;
    hook: string;
    finished?: (run: RunJson) => boolean;
  },
): Promise<RunHandle> {
  const finished = options.finished ?? ((r: RunJson) => r.status === "done");
  let id: string | undefined;
  let resumed = false;
  if (options.requested !== undefined) {
    id = validateId(options.requested);
    const existing = await readRun(deps.runsDir, id);
    if (existing && existing.readable !== "pending") { // a folder without run.json is a run not yet created
      if (!existing.run) {
        throw new TypeError(`Cannot resume run ${id}: its run.json is unreadable (${existing.problems.join("; ")})`);
      }
      const why = conflict(existing.run, options.config);
      if (why !== null) {
        throw new TypeError(
          `Cannot resume run ${id}: it was started with other settings (${why}); choose another --run`,
        );
      }
      resumed = true;
    }
    await lock(deps, id);
  } else {
    const matches = (await listRuns(deps.runsDir)).filter((r) =>
      r.run && !r.run.synthetic && !finished(r.run) && conflict(r.run, options.config) === null
    );
    for (const match of matches) {
      try {
        await acquireRunLock(deps.runsDir, match.id, { log: deps.log });
      } catch (e) {
        if (!(e instanceof RunLockedError)) throw e;
        deps.log.info(`Not resuming run ${match.id}: ${e.message.replace(/^Cannot write run \S+: /, "")}`);
        continue;
      }
      id = match.id;
      resumed = true;
      break;
    }
    if (id === undefined) {
      id = makeRunId(new Date());
      await lock(deps, id);
    }
  }
  await createRun(deps.runsDir, { id, config: options.config, model: options.model, hook: options.hook });
  if (resumed) {
    await updateRun(deps.runsDir, id, (r) => ({ ...r, config: options.config }));
    deps.log.info(`Resuming run ${id}`);
  }
  return handle(deps, id, { resumed, json: (await readRun(deps.runsDir, id))!.run! });
}

/**
 * The stage records of a run's `run.json`.
 *
 * @param run The run.
 * @returns `run.json`, as it is on disk now.
 * @example
 * ```ts ignore
 * const { stages } = await readRunJson(run);
 * ```
 */
export async function readRunJson(run: RunHandle): Promise<RunJson> {
  const summary = await readRun(run.deps.runsDir, run.id);
  if (!summary?.run) throw new Error(`Cannot read run.json of run ${run.id}`);
  return summary.run;
}

/** Take the lock of run `id` (its folder is created when missing). */
async function lock(deps: StageDeps, id: string): Promise<void> {
  await Deno.mkdir(safeJoin(deps.runsDir, [id]), { recursive: true });
  await acquireRunLock(deps.runsDir, id, { log: deps.log });
}

function handle(deps: StageDeps, id: string, o: { resumed: boolean; json: RunJson }): RunHandle {
  const runsDir = deps.runsDir;
  return { deps, id, dir: safeJoin(runsDir, [id]), ...o, path: (...names) => safeJoin(runsDir, [id, ...names]) };
}

/**
 * The run a queue job works on (`_queue.ts`), without its lock: the coordinator that enqueued the job
 * holds the lock for the whole run, and each job locks only the part of the run it writes.
 *
 * @param deps The worker's deps (its runs folder is the one named in the job).
 * @param id The run id.
 * @returns The run.
 * @throws {TypeError} When the run does not exist or has no readable run.json.
 * @example
 * ```ts ignore
 * const run = await jobRun({ ...deps, runsDir: job.data.runsDir }, job.data.runId);
 * ```
 */
export async function jobRun(deps: StageDeps, id: string): Promise<RunHandle> {
  const summary = await readRun(deps.runsDir, validateId(id));
  if (!summary?.run) throw new TypeError(`Cannot run a job of run ${id}: ${deps.runsDir} has no readable run ${id}`);
  return handle(deps, id, { resumed: true, json: summary.run });
}

/**
 * The run named by `requested`, else the newest real run for which `has` holds.
 *
 * @param deps The CLI's deps.
 * @param options The requested id, the stage name (for messages), what a run must have to be the
 *   default (`has`) and how to say it (`what`, e.g. "activations"); `lock: false` for a stage that only
 *   reads the run (default true).
 * @returns The run (its lock taken unless `lock` is false).
 * @throws {TypeError} When the run does not exist or no run qualifies.
 * @throws {RunLockedError} When another process is writing it.
 * @example
 * ```ts ignore
 * const run = await findRun(deps, { stage: "score", what: "activations", has: hasStore });
 * ```
 */
export async function findRun(
  deps: StageDeps,
  options: {
    requested?: string;
    stage: string;
    what: string;
    has: (runsDir: string, id: string) => Promise<boolean>;
    lock?: boolean;
  },
): Promise<RunHandle> {
  let id: string | undefined;
  if (options.requested !== undefined) id = validateId(options.requested);
  else {
    for (const r of await listRuns(deps.runsDir)) {
      if (r.run && !r.run.synthetic && (await options.has(deps.runsDir, r.id))) {
        id = r.id;
        break;
      }
    }
    if (!id) {
      throw new TypeError(
        `Cannot run ${options.stage}: no run in ${deps.runsDir} has ${options.what}; run \`deno task train\` first`,
      );
    }
  }
  const summary = await readRun(deps.runsDir, id);
  if (!summary?.run) {
    throw new TypeError(
      `Cannot run ${options.stage}: run ${id} does not exist in ${deps.runsDir} or has no readable run.json`,
    );
  }
  if (options.lock !== false) await acquireRunLock(deps.runsDir, id, { log: deps.log });
  return handle(deps, id, { resumed: true, json: summary.run });
}
