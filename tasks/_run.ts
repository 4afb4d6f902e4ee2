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
  validateId,
} from "@saelab/runs";

/** Keys of a stored configuration that do not decide what a run computes. */
const FREE_KEYS = ["run", "steps", "trainSeconds", "skip", "checkpointSeconds", "logEvery", "cache"];

/**
 * The part of a stored configuration that must match for a run to resume.
 *
 * @param config A run's configuration.
 * @returns A hash of it without the keys that may change between invocations.
 * @example
 * ```ts
 * import { configKey } from "./_run.ts";
 * if (configKey({ steps: 1, ratios: [1] }) !== configKey({ steps: 9, ratios: [1] })) throw new Error();
 * ```
 */
export function configKey(config: Record<string, unknown>): string {
  return hashJson(Object.fromEntries(Object.entries(config).filter(([k]) => !FREE_KEYS.includes(k))));
}

function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !FREE_KEYS.includes(k)));
  return [...keys].filter((k) => hashJson(a[k] ?? null) !== hashJson(b[k] ?? null));
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
 * else the newest unfinished run with the same settings, else a new one.
 *
 * @param deps The CLI's deps (runs folder, log).
 * @param options The requested id, the resolved configuration, the model and the hook.
 * @returns The run.
 * @throws {TypeError} When the requested run exists with other settings.
 * @example
 * ```ts ignore
 * const run = await openRun(deps, { config, model: source.info, hook });
 * ```
 */
export async function openRun(
  deps: StageDeps,
  options: { requested?: string; config: Record<string, unknown>; model: ModelInfo; hook: string },
): Promise<RunHandle> {
  const key = configKey(options.config);
  let id: string | undefined;
  let resumed = false;
  if (options.requested !== undefined) {
    id = validateId(options.requested);
    const existing = await readRun(deps.runsDir, id);
    if (existing) {
      if (!existing.run) {
        throw new TypeError(`Cannot resume run ${id}: its run.json is unreadable (${existing.problems.join("; ")})`);
      }
      if (configKey(existing.run.config) !== key) {
        throw new TypeError(
          `Cannot resume run ${id}: it was started with other settings (${
            differences(existing.run.config, options.config).join(", ")
          } differ); choose another --run`,
        );
      }
      resumed = true;
    }
  } else {
    const match = (await listRuns(deps.runsDir)).find((r) =>
      r.run && !r.run.synthetic && r.run.status !== "done" && configKey(r.run.config) === key
    );
    if (match) {
      id = match.id;
      resumed = true;
    } else id = makeRunId(new Date());
  }
  await createRun(deps.runsDir, { id, config: options.config, model: options.model, hook: options.hook });
  if (resumed) deps.log.info(`Resuming run ${id}`);
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
