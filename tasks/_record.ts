/**
 * The one writer of stage records in `run.json`: {@linkcode recordStage} keeps a stage's record while it
 * runs, and a failure (or Ctrl-C) is recorded in the stage and in the run; {@linkcode settleRuns} leaves no
 * run of a failed command `running`.
 *
 * @module
 */
import { readRun, type RunStatus, setStage, type StageDeps, type StageRecord, updateRun } from "@saelab/runs";
import { heldRuns } from "./_lock.ts";
import type { RunHandle } from "./_run.ts";

/** What a stage body may report while it works. */
export interface StageReporter {
  /** Record progress in `run.json` (written at most every few seconds, and with the stage's final status). */
  update(record: Pick<StageRecord, "done" | "total" | "unit">): void;
}

/**
 * Run one stage of a run with its record in `run.json` — the only writer of stage records: `running`
 * with a start time, then `done` with the wall time added to `timings`; on Ctrl-C `interrupted` (stage
 * and run), on an error `failed` with the message (stage and run), and the error is rethrown.
 *
 * @param run The run.
 * @param name Stage name (`harvest`, `train`, …).
 * @param body The work.
 * @returns What the body returns.
 * @example
 * ```ts ignore
 * const store = await recordStage(run, "harvest", async (stage) => { ... });
 * ```
 */
export async function recordStage<T>(
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
    await recordFailure(run, name, { error: e, record: latest, seconds: seconds() });
    throw e;
  }
}

/**
 * Record a stage's failure (or interruption, on Ctrl-C) in its record and in the run's status; a stage
 * that a former writer left `running` becomes `interrupted`.
 *
 * @param run The run.
 * @param name Stage name.
 * @param o The error, the record's latest fields and the seconds spent.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await recordFailure(run, "train", { error: e });
 * ```
 */
export async function recordFailure(
  run: RunHandle,
  name: string,
  o: { error: unknown; record?: Partial<StageRecord>; seconds?: number },
): Promise<void> {
  const { runsDir } = run.deps;
  const interrupted = run.deps.signal.aborted;
  const message = o.error instanceof Error ? o.error.message : String(o.error);
  await setStage(runsDir, run.id, {
    stage: name,
    record: {
      ...o.record,
      status: interrupted ? "interrupted" : "failed",
      finished: new Date().toISOString(),
      ...(interrupted ? {} : { error: message }),
    },
    seconds: o.seconds,
  });
  await endRun(
    runsDir,
    run.id,
    interrupted ? { status: "interrupted" } : { status: "failed", error: `${name}: ${message}` },
  );
}

/**
 * Set a run that ends without finishing `failed` or `interrupted`, and any stage of it still recorded
 * `running` `interrupted`: this process holds the run's lock, so such a record is left by a writer that
 * died mid-stage (killed, or its machine stopped), and no stage of an ended run is running.
 */
async function endRun(
  runsDir: string,
  id: string,
  options: { status: Extract<RunStatus, "failed" | "interrupted">; error?: string },
): Promise<void> {
  await updateRun(runsDir, id, (run) => {
    run.status = options.status;
    if (options.error !== undefined) run.error = options.error;
    else delete run.error;
    for (const record of Object.values(run.stages)) if (record.status === "running") record.status = "interrupted";
    run.updated = new Date().toISOString();
    return run;
  });
}

/**
 * Mark every run this process holds that is still `running` as failed with the error (interrupted on Ctrl-C).
 *
 * @param deps The command's deps (its abort signal and log).
 * @param name The command's stage, for the message.
 * @param error What it threw.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await settleRuns(deps, "train", e);
 * ```
 */
export async function settleRuns(deps: StageDeps, name: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  for (const { runsDir, id } of heldRuns()) {
    try {
      if ((await readRun(runsDir, id))?.run?.status !== "running") continue;
      await endRun(
        runsDir,
        id,
        deps.signal.aborted ? { status: "interrupted" } : { status: "failed", error: `${name}: ${message}` },
      );
    } catch (e) {
      deps.log.warn(`Cannot mark run ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
