/**
 * Validating readers that tolerate a run still being written: a missing file is `missing`, a file
 * that does not parse or conform is `invalid` with the reasons, a torn last line of `metrics.jsonl`
 * is skipped. Nothing here throws for bad data; only bad ids and paths that leave the runs folder throw.
 *
 * @module
 */
import { isValidId, resolveInside, RUN_FILES, validateId } from "./paths.ts";
import { currentNames } from "./backend_names.ts";
import { type FileKind, validate } from "./validate.ts";
import type { MetricRow, RunJson } from "./run_types.ts";
import type { DictEval, DictKind, SaeCfg } from "./dict_types.ts";
import type { FeatureDetail, FeatureIndex } from "./feature_types.ts";
import type { ToyJson } from "./result_types.ts";

/** Outcome of reading one file. */
export type FileResult<T> =
  | { status: "ok"; value: T }
  | { status: "missing" }
  | { status: "invalid"; problems: string[] };

/**
 * Read and validate a JSON file under the runs folder.
 *
 * @param runsDir The runs folder.
 * @param segments Path below it, one name per level.
 * @param options Which format to check against.
 * @returns The parsed value, `missing`, or `invalid` with reasons.
 * @example
 * ```ts ignore
 * const r = await readJson<ScoresJson>("runs", ["demo", "scores.json"], { kind: "scores" });
 * ```
 */
export async function readJson<T>(
  runsDir: string,
  segments: readonly string[],
  options: { kind: FileKind },
): Promise<FileResult<T>> {
  const path = await resolveInside(runsDir, segments);
  if (path === null) return { status: "missing" };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { status: "missing" };
    return { status: "invalid", problems: [`cannot be read: ${(e as Error).message}`] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { status: "invalid", problems: [`not JSON: ${(e as Error).message}`] };
  }
  const problems = validate(options.kind, value);
  return problems.length
    ? { status: "invalid", problems }
    : { status: "ok", value: currentNames(options.kind, value) as T };
}

/** A run as the index page sees it. */
export interface RunSummary {
  /** Folder name. */
  id: string;
  /**
   * `ok`: `run.json` conforms. `pending`: the folder exists but `run.json` does not yet (being created).
   * `invalid`: `run.json` exists but does not parse or conform (`problems` say why).
   */
  readable: "ok" | "pending" | "invalid";
  /** The record, when readable. */
  run: RunJson | null;
  /** Why `run.json` could not be used. */
  problems: string[];
  /** Number of SAE folders under `saes/`. */
  members: number;
}

/**
 * Read one run's `run.json` and count its members.
 *
 * @param runsDir The runs folder.
 * @param id Run id (validated; a bad id throws `TypeError`).
 * @returns The summary, or `null` when the run folder does not exist.
 * @example
 * ```ts ignore
 * const s = await readRun("runs", "demo");
 * ```
 */
export async function readRun(runsDir: string, id: string): Promise<RunSummary | null> {
  validateId(id);
  const dir = await resolveInside(runsDir, [id]);
  if (dir === null || !(await isDir(dir))) return null;
  const r = await readJson<RunJson>(runsDir, [id, RUN_FILES.run], { kind: "run" });
  const members = (await listNames(runsDir, [id, RUN_FILES.saes])).length;
  if (r.status === "ok") {
    const problems = r.value.id === id ? [] : [`run.json says id ${JSON.stringify(r.value.id)}, folder is ${id}`];
    return { id, readable: "ok", run: r.value, problems, members };
  }
  if (r.status === "missing") return { id, readable: "pending", run: null, problems: [], members };
  return { id, readable: "invalid", run: null, problems: r.problems, members };
}

/**
 * Every run in the runs folder, newest first (runs without a readable `run.json` last).
 *
 * @param runsDir The runs folder; a missing folder gives an empty list.
 * @returns Summaries.
 * @example
 * ```ts ignore
 * for (const r of await listRuns("runs")) console.log(r.id, r.run?.status);
 * ```
 */
export async function listRuns(runsDir: string): Promise<RunSummary[]> {
  const ids = await listNames(runsDir, []);
  // A run folder that links outside the runs folder is left out rather than failing the listing.
  const read = (id: string) => readRun(runsDir, id).catch((e) => (e instanceof TypeError ? null : Promise.reject(e)));
  const runs = (await Promise.all(ids.map(read))).filter((r): r is RunSummary => r !== null);
  const key = (r: RunSummary) => r.run?.created ?? "";
  return runs.sort((a, b) => key(b).localeCompare(key(a)) || a.id.localeCompare(b.id));
}

/**
 * Names of the sub-folders of a folder under the runs folder that are valid ids
 * (temporary and hidden entries are skipped), sorted.
 *
 * @param runsDir The runs folder.
 * @param segments Folder below it.
 * @returns Names; empty when the folder is missing.
 * @example
 * ```ts ignore
 * const saes = await listNames("runs", ["demo", "saes"]);
 * ```
 */
export async function listNames(runsDir: string, segments: readonly string[]): Promise<string[]> {
  const dir = segments.length ? await resolveInside(runsDir, segments) : await realDir(runsDir);
  if (dir === null) return [];
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!isValidId(e.name) || e.name.endsWith(".tmp")) continue;
      if (e.isDirectory || (e.isSymlink && (await isDir(`${dir}/${e.name}`)))) names.push(e.name);
    }
  } catch {
    return []; // missing, not a folder, or not readable: nothing to list
  }
  return names.sort();
}

/** Rows of `metrics.jsonl` and what was wrong with the rest. */
export interface MetricsResult {
  /** Conforming rows in file order. */
  rows: MetricRow[];
  /** Problems with lines that were skipped (a torn last line is skipped silently). */
  problems: string[];
}

/**
 * Read `metrics.jsonl`, skipping lines that do not conform and a torn last line.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @returns Rows and problems; no rows when the file is missing.
 * @example
 * ```ts ignore
 * const { rows } = await readMetrics("runs", "demo");
 * ```
 */
export async function readMetrics(runsDir: string, id: string): Promise<MetricsResult> {
  const path = await resolveInside(runsDir, [validateId(id), RUN_FILES.metrics]);
  if (path === null) return { rows: [], problems: [] };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { rows: [], problems: [] };
    return { rows: [], problems: [`metrics.jsonl cannot be read: ${(e as Error).message}`] };
  }
  return parseMetrics(text);
}

/**
 * Parse JSON-lines metrics text (see {@linkcode readMetrics}).
 *
 * @param text File content.
 * @returns Rows and problems.
 * @example
 * ```ts
 * import { parseMetrics } from "@saelab/runs";
 * const r = parseMetrics('{"member":"a","step":0,"loss":1,"mse":1,"l0":3}\n{"member":"a","st');
 * r.rows.length; // 1 (the torn last line is skipped)
 * ```
 */
export function parseMetrics(text: string): MetricsResult {
  const lines = text.split("\n");
  const torn = !text.endsWith("\n");
  const rows: MetricRow[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (!(torn && i === lines.length - 1)) problems.push(`line ${i + 1}: not JSON`);
      continue;
    }
    const p = validate("metricRow", v);
    if (p.length) problems.push(`line ${i + 1}: ${p[0]}`);
    else rows.push(v as MetricRow);
  }
  return { rows, problems: problems.slice(0, 20) };
}

/** One dictionary of a run: an SAE sweep member or a baseline. */
export interface DictEntry {
  /** Folder name (unique across `saes/` and `baselines/`). */
  name: string;
  /** Which folder it lives in. */
  kind: DictKind;
  /** `cfg.json`. */
  cfg: FileResult<SaeCfg>;
  /** `eval.json`, present once the dictionary was evaluated. */
  eval: FileResult<DictEval>;
  /** Whether `features/<name>/index.json` exists. */
  hasFeatures: boolean;
}

/**
 * Every dictionary of a run: SAEs first, then baselines, each sorted by name.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @returns Entries.
 * @example
 * ```ts ignore
 * const dicts = await listDicts("runs", "demo");
 * ```
 */
export async function listDicts(runsDir: string, id: string): Promise<DictEntry[]> {
  validateId(id);
  const out: DictEntry[] = [];
  for (const [kind, folder] of [["sae", RUN_FILES.saes], ["baseline", RUN_FILES.baselines]] as const) {
    for (const name of await listNames(runsDir, [id, folder])) {
      const [cfg, ev, idx] = await Promise.all([
        readJson<SaeCfg>(runsDir, [id, folder, name, RUN_FILES.cfg], { kind: "saeCfg" }),
        readJson<DictEval>(runsDir, [id, folder, name, RUN_FILES.eval], { kind: "dictEval" }),
        resolveInside(runsDir, [id, RUN_FILES.features, name, RUN_FILES.featureIndex]).catch(() => null),
      ]);
      out.push({ name, kind, cfg, eval: ev, hasFeatures: idx !== null });
    }
  }
  return out;
}

/**
 * Read `features/<dict>/index.json`.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param dict Dictionary name (validated).
 * @returns The index, `missing` or `invalid`.
 * @example
 * ```ts ignore
 * const idx = await readFeatureIndex("runs", "demo", "r4_a1e-3");
 * ```
 */
export function readFeatureIndex(runsDir: string, id: string, dict: string): Promise<FileResult<FeatureIndex>> {
  const names = [validateId(id), RUN_FILES.features, validateId(dict, "dictionary name"), RUN_FILES.featureIndex];
  return readJson<FeatureIndex>(runsDir, names, { kind: "featureIndex" });
}

/**
 * Read `features/<dict>/<index>.json`.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param options Dictionary name and feature index (a non-negative integer).
 * @returns The detail, `missing` or `invalid`.
 * @example
 * ```ts ignore
 * const f = await readFeature("runs", "demo", { dict: "r4_a1e-3", index: 7 });
 * ```
 */
export function readFeature(
  runsDir: string,
  id: string,
  options: { dict: string; index: number },
): Promise<FileResult<FeatureDetail>> {
  if (!Number.isSafeInteger(options.index) || options.index < 0) {
    throw new RangeError(`Invalid feature index ${options.index}: expected a non-negative integer`);
  }
  const names = [
    validateId(id),
    RUN_FILES.features,
    validateId(options.dict, "dictionary name"),
    `${options.index}.json`,
  ];
  return readJson<FeatureDetail>(runsDir, names, { kind: "featureDetail" });
}

/** MMCS with the true features at or above which a toy member counts as having recovered them (the paper's 0.9). */
export const TOY_RECOVERED = 0.9;

/**
 * Read `toy.json`, the ground-truth toy sweep of a run (`deno task toy`).
 *
 * @param runsDir The runs folder.
 * @param id Run id (a bad id throws `TypeError`).
 * @returns The members and the chosen one, `missing`, or `invalid` with reasons (among them a `chosen`
 *   that names no member).
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { readToy } from "@saelab/runs";
 * const runs = await Deno.makeTempDir();
 * await Deno.mkdir(join(runs, "toy-1"));
 * const m = { kind: "untied", ratio: 2, l1: 3e-3, l0: 5, deadFraction: 0, mmcsTruth: 0.97, mmcsBetween: null };
 * await Deno.writeTextFile(join(runs, "toy-1", "toy.json"), JSON.stringify({ members: [{ ...m, name: "a" }], chosen: "a" }));
 * const toy = await readToy(runs, "toy-1");
 * if (toy.status !== "ok" || toy.value.chosen !== "a") throw new Error(toy.status);
 * await Deno.remove(runs, { recursive: true });
 * ```
 */
export function readToy(runsDir: string, id: string): Promise<FileResult<ToyJson>> {
  return readJson<ToyJson>(runsDir, [validateId(id), RUN_FILES.toy], { kind: "toy" });
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function realDir(path: string): Promise<string | null> {
  try {
    const p = await Deno.realPath(path);
    return (await isDir(p)) ? p : null;
  } catch {
    return null;
  }
}
