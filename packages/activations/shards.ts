/**
 * A harvest in pieces: {@linkcode planStore} gives the plan of a store folder's harvest (its ranges,
 * where a resume starts, and the manifest the ranges are committed onto), any process may harvest any
 * range with `harvestRange`, and {@linkcode assembleManifest} commits ranges' chunk entries onto the
 * manifest in window order. The sequential `harvest` is these three in a loop; queue shards are the same
 * ranges run by other processes and committed once all are done.
 *
 * @module
 */
import type { TokenWindows } from "@saelab/corpus";
import { type Manifest, readManifest } from "./manifest.ts";
import { checkOptions, checkSettings, harvestConfig, newManifest } from "./_harvest_parts.ts";
import type { HarvestOptions } from "./harvest.ts";
import { type HookedModel, hookLayer, readHook } from "./model.ts";
import { type HarvestPlan, planHarvest, type RangeChunks } from "./plan.ts";

/** What {@linkcode planStore} found in a store folder and planned. */
export interface StorePlan {
  /** The plan of the whole harvest. */
  plan: HarvestPlan;
  /** The store's manifest (checked against the settings), or null when there is none (or `overwrite`). */
  manifest: Manifest | null;
  /** The manifest to commit ranges onto: the store's, else a new one (`d` 0 until a range gives it). */
  base: Manifest;
  /** Index of the first range not committed yet (the plan's length when complete). */
  start: number;
  /** Hash of the settings that decide the rows (windows included). */
  configHash: string;
}

/**
 * Plan the harvest of a store folder: check the settings against its manifest and find where it resumes.
 * Reads the folder, writes nothing. When `chunkRows` is not given and the folder has no manifest, one
 * window runs to learn the hook's width.
 *
 * @param model The model.
 * @param windows The windows, in harvest order.
 * @param options The harvest's options (as {@linkcode harvest} takes them).
 * @returns The plan and the manifest to commit onto.
 * @throws {TypeError} When the folder holds a store made with other settings.
 * @throws {RangeError} When the manifest's commit point is not one of the plan's.
 * @example
 * ```ts ignore
 * const { plan, start } = await planStore(model, windows, { hook, dir, chunkRows: 8192 });
 * ```
 */
export async function planStore(
  model: HookedModel,
  windows: TokenWindows,
  options: HarvestOptions,
): Promise<StorePlan> {
  const o = checkOptions(model, windows, options);
  hookLayer(o.hook, model.config.numLayers); // a block the model lacks fails here, before any work
  const { config, configHash } = harvestConfig(model, windows, o);
  const manifest = o.overwrite ? null : await readManifest(o.dir).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  if (manifest) checkSettings(manifest, { config, configHash, dir: o.dir, what: "resume" });
  let d = manifest?.d ?? 0;
  if (o.chunkRows === undefined && d === 0 && windows.count > 0) {
    d = (await readHook(model, windows.batch(0, 1), { batch: 1, contextLength: o.T, hook: o.hook })).width;
  }
  const chunkRows = o.chunkRows ?? Math.max(1, Math.floor(o.chunkBytes / (d * (o.dtype === "f16" ? 2 : 4))));
  const plan = planHarvest(windows, { ...o, chunkRows });
  const base = manifest ?? newManifest(o, { config, configHash, width: 0, windows });
  const start = plan.ranges.findIndex((r) => r.from === base.windowsDone);
  if (!base.complete && start < 0 && plan.ranges.length > 0) {
    throw new RangeError(
      `Cannot resume the activation store in ${o.dir}: its manifest's ${base.windowsDone} windows done is not ` +
        `a commit point of ${chunkRows} rows per chunk; harvest again with overwrite: true`,
    );
  }
  return { plan, manifest, base, start: base.complete ? plan.ranges.length : Math.max(0, start), configHash };
}

/**
 * Commit ranges' chunk entries onto a manifest: the ranges must follow its last commit point, in order.
 *
 * @param base The manifest so far (not changed).
 * @param options The plan, the ranges' entries (from `harvestRange`), and the store folder (for messages).
 * @returns The new manifest: the entries appended per split, rows counted, `windowsDone` at the last range's
 *   end, complete when that range ends the harvest.
 * @throws {RangeError} When a range does not follow the one before, misses a planned chunk, or has another width.
 * @example
 * ```ts ignore
 * const m = assembleManifest(store.base, { plan: store.plan, ranges: results, dir });
 * ```
 */
export function assembleManifest(
  base: Manifest,
  options: { plan: HarvestPlan; ranges: readonly RangeChunks[]; dir: string },
): Manifest {
  const { plan, dir } = options;
  const m: Manifest = {
    ...base,
    rows: { ...base.rows },
    chunks: [...base.chunks],
    heldOutChunks: [...base.heldOutChunks],
  };
  const fail = (why: string) => new RangeError(`Cannot commit to the activation store in ${dir}: ${why}`);
  for (const done of [...options.ranges].sort((a, b) => a.range - b.range)) {
    const range = plan.ranges[done.range];
    if (!range || range.from !== m.windowsDone) {
      throw fail(`range ${done.range} does not start at window ${m.windowsDone}, the last commit point`);
    }
    if (m.d === 0) m.d = done.d;
    if (done.d !== m.d) throw fail(`range ${done.range} has rows of width ${done.d}, the store ${m.d}`);
    for (const split of ["train", "heldout"] as const) {
      const planned = range.chunks[split], entry = done.chunks[split];
      if (!planned) continue;
      const list = split === "train" ? m.chunks : m.heldOutChunks;
      if (!entry || entry.file !== planned.file || entry.rows !== planned.rows || list.length !== planned.index) {
        throw fail(`range ${done.range} lacks its planned chunk ${planned.file} of ${planned.rows} rows`);
      }
      list.push(entry);
      m.rows[split] += entry.rows;
    }
    m.windowsDone = range.to;
    m.complete = done.range === plan.ranges.length - 1;
  }
  return m;
}
