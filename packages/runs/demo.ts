/**
 * A small but complete synthetic run, for tests and screenshots. Everything in it is generated
 * from a seeded random source: `run.json` says `synthetic: true` and the model note says so too.
 *
 * @module
 */
import { makeRng, type Rng } from "./_random.ts";
import { encodeSafetensors } from "./_safetensors.ts";
import {
  bootstrapMean,
  DEMO_VOCAB,
  demoFeature,
  logitEffects,
  meanMaxCosine,
  nearestRows,
  unitRows,
} from "./_demo_data.ts";
import { demoAtlasEntry } from "./_demo_atlas.ts";
import { ATLAS_SHARD_SIZE, RUN_FILES, safeJoin, validateId } from "./paths.ts";
import { writeBytesAtomic, writeJsonAtomic } from "@saelab/core/fs";
import { appendJsonLines } from "./write.ts";
import { RUN_FORMAT_VERSION } from "./run_types.ts";
import type { MetricRow, RunJson, RunStatus } from "./run_types.ts";
import type { DictEval, SaeCfg } from "./dict_types.ts";
import type { FeatureIndex } from "./feature_types.ts";
import type { AtlasEntry } from "./atlas_types.ts";
import type { CircuitsJson, PatchJson, ScoresJson } from "./result_types.ts";

/** Options of {@linkcode makeDemoRun}. */
export interface DemoRunOptions {
  /** Run id; default `demo-<seed>`. */
  id?: string;
  /**
   * `done` (default) writes everything; `running` writes a run caught mid-training: `run.json`,
   * half the metrics with a torn last line, SAE configs, and nothing later.
   */
  status?: Extract<RunStatus, "done" | "running">;
  /** Creation time; default 2025-01-01T00:00:00Z so that output is reproducible. */
  created?: Date;
}

const D_IN = 16;
const RATIOS = [1, 2, 4];
const ALPHAS = [1e-3, 3e-3, 1e-2];
const STEPS = 24;
const EVERY = 50;
const TOKENS = 20_000;
const BASELINES = [["pca", 0.22], ["ica", 0.28], ["neurons", 0.15], ["random", 0.05]] as const;

/** Member folder name for a ratio and an L1 coefficient, e.g. `r4_a3e-3`. */
export const demoMemberName = (ratio: number, alpha: number): string => `r${ratio}_a${alpha.toExponential(0)}`;

/**
 * Write a synthetic run into `runsDir`: 9 SAE sweep members (R ∈ {1, 2, 4} × α ∈ {1e-3, 3e-3, 1e-2}, d_in 16)
 * with curves, SAELens folders and evaluations; 4 baselines; features for one SAE and the baselines;
 * scores with bootstrap intervals; a patching curve and a small circuit graph.
 *
 * @param runsDir The runs folder (created when missing).
 * @param seed Seed of the random source; the same seed writes the same files.
 * @param options Id, status and creation time.
 * @returns The run id and its folder.
 * @example
 * ```ts ignore
 * const { id } = await makeDemoRun(await Deno.makeTempDir(), 1);
 * ```
 */
export async function makeDemoRun(
  runsDir: string,
  seed: number,
  options: DemoRunOptions = {},
): Promise<{ id: string; path: string }> {
  const id = validateId(options.id ?? `demo-${seed}`);
  const status = options.status ?? "done";
  const rng = makeRng(seed);
  const root = safeJoin(runsDir, [id]);
  const at = (...names: string[]) => safeJoin(runsDir, [id, ...names]);
  await Deno.mkdir(root, { recursive: true });
  const created = options.created ?? new Date(Date.UTC(2025, 0, 1));
  const t = (s: number) => new Date(created.getTime() + s * 1000).toISOString();
  const hook = "blocks.1.hook_resid_post";
  const members = RATIOS.flatMap((ratio) =>
    ALPHAS.map((alpha) => ({ ratio, alpha, name: demoMemberName(ratio, alpha) }))
  );
  const stageNames = ["harvest", "train", "baselines", "score", "patch", "circuits"];
  const seconds = [41, 380, 22, 95, 31, 12];
  const run: RunJson = {
    format: RUN_FORMAT_VERSION,
    id,
    created: created.toISOString(),
    updated: t(status === "done" ? 600 : 200),
    status,
    synthetic: true,
    config: { synthetic: true, seed, ratios: RATIOS, l1Coefficients: ALPHAS, dIn: D_IN, steps: STEPS * EVERY },
    model: {
      name: "synthetic",
      path: null,
      isDefaultModel: false,
      note: "Synthetic demo run: every number here is generated from a seeded random source, not measured.",
    },
    hook,
    timings: Object.fromEntries(stageNames.slice(0, status === "done" ? 6 : 1).map((s, i) => [s, seconds[i]])),
    stages: Object.fromEntries(stageNames.map((s, i) => {
      if (status === "done") return [s, { status: "done", started: t(i * 90), finished: t(i * 90 + seconds[i]) }];
      if (i === 0) return [s, { status: "done", started: t(0), finished: t(41) }];
      if (i === 1) {
        return [s, { status: "running", started: t(41), done: STEPS * EVERY / 2, total: STEPS * EVERY, unit: "steps" }];
      }
      return [s, { status: "pending" }];
    })),
  };
  await writeJsonAtomic(at(RUN_FILES.run), run);

  // Training curves: exponential approach to a final value that trades L0 against FVU.
  const finals = new Map(members.map((m) => {
    const l0 = D_IN * 1.6 * Math.pow(m.ratio, 0.35) * Math.exp(-140 * m.alpha);
    const fvu = 0.03 + 0.9 / (l0 + 1.5) + 0.01 * rng.uniform();
    return [m.name, { l0, fvu, dead: Math.min(0.6, 0.02 * m.ratio * (1 + 60 * m.alpha) * (0.5 + rng.uniform())) }];
  }));
  const rows: MetricRow[] = [];
  for (let s = 0; s < STEPS; s++) {
    for (const m of members) {
      const f = finals.get(m.name)!;
      const decay = Math.exp(-s / 5);
      const noise = 1 + 0.03 * rng.normal();
      const fvu = (f.fvu + (1 - f.fvu) * decay) * noise;
      const l0 = (f.l0 + (D_IN * m.ratio * 0.5 - f.l0) * decay) * noise;
      const mse = fvu * 2.5;
      const l1 = l0 * 0.4;
      rows.push({
        member: m.name,
        step: s * EVERY,
        loss: mse + m.alpha * 100 * l1,
        mse,
        l0,
        l1,
        fvu,
        deadFraction: f.dead * (1 - decay),
        tokens: s * EVERY * 4096,
      });
    }
  }
  if (status === "running") {
    const half = rows.slice(0, rows.length / 2);
    await appendJsonLines(at(RUN_FILES.metrics), half);
    await Deno.writeTextFile(at(RUN_FILES.metrics), '{"member":"r1_a1e-3","step":', { append: true });
  } else {
    await appendJsonLines(at(RUN_FILES.metrics), rows);
  }

  // Dictionaries in the SAELens layout, with evaluations computed from their generated decoders.
  const decoders = new Map<string, Float32Array>();
  for (const m of members) decoders.set(m.name, unitRows(rng, D_IN * m.ratio, D_IN));
  for (const m of members) {
    const dSae = D_IN * m.ratio;
    const cfg: SaeCfg = {
      d_in: D_IN,
      d_sae: dSae,
      hook_name: hook,
      hook_layer: 1,
      model_name: "synthetic",
      architecture: "standard",
      dtype: "float32",
      activation_fn_str: "relu",
      apply_b_dec_to_input: true,
      normalize_activations: "none",
      context_size: 64,
      l1_coefficient: m.alpha,
    };
    await writeJsonAtomic(at(RUN_FILES.saes, m.name, RUN_FILES.cfg), cfg);
    if (status === "running") continue;
    await writeWeights(rng, at(RUN_FILES.saes, m.name, RUN_FILES.weights), decoders.get(m.name)!, dSae);
    const f = finals.get(m.name)!;
    const bigger = members.find((o) => o.alpha === m.alpha && o.ratio === m.ratio * 2);
    const ev: DictEval = {
      kind: "sae",
      method: "sae",
      dIn: D_IN,
      dSae,
      ratio: m.ratio,
      l1Coefficient: m.alpha,
      fvu: f.fvu,
      mse: f.fvu * 2.5,
      l0: f.l0,
      deadFraction: f.dead,
      tokens: TOKENS,
      splicedLoss: { clean: 3.21, spliced: 3.21 + 2.1 * f.fvu, zeroAblation: 5.02 },
      ...(bigger
        ? {
          mmcs: {
            reference: bigger.name,
            value: meanMaxCosine(decoders.get(m.name)!, decoders.get(bigger.name)!, D_IN),
          },
        }
        : {}),
    };
    await writeJsonAtomic(at(RUN_FILES.saes, m.name, RUN_FILES.eval), ev);
  }
  if (status === "running") return { id, path: root };

  for (const [method] of BASELINES) {
    const dec = unitRows(rng, D_IN, D_IN);
    decoders.set(method, dec);
    await writeJsonAtomic(
      at(RUN_FILES.baselines, method, RUN_FILES.cfg),
      {
        d_in: D_IN,
        d_sae: D_IN,
        hook_name: hook,
        model_name: "synthetic",
        method,
      } satisfies SaeCfg,
    );
    await writeWeights(rng, at(RUN_FILES.baselines, method, RUN_FILES.weights), dec, D_IN);
    const ev: DictEval = {
      kind: "baseline",
      method,
      dIn: D_IN,
      dSae: D_IN,
      fvu: 0,
      l0: D_IN,
      deadFraction: 0,
      tokens: TOKENS,
    };
    await writeJsonAtomic(at(RUN_FILES.baselines, method, RUN_FILES.eval), ev);
  }

  // Features for the middle SAE and every baseline, then scores from their feature scores.
  const chosen = demoMemberName(4, 3e-3);
  const unembed = Float32Array.from({ length: D_IN * DEMO_VOCAB.length }, () => rng.normal());
  const scored: [string, "sae" | "baseline", string, number][] = [
    [chosen, "sae", "sae", 0.48],
    ...BASELINES.map(([m, s]) => [m, "baseline", m, s] as [string, "baseline", string, number]),
  ];
  const scores: ScoresJson = { dicts: {} };
  for (const [dict, kind, method, meanScore] of scored) {
    const dec = decoders.get(dict)!;
    const index: FeatureIndex = { dict, method, tokens: TOKENS, backend: "synthetic", features: [] };
    const atlases: AtlasEntry[] = [];
    for (let i = 0; i < dec.length / D_IN; i++) {
      const f = demoFeature(rng, { dict, index: i, meanScore, tokens: TOKENS });
      const row = dec.subarray(i * D_IN, (i + 1) * D_IN);
      const detail = {
        ...f,
        logits: logitEffects(row, unembed, { vocab: DEMO_VOCAB, k: 6 }),
        neighbours: nearestRows(dec, i, { d: D_IN, k: 5 }),
      };
      await writeJsonAtomic(at(RUN_FILES.features, dict, `${i}.json`), detail);
      const { index: idx, density, maxActivation, meanActivation, explanation, score } = f;
      const atlas: AtlasEntry = { ...demoAtlasEntry(f), logits: detail.logits };
      atlases.push(atlas);
      const topTokens = atlas.topTokens.map((t) => t.token);
      index.features.push({ index: idx, density, maxActivation, meanActivation, explanation, score, topTokens });
    }
    for (let first = 0; first < atlases.length; first += ATLAS_SHARD_SIZE) {
      const shard = { dict, first, features: atlases.slice(first, first + ATLAS_SHARD_SIZE) };
      await writeJsonAtomic(at(RUN_FILES.features, dict, RUN_FILES.atlas, `${first / ATLAS_SHARD_SIZE}.json`), shard);
    }
    index.sampled = index.features.map((s) => s.index);
    index.atlasShard = ATLAS_SHARD_SIZE;
    await writeJsonAtomic(at(RUN_FILES.features, dict, RUN_FILES.featureIndex), index);
    const xs = index.features.map((s) => s.score!);
    const b = bootstrapMean(rng, xs, { resamples: 1000 });
    scores.dicts[dict] = { kind, method, mean: b.mean, ci95: b.ci95, n: xs.length, backend: "synthetic" };
  }
  await writeJsonAtomic(at(RUN_FILES.scores), scores);
  await writeJsonAtomic(at(RUN_FILES.patch), demoPatch(rng, chosen));
  await writeJsonAtomic(at(RUN_FILES.circuits), demoCircuits(rng, chosen));
  return { id, path: root };
}

async function writeWeights(rng: Rng, path: string, dec: Float32Array, dSae: number) {
  const enc = new Float32Array(D_IN * dSae); // [d_in, d_sae] = W_decᵀ
  for (let r = 0; r < dSae; r++) for (let c = 0; c < D_IN; c++) enc[c * dSae + r] = dec[r * D_IN + c];
  const bytes = encodeSafetensors({
    W_enc: { shape: [D_IN, dSae], data: enc },
    b_enc: { shape: [dSae], data: Float32Array.from({ length: dSae }, () => -0.1 * rng.uniform()) },
    W_dec: { shape: [dSae, D_IN], data: dec },
    b_dec: { shape: [D_IN], data: new Float32Array(D_IN) },
  }, { synthetic: "true" });
  await writeBytesAtomic(path, bytes);
}

function demoPatch(rng: Rng, chosen: string): PatchJson {
  const clean = 3.4, patched = -0.6;
  const curve = (dict: string, method: string, tau: number) => ({
    dict,
    method,
    points: [0, 1, 2, 4, 8, 16, 32].map((k) => ({
      k,
      value: clean - (clean - patched) * (1 - Math.exp(-k / tau)) + 0.05 * rng.normal() * (k > 0 ? 1 : 0),
    })),
  });
  return {
    task: "synthetic indirect-object task",
    metric: "logit difference",
    clean,
    patched,
    curves: [curve(chosen, "sae", 2.5), curve("pca", "pca", 9), curve("neurons", "neurons", 14)],
  };
}

function demoCircuits(rng: Rng, chosen: string): CircuitsJson {
  const nodes = [0, 1, 2].flatMap((layer) =>
    [0, 1, 2, 3].map((j) => {
      const feature = rng.int(D_IN * 4);
      return {
        id: `L${layer}/${chosen}/${feature}-${j}`,
        layer,
        dict: chosen,
        feature,
        label: `L${layer} f${feature}`,
      };
    })
  );
  const edges = nodes.flatMap((a) =>
    nodes.filter((b) => b.layer === a.layer + 1 && rng.uniform() < 0.5).map((b) => ({
      source: a.id,
      target: b.id,
      weight: Math.round(rng.normal() * 100) / 100,
    }))
  );
  return { metric: "change in downstream activation (synthetic)", nodes, edges };
}
