/**
 * Writers for run folders. Every whole-file write goes to a temporary file in the same folder and is
 * renamed over the target, so a reader sees either the old or the new file, never half of one.
 * `metrics.jsonl` is appended one complete line batch per call; readers skip a torn last line.
 *
 * @module
 */
import { dirname } from "node:path";
import { finiteJson } from "@saelab/core";
import { writeJsonAtomic } from "@saelab/core/fs";
import { RUN_FILES, safeJoin, validateId } from "./paths.ts";
import { RUN_FORMAT_VERSION } from "./run_types.ts";
import type { MetricRow, ModelInfo, RunJson, RunStatus, StageRecord } from "./run_types.ts";

/**
 * Append rows to a JSON-lines file with one write call (one line per row).
 *
 * @param path Target file (created when missing).
 * @param rows Rows to append.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await appendJsonLines("runs/demo/metrics.jsonl", [{ member: "r1", step: 0, loss: 1, mse: 1, l0: 3 }]);
 * ```
 */
export async function appendJsonLines(path: string, rows: readonly unknown[]): Promise<void> {
  if (rows.length === 0) return;
  await Deno.mkdir(dirname(path), { recursive: true });
  const text = rows.map((r) => finiteJson(r, { what: path, space: 0 })).join("\n") + "\n";
  const file = await Deno.open(path, { append: true, create: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
  } finally {
    file.close();
  }
}

/** What a new run starts with. */
export interface CreateRunOptions {
  /** Run id (folder name). */
  id: string;
  /** Merged configuration. */
  config: Record<string, unknown>;
  /** Model facts. */
  model: ModelInfo;
  /** Hook name. */
  hook: string;
  /** Creation time; defaults to now. */
  now?: Date;
  /** Mark the run as generated rather than measured. */
  synthetic?: boolean;
}

/**
 * Create `runs/<id>/run.json` with status `running`. If the run exists, its `run.json` is returned
 * unchanged except for `status: "running"` (resumption).
 *
 * @param runsDir The runs folder.
 * @param options Identity and configuration.
 * @returns The record written.
 * @example
 * ```ts ignore
 * const run = await createRun("runs", { id: "r1", config: {}, model, hook: "blocks.1.hook_resid_post" });
 * ```
 */
export async function createRun(runsDir: string, options: CreateRunOptions): Promise<RunJson> {
  const id = validateId(options.id);
  const now = (options.now ?? new Date()).toISOString();
  const path = safeJoin(runsDir, [id, RUN_FILES.run]);
  let existing: RunJson | null = null;
  try {
    existing = JSON.parse(await Deno.readTextFile(path)) as RunJson;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const run: RunJson = existing ? { ...existing, status: "running", error: undefined, updated: now } : {
    format: RUN_FORMAT_VERSION,
    id,
    created: now,
    updated: now,
    status: "running",
    ...(options.synthetic ? { synthetic: true } : {}),
    config: options.config,
    model: options.model,
    hook: options.hook,
    timings: {},
    stages: {},
  };
  await writeJsonAtomic(path, run);
  return run;
}

/**
 * Read `run.json`, apply `change`, write it back atomically. Only one process should write a run.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param change Returns the new record (may mutate and return its argument).
 * @returns The record written.
 * @example
 * ```ts ignore
 * await updateRun("runs", "r1", (r) => ({ ...r, status: "done" }));
 * ```
 */
export async function updateRun(
  runsDir: string,
  id: string,
  change: (run: RunJson) => RunJson,
): Promise<RunJson> {
  const path = safeJoin(runsDir, [validateId(id), RUN_FILES.run]);
  const run = change(JSON.parse(await Deno.readTextFile(path)) as RunJson);
  await writeJsonAtomic(path, run);
  return run;
}

/**
 * Record a stage's state in `run.json`; `seconds` is added to `timings[stage]`.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param options Stage name, new fields, seconds spent since the last call.
 * @returns The record written.
 * @example
 * ```ts ignore
 * await setStage("runs", "r1", { stage: "train", record: { status: "done" }, seconds: 12.5 });
 * ```
 */
export function setStage(
  runsDir: string,
  id: string,
  options: { stage: string; record: Partial<StageRecord>; seconds?: number; now?: Date },
): Promise<RunJson> {
  return updateRun(runsDir, id, (run) => {
    const prev = run.stages[options.stage] ?? { status: "pending" };
    run.stages[options.stage] = { ...prev, ...options.record } as StageRecord;
    if (options.seconds !== undefined) {
      run.timings[options.stage] = (run.timings[options.stage] ?? 0) + options.seconds;
    }
    run.updated = (options.now ?? new Date()).toISOString();
    return run;
  });
}

/**
 * Set the run's overall status (and error message for `failed`).
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param options New status and optional error.
 * @returns The record written.
 * @example
 * ```ts ignore
 * await setRunStatus("runs", "r1", { status: "interrupted" });
 * ```
 */
export function setRunStatus(
  runsDir: string,
  id: string,
  options: { status: RunStatus; error?: string; now?: Date },
): Promise<RunJson> {
  return updateRun(runsDir, id, (run) => {
    run.status = options.status;
    if (options.error !== undefined) run.error = options.error;
    else delete run.error;
    run.updated = (options.now ?? new Date()).toISOString();
    return run;
  });
}

/**
 * Append training measurements to `runs/<id>/metrics.jsonl`.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param rows Rows to append.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await appendMetrics("runs", "r1", [{ member: "r1_a1e-3", step: 10, loss: 0.4, mse: 0.3, l0: 12 }]);
 * ```
 */
export function appendMetrics(runsDir: string, id: string, rows: readonly MetricRow[]): Promise<void> {
  return appendJsonLines(safeJoin(runsDir, [validateId(id), RUN_FILES.metrics]), rows);
}
