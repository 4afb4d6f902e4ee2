/**
 * Pipeline stage `circuits`: the paper's ablation graph (Figure 4) for one feature of a run's SAE,
 * written to `runs/<id>/circuits.json`.
 *
 * The target is a feature of an SAE member at the run's hook (`blocks.L.…`); the graph goes down
 * `depth` layers through dictionaries at the same point of blocks L−1, L−2, …: the run's own SAEs at
 * those hooks when it has them, else companion SAEs trained here with the member's recipe (kept under
 * `runs/<id>/circuits/`). Contexts are token windows rebuilt from the run's activation store.
 *
 * Config: `run`, `model`, `member` (default: an untied member of the largest ratio, middle α), `target`
 * (feature index; default: the best-scored explained feature, else the strongest sparse one in the windows),
 * `depth` (2), `edges` (3 kept per node), `contexts` (8 windows per node), `candidates` (32 upstream features
 * ablated per node), `windows` (64 windows of `length` 64 tokens), `companionSteps` (400), `seed` (0).
 *
 * @module
 */
import { openStore } from "@saelab/activations";
import { ablationGraph, encodeChunked, type LayerDictionary } from "@saelab/causal";
import * as v from "valibot";
import {
  type CircuitsJson,
  listDicts,
  readFeatureIndex,
  RUN_FILES,
  type StageDeps,
  type StageResult,
  writeJsonAtomic,
} from "@saelab/runs";
import type { Dictionary } from "@saelab/sae";
import {
  type AnalysisRun,
  defaultMembers,
  entryHook,
  featureLabels,
  HAS_SAES,
  loadEntries,
  loadRunModel,
} from "./_causal.ts";
import { defineStage, type RunContext } from "./_runtime.ts";
import { int, text } from "./_schema.ts";
import { companion, memberSpec, storeWindows } from "./_companions.ts";
import { companionAtlas } from "./_companion_atlas.ts";

/** The options of `circuits`. */
export const circuitsSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with SAEs"),
  model: text("model folder (default: the run's)"),
  member: text("SAE at the run's hook (default: an untied member of the largest ratio)"),
  target: int("feature index (default: the best-scored explained feature)", { min: 0 }),
  depth: int("layers to go down", { default: 2, min: 1 }),
  edges: int("strongest edges kept per feature", { default: 3, min: 1 }),
  contexts: int("windows where a feature fires most, per feature", { default: 8, min: 1 }),
  candidates: int("upstream features ablated per feature", { default: 32, min: 1 }),
  windows: int("token windows taken from the run's activation store", { default: 64, min: 1 }),
  length: int("tokens per window", { default: 64, min: 2 }),
  companionSteps: int("training steps of SAEs at layers the run has none", { default: 400, min: 1 }),
  seed: int("random seed", { default: 0, min: 0 }),
});

type CircuitsConfig = v.InferOutput<typeof circuitsSchema>;

async function circuitsRun(ctx: RunContext, config: CircuitsConfig): Promise<StageResult> {
  const deps = ctx;
  const { depth, edges, contexts, candidates, length, seed } = config;
  const nWindows = config.windows;
  const steps = config.companionSteps;
  const run = ctx.run!;
  const hook = run.json.hook;
  const m = /^blocks\.(\d+)\.(.+)$/.exec(hook);
  if (!m) throw new TypeError(`Cannot run circuits: the run's hook ${hook} is not a block hook`);
  const layer = Number(m[1]), point = m[2];
  const gpu = await ctx.gpu();
  const { model, dir } = await loadRunModel(gpu, run, config.model);
  const dicts: Dictionary[] = [];
  try {
    const entries = await listDicts(deps.runsDir, run.id);
    const name = typeof config.member === "string" ? config.member : pickMember(entries, hook);
    const entry = entries.find((e) => e.name === name && e.kind === "sae");
    if (!entry || entry.cfg.status !== "ok") throw new TypeError(`Invalid member: run ${run.id} has no SAE ${name}`);
    const [member] = await loadEntries(gpu, run, [entry]);
    dicts.push(member);
    const store = await openStore(run.path("activations")).catch(() => {
      throw new TypeError(`Cannot run circuits on run ${run.id}: it has no activation store to take contexts from`);
    });
    const windows = await storeWindows(store, { length, count: nWindows, split: "heldout" });
    if (windows.length < nWindows) {
      windows.push(...await storeWindows(store, { length, count: nWindows - windows.length, split: "train" }));
    }
    if (windows.length === 0) throw new TypeError(`Cannot run circuits: no ${length}-token windows in the store`);
    const layers: LayerDictionary[] = [];
    const spec = memberSpec(entry.cfg.value);
    for (let l = Math.max(0, layer - depth); l < layer; l++) {
      const at = `blocks.${l}.${point}`;
      const own = entries.find((e) => e.kind === "sae" && entryHook(e) === at && e.cfg.status === "ok");
      let dict: Dictionary;
      if (own) [dict] = await loadEntries(gpu, run, [own]);
      else {
        const training = await storeWindows(store, {
          length: Math.min(128, model.config.maxPositions),
          count: 128,
          split: "train",
        });
        dict = await companion(gpu, {
          model,
          run,
          hook: at,
          spec,
          name: `${name}_L${l}`,
          windows: training,
          steps,
          seed,
          deps,
        });
        // every companion feature gets a page with data: its atlas on the held-out windows of the circuit
        const features = await companionAtlas(gpu, { model, run, name: dict.name, hook: at, windows, seed, deps });
        deps.log.info(`circuits: wrote the atlas of ${features} features of ${dict.name} on ${windows.length} windows`);
      }
      dicts.push(dict);
      layers.push({ hook: at, dict, label: await labeller(deps, run, dict.name) });
    }
    layers.push({ hook, dict: member, label: await labeller(deps, run, member.name) });
    const target = config.target !== undefined ? config.target : await pickTarget(deps, run, member);
    deps.log.info(`circuits: target feature ${target} of ${name} at ${hook}; ${layers.length - 1} layers below`);
    const graph = await ablationGraph(model, {
      dicts: layers,
      windows,
      target: { hook, feature: target },
      depth,
      edges,
      contexts,
      candidates,
      weights: dir,
      onProgress: deps.progress,
      signal: deps.signal,
    });
    const out: CircuitsJson & Record<string, unknown> = {
      metric: graph.metric,
      nodes: graph.nodes.map((n) => ({
        id: n.id,
        layer: n.layer,
        dict: n.dict,
        feature: n.feature,
        ...(n.label ? { label: n.label } : {}),
        activation: n.activation,
        positions: n.positions,
      })),
      edges: graph.edges,
      target: graph.target,
      hook,
      windows: windows.length,
      windowLength: length,
      ablations: graph.ablations,
      seconds: graph.seconds,
    };
    await writeJsonAtomic(run.path(RUN_FILES.circuits), out);
    return {
      runId: run.id,
      message: `Circuit of ${graph.target}: ${graph.nodes.length} features, ${graph.edges.length} edges ` +
        `(${graph.ablations} ablations in ${graph.seconds.toFixed(1)} s)`,
    };
  } finally {
    for (const d of dicts) d.dispose();
    model.dispose();
  }
}

/** The `circuits` stage (`runStage(circuitsStage, config, { deps, gpu })` runs it as one command). */
export const circuitsStage = defineStage({
  name: "circuits",
  schema: circuitsSchema,
  target: HAS_SAES,
  run: circuitsRun,
});

function pickMember(entries: Awaited<ReturnType<typeof listDicts>>, hook: string): string {
  const members = defaultMembers(entries, hook, 8);
  if (members.length === 0) throw new TypeError(`Cannot run circuits: the run has no SAE at ${hook}`);
  return members[Math.floor((members.length - 1) / 2)].name;
}

/** Feature explanations, cut to one short line for the graph (the feature page has them whole). */
async function labeller(deps: StageDeps, run: AnalysisRun, dict: string) {
  const labels = await featureLabels(deps, run, dict);
  return (f: number) => {
    const text = labels.get(f)?.replace(/\s+/g, " ").trim();
    return text && text.length > 60 ? `${text.slice(0, 57).trimEnd()}…` : text;
  };
}

/** The best-scored explained feature, else the sparse feature (firing on under 10% of positions) with the most activation. */
async function pickTarget(deps: StageDeps, run: AnalysisRun, member: Dictionary): Promise<number> {
  const index = await readFeatureIndex(deps.runsDir, run.id, member.name);
  if (index.status === "ok") {
    const scored = index.value.features.filter((f) => typeof f.score === "number").sort((a, b) => b.score! - a.score!);
    if (scored.length) return scored[0].index;
  }
  return await strongestSparse(member, deps, run);
}

async function strongestSparse(member: Dictionary, deps: StageDeps, run: AnalysisRun): Promise<number> {
  const store = await openStore(run.path("activations"));
  const rows = await store.getRows(0, Math.min(4096, store.rows("heldout") || store.rows("train")), {
    split: store.rows("heldout") ? "heldout" : "train",
  });
  const codes = await encodeChunked(member, rows.x);
  const F = member.dDict, n = rows.rows;
  const fires = new Float64Array(F), total = new Float64Array(F);
  for (let i = 0; i < codes.length; i++) if (codes[i] > 0) fires[i % F]++, total[i % F] += codes[i];
  let best = -1;
  for (let j = 0; j < F; j++) if (fires[j] > 0 && fires[j] / n < 0.1 && (best < 0 || total[j] > total[best])) best = j;
  if (best < 0) { for (let j = 0; j < F; j++) if (best < 0 || total[j] > total[best]) best = j; // none is sparse
   }
  deps.log.debug(`circuits: feature ${best} fires on ${((fires[best] / n) * 100).toFixed(1)}% of held-out rows`);
  return best;
}
