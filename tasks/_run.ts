/**
 * A run as the pipeline stages see it: which run folder to write (a named one, the latest
 * unfinished one with the same settings, or a new one), and the bookkeeping of each stage in
 * `run.json` — status, start and end times, wall time summed over resumptions, and the run's
 * status when a stage fails or is interrupted.
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
  setRunStatus,
  setStage,
  type StageDeps,
  type StageRecord,
  updateRun,
  validateId,
} from "@saelab/runs";

/** Keys of a stored configuration that do not decide what a run computes. */
const FREE_KEYS = ["run", "steps", "trainSeconds", "skip", "checkpointSeconds", "logEvery"];

/** Keys only training and later stages read: they may change until a run's training starts. */
const TRAIN_KEYS = ["kinds", "ratios", "l1", "batchSize", "lr", "lossWindows"];

function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !FREE_KEYS.includes(k)));
  return [...keys].filter((k) => hashJson(a[k] ?? null) !== hashJson(b[k] ?? null));
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
 * @returns The run.
 * @throws {TypeError} When the requested run exists with other settings.
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
    if (existing) {
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
  } else {
    const match = (await listRuns(deps.runsDir)).find((r) =>
      r.run && !r.run.synthetic && !finished(r.run) && conflict(r.run, options.config) === null
    );
    if (match) {
      id = match.id;
      resumed = true;
    } else id = makeRunId(new Date());
  }
  await createRun(deps.runsDir, { id, config: options.config, model: options.model, hook: options.hook });
  if (resumed) {
    await updateRun(deps.runsDir, id, (r) => ({ ...r, config: options.config }));
    deps.log.info(`Resuming run ${id}`);
  }
  const runsDir = deps.runsDir;
  return { deps, id, dir: safeJoin(runsDir, [id]), resumed, path: (...names) => safeJoin(runsDir, [id, ...names]) };
}

/** What a stage body may report while it works. */
export interface StageReporter {
  /** Record progress in `run.json` (written at most every few seconds, and with the stage's final status). */
  update(record: Pick<StageRecord, "done" | "total" | "unit">): void;
}

/**
 * Run one stage of a run with its bookkeeping: `running` with a start time, then `done` with the
 * wall time added to `timings`; on Ctrl-C `interrupted` (stage and run), on an error `failed` with
 * the message (stage and run), and the error is rethrown.
 *
 * @param run The run.
 * @param name Stage name (`harvest`, `train`, …).
 * @param body The work.
 * @returns What the body returns.
 * @example
 * ```ts ignore
 * const store = await runStage(run, "harvest", async (stage) => { ... });
 * ```
 */
export async function runStage<T>(
  run: RunHandle,
  name: string,
  body: (stage: StageReporter) => Promise<T>,
): Promise<T> {
  const { runsDir } = run.deps;
  const started = performance.now();
  await setStage(runsDir, run.id, { stage: name, record: { status: "running", started: new Date().toISOString() } });
  let lastWrite = performance.now();
  let pending: Promise<unknown> = Promise.resolve();
  let latest: Partial<StageRecord> = {};
  const reporter: StageReporter = {
    update(record) {
      latest = record;
      if (performance.now() - lastWrite < 5000) return;
      lastWrite = performance.now();
      pending = pending.then(() => setStage(runsDir, run.id, { stage: name, record })).catch(() => {});
    },
  };
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const result = await body(reporter);
    await pending;
    await setStage(runsDir, run.id, {
      stage: name,
      record: { ...latest, status: "done", finished: new Date().toISOString(), error: undefined },
      seconds: seconds(),
    });
    return result;
  } catch (e) {
    await pending;
    const interrupted = run.deps.signal.aborted;
    const message = e instanceof Error ? e.message : String(e);
    await setStage(runsDir, run.id, {
      stage: name,
      record: {
        ...latest,
        status: interrupted ? "interrupted" : "failed",
        finished: new Date().toISOString(),
        ...(interrupted ? {} : { error: message }),
      },
      seconds: seconds(),
    });
    await setRunStatus(
      runsDir,
      run.id,
      interrupted ? { status: "interrupted" } : { status: "failed", error: `${name}: ${message}` },
    );
    throw e;
  }
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
