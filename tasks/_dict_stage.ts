/**
 * What the `baselines` and `score` stages share: finding the run and its
 * activation store, reading held-out rows, reading options from the merged
 * configuration, and the stage's record in `run.json` — kept by the stage
 * itself when it runs on its own, and left to `train` when `train` runs it
 * (`train` marks the stage `running` just before calling it).
 *
 * @module
 */
import { type ActivationStore, openStore } from "@saelab/activations";
import { isResidualHook, loadUnembedding, logitEffects, type Unembedding } from "@saelab/autointerp";
import type { IdRows } from "@saelab/autointerp";
import { loadDictionary } from "@saelab/baselines";
import { Tokenizer } from "@saelab/tokenizer";
import { join } from "node:path";
import {
  listRuns,
  type LogitEffects,
  readRun,
  type RunJson,
  safeJoin,
  setRunStatus,
  setStage,
  type StageDeps,
  validateId,
} from "@saelab/runs";
import { STORE_DIR } from "./harvest.ts";

/** The run a stage works on. */
export interface StageRun {
  /** Run id. */
  id: string;
  /** Absolute path of the run folder. */
  dir: string;
  /** `run.json`. */
  json: RunJson;
  /** A path inside the run folder. */
  path(...names: string[]): string;
}

/**
 * The run named by `config.run`, else the newest run that has an activation store.
 *
 * @param deps The CLI's deps.
 * @param requested `config.run`.
 * @param stage Stage name, for messages.
 * @returns The run.
 * @throws {TypeError} When the run does not exist or none has been harvested.
 */
export async function findRun(deps: StageDeps, requested: unknown, stage: string): Promise<StageRun> {
  let id: string;
  if (requested !== undefined) {
    id = validateId(requested);
  } else {
    const runs = await listRuns(deps.runsDir);
    const withStore = [];
    for (const r of runs) {
      if (r.run && !r.run.synthetic && (await isFile(safeJoin(deps.runsDir, [r.id, STORE_DIR, "manifest.json"])))) {
        withStore.push(r.id);
      }
    }
    if (withStore.length === 0) {
      throw new TypeError(
        `Cannot run ${stage}: no run in ${deps.runsDir} has activations; run \`deno task train\` first`,
      );
    }
    id = withStore[0];
  }
  const summary = await readRun(deps.runsDir, id);
  if (!summary?.run) {
    throw new TypeError(`Cannot run ${stage}: run ${id} does not exist in ${deps.runsDir} or has no readable run.json`);
  }
  const runsDir = deps.runsDir;
  return {
    id,
    dir: safeJoin(runsDir, [id]),
    json: summary.run,
    path: (...names) => safeJoin(runsDir, [id, ...names]),
  };
}

/**
 * Open the run's activation store.
 *
 * @param run The run.
 * @param stage Stage name, for messages.
 * @returns The store.
 */
export async function runStore(run: StageRun, stage: string): Promise<ActivationStore> {
  try {
    return await openStore(run.path(STORE_DIR));
  } catch (e) {
    throw new TypeError(
      `Cannot run ${stage} on run ${run.id}: its activation store is missing or incomplete ` +
        `(${e instanceof Error ? e.message : e}); run \`deno task harvest --run ${run.id}\``,
    );
  }
}

/**
 * Up to `maxRows` rows of a split, with their ids.
 *
 * @param store The store.
 * @param split Which rows.
 * @param maxRows Limit.
 * @returns The rows.
 */
export async function readSplit(store: ActivationStore, split: "train" | "heldout", maxRows: number): Promise<IdRows> {
  const n = Math.min(store.rows(split), maxRows);
  if (n === 0) {
    return {
      rows: 0,
      d: store.d,
      x: new Float32Array(),
      doc: new Int32Array(),
      pos: new Int32Array(),
      token: new Int32Array(),
    };
  }
  return await store.getRows(0, n, { split });
}

/**
 * Run a stage body with its record in `run.json` (status, times, wall time, failure), unless `train` is already
 * keeping that record (the stage is `running`, started within the last minute, in a running run).
 *
 * @param deps The CLI's deps.
 * @param run The run.
 * @param name Stage name.
 * @param body The work.
 * @returns What the body returns.
 */
export async function withStageRecord<T>(
  deps: StageDeps,
  run: StageRun,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  const rec = run.json.stages[name];
  const startedAgo = rec?.started ? Date.now() - Date.parse(rec.started) : Infinity;
  if (run.json.status === "running" && rec?.status === "running" && startedAgo < 60_000) return await body();
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  await setStage(deps.runsDir, run.id, {
    stage: name,
    record: { status: "running", started: new Date().toISOString() },
  });
  try {
    const out = await body();
    await setStage(deps.runsDir, run.id, {
      stage: name,
      record: { status: "done", finished: new Date().toISOString(), error: undefined },
      seconds: seconds(),
    });
    return out;
  } catch (e) {
    const interrupted = deps.signal.aborted;
    const message = e instanceof Error ? e.message : String(e);
    await setStage(deps.runsDir, run.id, {
      stage: name,
      record: { status: interrupted ? "interrupted" : "failed", finished: new Date().toISOString(), error: message },
      seconds: seconds(),
    });
    if (interrupted) await setRunStatus(deps.runsDir, run.id, { status: "interrupted" });
    throw e;
  }
}

/** The model's read-out and token names, for logit effects. */
export interface Readout {
  /** Final LayerNorm weight and unembedding. */
  unembed: Unembedding;
  /** Token id → text. */
  decode: (id: number) => string;
}

/**
 * The run's model read-out, when the hook writes to the residual stream and the model folder is readable.
 *
 * @param run The run.
 * @param deps The CLI's deps (for the log).
 * @returns The read-out, or `null` (logit effects are then left out).
 */
export async function runReadout(run: StageRun, deps: StageDeps): Promise<Readout | null> {
  const path = run.json.model.path;
  if (!isResidualHook(run.json.hook)) {
    deps.log.debug(`logit effects left out: ${run.json.hook} is not in the residual stream`);
    return null;
  }
  if (!path) return null;
  let unembed: Unembedding;
  try {
    unembed = await loadUnembedding(path);
  } catch (e) {
    deps.log.warn(
      `logit effects left out: cannot read the unembedding of ${path} (${e instanceof Error ? e.message : e})`,
    );
    return null;
  }
  let decode = (id: number) => `⟨${id}⟩`;
  try {
    const tok = await Tokenizer.fromFile(join(path, "tokenizer.json"));
    decode = (id) => tok.decode([id]);
  } catch {
    // token ids stand in for names
  }
  return { unembed, decode };
}

/**
 * Top positive and negative logit effects (10 each) of some features of a saved dictionary, by feature index.
 *
 * @param readout The model's read-out.
 * @param dir The dictionary's folder (`cfg.json`, weights with the decoder in activation units).
 * @param indices Features.
 * @returns Effects by feature, empty when the dictionary's width is not the model's.
 */
export async function featureLogits(
  readout: Readout,
  dir: string,
  indices: readonly number[],
): Promise<Map<number, LogitEffects>> {
  const dict = await loadDictionary(dir);
  const out = new Map<number, LogitEffects>();
  if (dict.dIn !== readout.unembed.d) return out;
  for (const i of indices) {
    const row = dict.decoder.subarray(i * dict.dIn, (i + 1) * dict.dIn); // [dIn]
    out.set(i, logitEffects(row, readout.unembed, { decode: readout.decode, k: 10 }));
  }
  return out;
}

/** A whole number ≥ `min` from the config, or the default. */
export function intOption(config: Record<string, unknown>, key: string, fallback: number, min = 1): number {
  const v = config[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new TypeError(`Invalid ${key}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A positive number from the config, or the default. */
export function numberOption(config: Record<string, unknown>, key: string, fallback: number): number {
  const v = config[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new TypeError(`Invalid ${key}: expected a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A list of strings (or one comma-separated string) from the config, or the default. */
export function listOption(config: Record<string, unknown>, key: string, fallback: string[] | undefined) {
  const v = config[key];
  if (v === undefined) return fallback;
  const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) {
    throw new TypeError(`Invalid ${key}: expected a list of names, got ${JSON.stringify(v)}`);
  }
  return list as string[];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
