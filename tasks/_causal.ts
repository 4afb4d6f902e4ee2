/**
 * What the `patch` and `circuits` stages share: the run they analyse (named, or
 * the newest with SAEs), its model and tokenizer, its dictionaries at a hook and
 * feature explanations.
 *
 * @module
 */
import { join } from "node:path";
import { type GpuLinearDictionary, loadDictionary } from "@saelab/baselines";
import type { Gpu } from "@saelab/gpu";
import { loadModel, type NeoxModel } from "@saelab/neox";
import { type DictEntry, listDicts, readFeatureIndex, type StageDeps } from "@saelab/runs";
import type { RunHandle } from "./_run.ts";
import type { StageTarget } from "./_runtime.ts";
import { Tokenizer } from "@saelab/tokenizer";
import { kindOfCfg } from "@saelab/sae";

/** A run under analysis. */
export type AnalysisRun = RunHandle;

/** The default run of `patch` and `circuits`: the newest one with SAEs. */
export const HAS_SAES: StageTarget = {
  what: "SAEs",
  has: async (runsDir, id) => (await listDicts(runsDir, id)).some((d) => d.kind === "sae"),
};

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
