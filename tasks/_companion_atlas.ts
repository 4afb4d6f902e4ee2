/**
 * The atlas of a circuits companion SAE (`runs/<id>/circuits/<name>/`): its hook has no activation store, so
 * the held-out windows the circuit is measured on are run through the model at the companion's hook and
 * `atlasDictionaries` summarises every feature on them. Written like a scored dictionary's feature files
 * (`features/<name>/index.json` with no sampled features, and `features/<name>/atlas/`), so that every
 * companion feature's page has data.
 *
 * @module
 */
import { join } from "node:path";
import { atlasDictionaries, type FragmentSet } from "@saelab/autointerp";
import { loadDictionary } from "@saelab/baselines";
import { cacheHooks } from "@saelab/causal";
import type { Gpu } from "@saelab/gpu";
import type { NeoxModel } from "@saelab/neox";
import { type FeatureIndex, RUN_FILES, type StageDeps, writeTextAtomic } from "@saelab/runs";
import { tokenDecoder } from "./_dict_stage.ts";
import { writeAtlasFiles } from "./_features_io.ts";
import type { RunHandle } from "./_run.ts";

/**
 * Write the atlas and feature index of a companion SAE from held-out windows.
 *
 * @param gpu The GPU context.
 * @param o Model, run, the companion's name and hook, held-out token windows (equal lengths), seed, deps.
 * @returns The number of features written.
 * @example
 * ```ts ignore
 * await companionAtlas(gpu, { model, run, name: "r2_L0", hook: "blocks.0.hook_resid_post", windows, seed: 0, deps });
 * ```
 */
export async function companionAtlas(
  gpu: Gpu,
  o: {
    model: NeoxModel;
    run: RunHandle;
    name: string;
    hook: string;
    windows: number[][];
    seed: number;
    deps: StageDeps;
  },
): Promise<number> {
  const dict = await loadDictionary(o.run.path("circuits", o.name), { name: o.name, kind: "sae" });
  const cache = await cacheHooks(o.model, o.windows, { hooks: [o.hook] });
  const length = o.windows[0].length;
  const set: FragmentSet = {
    length,
    count: o.windows.length,
    d: cache.x[0].length / (o.windows.length * length),
    x: cache.x[0], // [windows · length, d]
    token: Int32Array.from(o.windows.flat()),
    doc: Int32Array.from(o.windows, (_, w) => w),
    start: new Int32Array(o.windows.length),
  };
  const [atlas] = await atlasDictionaries(gpu, [dict], {
    set,
    decode: await tokenDecoder(o.run, o.deps),
    documents: o.windows.map((_, w) => `held-out window ${w}`),
    seed: o.seed,
    signal: o.deps.signal,
  });
  const featuresDir = o.run.path(RUN_FILES.features);
  const atlasShard = await writeAtlasFiles(featuresDir, atlas);
  const r = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(5)));
  const index: FeatureIndex & { kind: "sae"; hook: string } = {
    dict: o.name,
    method: "sae",
    kind: "sae",
    hook: o.hook,
    tokens: atlas.tokens,
    features: atlas.entries.map((e) => ({
      index: e.index,
      density: r(e.density),
      maxActivation: r(e.maxActivation),
      meanActivation: r(e.meanActivation),
      topTokens: e.topTokens.map((t) => t.token),
    })),
    sampled: [],
    atlasShard,
  };
  await writeTextAtomic(join(featuresDir, o.name, RUN_FILES.featureIndex), JSON.stringify(index));
  return atlas.entries.length;
}
