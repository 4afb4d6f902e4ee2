/**
 * What the `patch` and `circuits` stages share: the run they analyse (named, or
 * the newest with SAEs), its model and tokenizer, its dictionaries at a hook,
 * feature explanations, option parsing and the stage's record in `run.json`.
 *
 * @module
 */
import { join } from "node:path";
import { type GpuLinearDictionary, loadDictionary } from "@saelab/baselines";
import type { Gpu } from "@saelab/gpu";
import { loadModel, type NeoxModel } from "@saelab/neox";
import {
  type DictEntry,
  listDicts,
  listRuns,
  readFeatureIndex,
  readRun,
  type RunJson,
  safeJoin,
  setStage,
  type StageDeps,
  validateId,
} from "@saelab/runs";
import { Tokenizer } from "@saelab/tokenizer";
import { kindOfCfg } from "@saelab/sae";

/** A run under analysis. */
export interface AnalysisRun {
  id: string;
  json: RunJson;
  /** A path inside the run folder. */
  path(...names: string[]): string;
}

/**
 * The run named by `requested`, else the newest measured run that has SAEs.
 *
 * @param deps The CLI's deps.
 * @param requested `config.run`.
 * @param stage Stage name for messages.
 * @returns The run.
 * @throws {TypeError} When there is no such run.
 */
export async function openAnalysisRun(deps: StageDeps, requested: unknown, stage: string): Promise<AnalysisRun> {
  let id: string | undefined;
  if (requested !== undefined) id = validateId(requested);
  else {
    for (const r of await listRuns(deps.runsDir)) {
      if (r.run && !r.run.synthetic && (await listDicts(deps.runsDir, r.id)).some((d) => d.kind === "sae")) {
        id = r.id;
        break;
      }
    }
    if (!id) {
      throw new TypeError(`Cannot run ${stage}: no run in ${deps.runsDir} has SAEs; run \`deno task train\` first`);
    }
  }
  const summary = await readRun(deps.runsDir, id);
  if (!summary?.run) throw new TypeError(`Cannot run ${stage}: run ${id} does not exist in ${deps.runsDir}`);
  return { id, json: summary.run, path: (...names) => safeJoin(deps.runsDir, [id!, ...names]) };
}

/**
 * Load the run's model (or `override`) and its tokenizer.
 *
 * @param gpu The GPU context.
 * @param run The run.
 * @param override A model folder given on the command line.
 * @returns The model, its folder and its tokenizer.
 * @throws {TypeError} When the run names no model folder.
 */
export async function loadRunModel(
  gpu: Gpu,
  run: AnalysisRun,
  override?: unknown,
): Promise<{ model: NeoxModel; dir: string; tokenizer: Tokenizer }> {
  const dir = typeof override === "string" ? override : run.json.model.path;
  if (!dir) throw new TypeError(`Cannot analyse run ${run.id}: it names no model folder; pass --model`);
  const tokenizer = await Tokenizer.fromFile(join(dir, "tokenizer.json"));
  return { model: await loadModel(gpu, dir), dir, tokenizer };
}

/** The hook a dictionary's `cfg.json` names. */
export function entryHook(entry: DictEntry): string | undefined {
  const cfg = entry.cfg.status === "ok" ? entry.cfg.value : undefined;
  return cfg?.hook_name ?? cfg?.metadata?.hook_name;
}

/**
 * Load dictionaries of a run onto a GPU.
 *
 * @param gpu The GPU context.
 * @param run The run.
 * @param entries Entries from `listDicts`.
 * @returns The dictionaries, in the same order (dispose them).
 */
export async function loadEntries(gpu: Gpu, run: AnalysisRun, entries: DictEntry[]): Promise<GpuLinearDictionary[]> {
  const out: GpuLinearDictionary[] = [];
  for (const e of entries) {
    const host = await loadDictionary(run.path(e.kind === "sae" ? "saes" : "baselines", e.name), {
      name: e.name,
      kind: e.kind,
    });
    out.push(host.bind(gpu));
  }
  return out;
}

/**
 * A default choice of SAE members: those of a preferred kind (the paper's untied SAEs; else any)
 * at the hook with the largest dictionary ratio, one per L1 coefficient, at most `limit`.
 *
 * @param entries The run's dictionaries.
 * @param hook The hook.
 * @param limit Most members.
 * @returns Chosen entries, by increasing α.
 */
export function defaultMembers(entries: DictEntry[], hook: string, limit: number): DictEntry[] {
  const saes = entries.filter((e) => e.kind === "sae" && e.cfg.status === "ok" && (entryHook(e) ?? hook) === hook);
  const preferred = saes.filter((e) => e.cfg.status === "ok" && kindOfCfg(e.cfg.value, e.name)?.preferred);
  const pool = preferred.length ? preferred : saes;
  const ratio = (e: DictEntry) => e.cfg.status === "ok" ? e.cfg.value.d_sae / e.cfg.value.d_in : 0;
  const alpha = (e: DictEntry) => {
    const cfg = e.cfg.status === "ok" ? e.cfg.value : undefined;
    const a = cfg?.l1_coefficient ?? /_a([0-9.e+-]+)/.exec(e.name)?.[1];
    return Number(a ?? 0);
  };
  const best = Math.max(...pool.map(ratio));
  return pool.filter((e) => ratio(e) === best).sort((a, b) => alpha(a) - alpha(b)).slice(0, limit);
}

/**
 * Explanations of a dictionary's features, when `features/<dict>/index.json` has them.
 *
 * @param deps The CLI's deps.
 * @param run The run.
 * @param dict Dictionary name.
 * @returns Feature index → explanation.
 */
export async function featureLabels(deps: StageDeps, run: AnalysisRun, dict: string): Promise<Map<number, string>> {
  const index = await readFeatureIndex(deps.runsDir, run.id, dict);
  const out = new Map<number, string>();
  if (index.status === "ok") {
    for (const f of index.value.features) {
      if (f.explanation) out.set(f.index, f.explanation);
    }
  }
  return out;
}

/**
 * Run a stage body with its record in `run.json`: running, then done, failed or interrupted, with wall time.
 *
 * @param deps The CLI's deps.
 * @param run The run.
 * @param name Stage name.
 * @param body The work.
 * @returns What the body returns.
 */
export async function recordStage<T>(
  deps: StageDeps,
  run: AnalysisRun,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
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
    await setStage(deps.runsDir, run.id, {
      stage: name,
      record: {
        status: deps.signal.aborted ? "interrupted" : "failed",
        finished: new Date().toISOString(),
        error: e instanceof Error ? e.message : String(e),
      },
      seconds: seconds(),
    });
    throw e;
  }
}

/** A whole number ≥ `min` from the config, or the default. */
export function intOption(config: Record<string, unknown>, key: string, fallback: number, min = 1): number {
  const v = config[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new TypeError(`Invalid ${key}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A list of strings (or one comma-separated string) from the config, or undefined. */
export function listOption(config: Record<string, unknown>, key: string): string[] | undefined {
  const v = config[key];
  if (v === undefined) return undefined;
  const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) {
    throw new TypeError(`Invalid ${key}: expected names separated by commas, got ${JSON.stringify(v)}`);
  }
  return list as string[];
}

/** One of some strings from the config, or the default. */
export function choiceOption<T extends string>(
  config: Record<string, unknown>,
  key: string,
  choices: T[],
  fallback: T,
): T {
  const v = config[key] ?? fallback;
  if (typeof v !== "string" || !choices.includes(v as T)) {
    throw new TypeError(`Invalid ${key}: expected one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}
