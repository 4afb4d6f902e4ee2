/**
 * Pipeline stage `paper`: the paper's run end to end — the main job on the paper's full grid
 * (`--preset paper`: untied and tied × R 1, 2, 4 × α 1e-4, 1e-3, 1e-2, 18 members), then feature
 * patching (Figure 3) on the untied member of each R at the middle α and the PCA rotation, then the
 * ablation graph (Figure 4) from the largest untied member. Every part resumes from what is on disk:
 * a rerun after Ctrl-C skips what is done.
 *
 * Options: those of `train` (its preset defaults to `paper`), plus `patchDicts` to choose which
 * dictionaries are patched.
 *
 * @module
 */
import * as v from "valibot";
import type { StageResult } from "@saelab/runs";
import { type SaeKind, specName } from "@saelab/sae";
import { applyPreset, trainSchema } from "./_config.ts";
import { defineStage, type RunContext, runIn, type StageFunction, stageFunction } from "./_runtime.ts";
import { names, type OptionsSchema, parseOptions, withDefault } from "./_schema.ts";
import { circuitsStage } from "./circuits.ts";
import { patchStage } from "./patch.ts";
import { trainStage } from "./train.ts";

const entries = trainSchema.entries;

/** The options of `paper`: `train`'s, with the paper's preset, and the dictionaries to patch. */
export const paperSchema = v.strictObject({
  ...entries,
  preset: withDefault(entries.preset, { default: "paper" }),
  patchDicts: names(
    "dictionaries to patch (default: the untied member of each R at the middle α of the grid, and the PCA rotation)",
  ),
}) satisfies OptionsSchema;

/** The configuration of `paper`. */
export type PaperConfig = v.InferOutput<typeof paperSchema>;

/**
 * The dictionaries `paper` patches by default: the untied member of each R at the middle α (names depend
 * on R, not on the hook's width).
 *
 * @param config The grid (its preset applied).
 * @returns Member names.
 * @example
 * ```ts
 * import { defaultPatchDicts } from "./paper.ts";
 * const names = defaultPatchDicts({ kinds: ["untied", "tied"], ratios: [1, 2, 4], l1: [1e-4, 1e-3, 1e-2] });
 * if (names.join() !== "untied_r1_a1.0e-3,untied_r2_a1.0e-3,untied_r4_a1.0e-3") throw new Error(names.join());
 * ```
 */
export function defaultPatchDicts(config: { kinds: SaeKind[]; ratios: number[]; l1: number[] }): string[] {
  const kind = config.kinds.includes("untied") ? "untied" : config.kinds[0];
  const l1 = [...config.l1].sort((a, b) => a - b)[Math.floor((config.l1.length - 1) / 2)];
  const dIn = 4; // any width: a member's name depends on R = d_sae / d_in
  return config.ratios.map((r) => specName({ kind, dIn, dDict: r * dIn, l1 }));
}

async function paperRun(ctx: RunContext, config: PaperConfig): Promise<StageResult> {
  const { patchDicts, ...train } = config;
  const trained = await trainStage.run(ctx, train);
  const runId = trained?.runId;
  if (!runId) throw new Error("Cannot go on to patching: the main job returned no run");
  const dicts = patchDicts ?? defaultPatchDicts(applyPreset(train));
  ctx.signal.throwIfAborted();
  await runIn(ctx, patchStage, { config: parseOptions(patchStage.schema, { run: runId, dicts, seed: config.seed }) });
  ctx.signal.throwIfAborted();
  await runIn(ctx, circuitsStage, { config: parseOptions(circuitsStage.schema, { run: runId, seed: config.seed }) });
  return {
    runId,
    message: `Run ${runId}: the ${config.preset} preset's sweep, feature patching and the ablation graph; ` +
      "`deno task serve` shows them",
  };
}

/** The `paper` stage. */
export const paperStage = defineStage({ name: "paper", schema: paperSchema, run: paperRun });

/**
 * {@linkcode paperStage} as one command on a given GPU context (left open).
 *
 * @param config Configuration (see {@linkcode paperSchema}).
 * @param deps Runs folder, progress, abort signal, logger.
 * @param options The GPU context.
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await paper({ steps: 50 }, deps, { gpu });
 * ```
 */
export const paper: StageFunction = stageFunction(paperStage);
