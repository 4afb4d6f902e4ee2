/**
 * Stage `export`: write a run's results in other tools' formats, into a folder outside the run.
 *
 * - `--format saelens`: every dictionary of the run — SAE members and baselines (PCA, ICA, neurons, random) —
 *   as a SAELens v6 folder `<out>/<name>/` (`cfg.json`, `sae_weights.safetensors`), read with the project's
 *   one reader and written with its one writer (`@saelab/dictionary`), so that `b_dec` subtracted from the
 *   input is folded into `b_enc` (`apply_b_dec_to_input` false) and every kind's codes are unchanged;
 *   the member's other `cfg.json` fields (kind, α, hook, model, metadata) are kept.
 * - `--format neuronpedia`: for every dictionary with harvested features, `<out>/<name>/batch-0.json` in the
 *   dashboard JSON of Neuronpedia's upload and SAEDashboard's Neuronpedia runner, `explanations.json`
 *   (Neuronpedia explanation records) when it was explained, and `<out>/run_settings.json` saying what was
 *   exported from where. How the fields map is described in `_neuronpedia.ts`.
 *
 * The stage only reads the run (it takes no lock and leaves no record in `run.json`). Options:
 * {@linkcode exportSchema}.
 *
 * @module
 */
import { join, resolve } from "node:path";
import * as v from "valibot";
import { loadDictionary, saveDictionary } from "@saelab/dictionary";
import {
  type DictEntry,
  type FeatureDetail,
  isValidId,
  listDicts,
  listRuns,
  readFeature,
  readFeatureIndex,
  readRun,
  RUN_FILES,
  type RunJson,
  safeJoin,
  type StageResult,
  writeJsonAtomic,
} from "@saelab/runs";
import { type BatchSource, hookLayer, neuronpediaBatch, neuronpediaExplanations } from "./_neuronpedia.ts";
import { defineStage, type RunContext, type StageFunction, stageFunction, UsageError } from "./_runtime.ts";
import { choice, names, text } from "./_schema.ts";

/** The formats `export` writes. */
export const EXPORT_FORMATS = ["neuronpedia", "saelens"] as const;

/** The options of `export`. */
export const exportSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with dictionaries"),
  format: choice(
    "format to write (required): neuronpedia writes feature dashboards and explanations as Neuronpedia " +
      "uploads them, saelens every SAE member and baseline as a SAELens v6 folder; one of",
    EXPORT_FORMATS,
    undefined,
  ),
  out: text("folder to write into (default: exports/<run>/<format>)"),
  dicts: names("dictionaries to export (default: every one the format applies to)"),
});

/** The run to export: the one `--run` names, else the newest real run with a dictionary. */
async function exportedRun(ctx: RunContext, requested: string | undefined): Promise<RunJson> {
  const { runsDir } = ctx;
  if (requested !== undefined) {
    if (!isValidId(requested)) throw new UsageError(`Invalid --run: ${JSON.stringify(requested)} is not a run id`);
    const summary = await readRun(runsDir, requested);
    if (!summary) throw new UsageError(`Invalid --run: run ${requested} does not exist in ${runsDir}`);
    if (!summary.run) {
      throw new TypeError(
        `Cannot export run ${requested}: its run.json is unreadable (${summary.problems.join("; ") || "not written"})`,
      );
    }
    return summary.run;
  }
  for (const r of await listRuns(runsDir)) {
    if (r.run && !r.run.synthetic && (await listDicts(runsDir, r.id)).length > 0) return r.run;
  }
  throw new UsageError(`Missing --run: no run in ${runsDir} has a dictionary to export`);
}

/** The entries `--dicts` asks for (all when it is not given); a name the run lacks is a usage error. */
function chosen(entries: DictEntry[], wanted: string[] | undefined, runId: string): DictEntry[] {
  if (!wanted) return entries;
  const have = new Set(entries.map((e) => e.name));
  const unknown = wanted.filter((n) => !have.has(n));
  if (unknown.length) {
    throw new UsageError(
      `Invalid --dicts: run ${runId} has no dictionary ${unknown.join(", ")} (it has ${
        [...have].join(", ") || "none"
      })`,
    );
  }
  return entries.filter((e) => wanted.includes(e.name));
}

/** `cfg.json` fields the writer sets from the dictionary itself; the others are carried over. */
const WRITER_FIELDS = new Set([
  "d_in",
  "d_sae",
  "architecture",
  "activation_fn_str",
  "activation_fn_kwargs",
  "apply_b_dec_to_input",
  "normalize_activations",
  "dtype",
  "method",
  "saelab",
  "hook_name",
  "model_name",
]);

async function exportSaeLens(ctx: RunContext, run: RunJson, options: { entries: DictEntry[]; out: string }) {
  const lines: string[] = [];
  let i = 0;
  for (const entry of options.entries) {
    ctx.signal.throwIfAborted();
    const folder = entry.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines;
    if (entry.cfg.status !== "ok") {
      ctx.log.warn(`export: skipping ${entry.name}: its ${RUN_FILES.cfg} is ${entry.cfg.status}`);
      continue;
    }
    const cfg = entry.cfg.value;
    const dict = await loadDictionary(safeJoin(ctx.runsDir, [run.id, folder, entry.name]), {
      name: entry.name,
      kind: entry.kind,
    });
    const extra = Object.fromEntries(Object.entries(cfg).filter(([k]) => !WRITER_FIELDS.has(k)));
    const written = await saveDictionary(join(options.out, entry.name), dict, {
      hookName: cfg.hook_name ?? cfg.metadata?.hook_name ?? run.hook,
      modelName: cfg.model_name ?? cfg.metadata?.model_name ?? run.model.name,
      extra,
    });
    lines.push(`${entry.name} (${written.architecture}, ${dict.dDict} features)`);
    ctx.progress({ label: "export", done: ++i, total: options.entries.length, unit: "dict" });
  }
  return lines;
}

async function exportNeuronpedia(ctx: RunContext, run: RunJson, options: { entries: DictEntry[]; out: string }) {
  const layer = hookLayer(run.hook);
  if (layer === null) {
    throw new TypeError(`Cannot export run ${run.id} for Neuronpedia: its hook ${run.hook} names no layer`);
  }
  const entries = options.entries.filter((e) => e.hasFeatures);
  const skipped = options.entries.filter((e) => !e.hasFeatures).map((e) => e.name);
  if (skipped.length) ctx.log.info(`export: no harvested features for ${skipped.join(", ")}; left out`);
  if (entries.length === 0) {
    throw new TypeError(
      `Cannot export run ${run.id} for Neuronpedia: no dictionary has harvested features; run \`deno task score --run ${run.id}\``,
    );
  }
  const lines: string[] = [];
  const written: Record<string, { features: number; explanations: number }> = {};
  for (const entry of entries) {
    ctx.signal.throwIfAborted();
    const index = await readFeatureIndex(ctx.runsDir, run.id, entry.name);
    if (index.status !== "ok") {
      throw new TypeError(
        `Cannot export ${entry.name} of run ${run.id}: features/${entry.name}/${RUN_FILES.featureIndex} is ` +
          `${index.status}${index.status === "invalid" ? ` (${index.problems.join("; ")})` : ""}`,
      );
    }
    const details = new Map<number, FeatureDetail>();
    for (const f of index.value.features) {
      const d = await readFeature(ctx.runsDir, run.id, { dict: entry.name, index: f.index });
      if (d.status === "ok") details.set(f.index, d.value);
    }
    const cfg = entry.cfg.status === "ok" ? entry.cfg.value : null;
    const longest = Math.max(
      0,
      ...[...details.values()].flatMap((d) => [...d.top, ...d.random].map((x) => x.tokens.length)),
    );
    const source: BatchSource = {
      modelId: run.model.name,
      layer,
      saeSet: entry.name,
      dataset: typeof run.config.corpus === "string" ? run.config.corpus : "",
      tokensPerPrompt: typeof run.config.context === "number" ? run.config.context : cfg?.context_size ?? longest,
    };
    const batch = neuronpediaBatch(index.value, { source, details });
    const explanations = neuronpediaExplanations(index.value, source);
    await writeJsonAtomic(join(options.out, entry.name, "batch-0.json"), batch);
    if (explanations.length) await writeJsonAtomic(join(options.out, entry.name, "explanations.json"), explanations);
    written[entry.name] = { features: batch.features.length, explanations: explanations.length };
    lines.push(
      `${entry.name} (${batch.features.length} features, ${details.size} with texts, ` +
        `${explanations.length} explanations)`,
    );
  }
  await writeJsonAtomic(join(options.out, "run_settings.json"), {
    run: run.id,
    model: run.model.name,
    hook: run.hook,
    layer,
    synthetic: run.synthetic === true,
    dictionaries: written,
  });
  return lines;
}

/** The `export` stage. */
export const exportStage = defineStage({
  name: "export",
  schema: exportSchema,
  async run(ctx, config): Promise<StageResult> {
    const format = config.format;
    if (format === undefined) throw new UsageError(`Missing --format: expected one of ${EXPORT_FORMATS.join(", ")}`);
    const run = await exportedRun(ctx, config.run);
    const out = resolve(config.out ?? join("exports", run.id, format));
    const entries = chosen(await listDicts(ctx.runsDir, run.id), config.dicts, run.id);
    if (entries.length === 0) throw new TypeError(`Cannot export run ${run.id}: it has no dictionary yet`);
    const lines = format === "saelens"
      ? await exportSaeLens(ctx, run, { entries, out })
      : await exportNeuronpedia(ctx, run, { entries, out });
    if (lines.length === 0) throw new TypeError(`Cannot export run ${run.id} as ${format}: nothing to write`);
    const what = format === "saelens" ? "SAELens v6 folders" : "Neuronpedia dashboard batches";
    return { runId: run.id, message: `Exported run ${run.id} as ${what} into ${out}: ${lines.join(", ")}` };
  },
});

/**
 * {@linkcode exportStage} as one command.
 *
 * @param config Configuration (see {@linkcode exportSchema}).
 * @param deps Runs folder, progress, abort signal, logger.
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await exportRun({ run: "sweep-1", format: "saelens", out: "out" }, deps);
 * ```
 */
export const exportRun: StageFunction = stageFunction(exportStage);
