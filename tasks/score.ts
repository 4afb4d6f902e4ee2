/**
 * Pipeline stage `score`: automatic interpretability of every dictionary of a run (SAE members and
 * baselines on the same hook), after Bills et al. as used by Cunningham et al. Held-out rows are cut
 * into 64-token fragments; every dictionary's activations on them are computed on the GPU; per
 * dictionary a seeded sample of features is explained and scored (simulation correlation, top-only,
 * random-only, then the `--scorer` classifications: detection accuracy and AUC, fuzzing balanced accuracy);
 * `features/<dict>/` gets the feature pages' data (with each feature's direct logit effects when the hook is
 * in the residual stream and the model folder is readable), and `features/<dict>/atlas/` every feature's
 * statistics, top and activation-interval fragments and top tokens from the same held-out fragments and `scores.json` the mean per dictionary with a
 * bootstrap 95% interval, what the score measures, the random-direction and neuron baselines' scores under
 * the same backend as references (both are always scored with the chosen dictionaries) and a verdict.
 *
 * The default backend is `token-lookup`: a lookup table of the current and previous tokens, whose score
 * measures how well those tokens predict the feature, not interpretability. `llm` explains and simulates
 * with an OpenAI-compatible endpoint after Bills et al.
 *
 * The GPU part is reused: when `features/<dict>/` was sampled with the same settings from the same
 * weights and store, only the explaining and scoring run again — so `--llm` rescoring after the main
 * job touches no activations.
 *
 * Options: {@linkcode scoreSchema}; for the LLM the key comes from `OPENAI_API_KEY`, the endpoint from `baseUrl`
 * (else `OPENAI_BASE_URL`, else OpenAI's) and the model from `llmModel` (else `OPENAI_MODEL`, else `gpt-4o-mini`).
 * Responses are cached in `<runs>/.cache/llm/`.
 *
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { hashJson } from "@saelab/activations";
import {
  atlasDictionaries,
  type Backend,
  BILLS_EXPLAIN_TOP,
  buildFragments,
  ChatClient,
  CLASSIFIERS,
  type DictScoreDetail,
  llmBackend,
  sampleDictionaries,
  scoreFeatures,
  type StoredSamples,
  summarizeScores,
  TOKEN_LOOKUP,
  TOKEN_LOOKUP_OLD_NAMES,
  tokenLookupBackend,
} from "@saelab/autointerp";
import { type LinearDictionary, loadDictionary } from "@saelab/baselines";
import * as v from "valibot";
import {
  type DictEntry,
  listDicts,
  type LogitEffects,
  RUN_FILES,
  type StageDeps,
  type StageResult,
} from "@saelab/runs";
import { featureLogits, HAS_STORE, readSplit, runReadout, runStore, tokenDecoder } from "./_dict_stage.ts";
import { readFeatureFiles, storedAtlas, writeAtlasFiles, writeFeatureFiles } from "./_features_io.ts";
import { mergeScores } from "./_scores_io.ts";
import type { RunHandle } from "./_run.ts";
import { defineStage, type RunContext, type StageFunction, stageFunction } from "./_runtime.ts";
import { choice, flag, int, names, num, text } from "./_schema.ts";

/** The options of `score`. */
export const scoreSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with activations"),
  dicts: names("dictionaries to score (default: all on the run's hook)"),
  features: int("features scored per dictionary", { default: 150, min: 1 }),
  seed: int("random seed", { default: 0, min: 0 }),
  fragments: int("most held-out fragments to draw from", { default: 1024, min: 1 }),
  fragmentLength: int("tokens per fragment", { default: 64, min: 1 }),
  backend: choice(
    `explainer/simulator backend: ${TOKEN_LOOKUP} (a token lookup table, not interpretability) or llm ` +
      `(${TOKEN_LOOKUP_OLD_NAMES.join(", ")}: old name of ${TOKEN_LOOKUP})`,
    [TOKEN_LOOKUP, "llm", ...TOKEN_LOOKUP_OLD_NAMES],
    TOKEN_LOOKUP,
  ),
  scorer: names(
    "classification scorers after the simulation score (default: detection,fuzzing with llm; detection with " +
      `${TOKEN_LOOKUP}, whose fuzzing judge accepts almost any highlighting and so sits at chance)`,
    { choices: CLASSIFIERS },
  ),
  llm: flag("explain and simulate with an OpenAI-compatible endpoint (same as --backend llm)"),
  llmModel: text("model name for the endpoint (default: $OPENAI_MODEL or gpt-4o-mini)"),
  baseUrl: text("endpoint root, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL, else OpenAI's)"),
  concurrency: int("requests in flight", { default: 4, min: 1 }),
  timeoutSeconds: num("seconds before a request is given up", { default: 60, positive: true }),
  retries: int("retries of a failed request", { default: 5, min: 0 }),
  priceInput: num("dollars per million prompt tokens, for the tally", { default: 0, min: 0 }),
  priceOutput: num("dollars per million completion tokens, for the tally", { default: 0, min: 0 }),
  jsonMode: flag("ask the endpoint for JSON responses"),
  topLogprobs: int("llm: alternatives asked for per simulated value (0 for endpoints that refuse logprobs)", {
    default: 15,
    min: 0,
  }),
  explainTop: int("llm: top fragments the explainer is shown (Bills et al.: 5)", {
    default: BILLS_EXPLAIN_TOP,
    min: 1,
  }),
});

type ScoreConfig = v.InferOutput<typeof scoreSchema>;

async function scoreRun(ctx: RunContext, config: ScoreConfig): Promise<StageResult> {
  const deps = ctx;
  const { features, seed, fragmentLength: length } = config;
  const maxFragments = config.fragments;
  if (TOKEN_LOOKUP_OLD_NAMES.includes(config.backend)) {
    deps.log.warn(
      `score: --backend ${config.backend} is the old name of ${TOKEN_LOOKUP}; scoring with ${TOKEN_LOOKUP}`,
    );
  }
  const backendName = config.llm ? "llm" : config.backend;
  const run = ctx.run!;
  const entries = await chooseDicts(deps, run, config.dicts);
  const backend = backendName === "llm"
    ? makeLlmBackend(config, deps)
    : { backend: tokenLookupBackend(), client: null };
  const store = await runStore(run, "score");
  const featuresDir = run.path(RUN_FILES.features);
  const common = {
    store: store.manifest.configHash,
    heldOut: store.rows("heldout"),
    seed,
    features,
    maxFragments,
    length,
  };
  const key = hashJson(common);
  const ready = new Map<string, Omit<StoredSamples, "sampling">>();
  const stale: DictEntry[] = [];
  const weights = new Map<string, string>();
  for (const e of entries) {
    weights.set(e.name, await weightsHash(run, e));
    const stored = await readFeatureFiles(featuresDir, e.name);
    if (stored && stored.sampling.key === key && stored.sampling.weights === weights.get(e.name)) {
      ready.set(e.name, { samples: stored.samples, previous: stored.previous });
    } else stale.push(e);
  }
  if (ready.size) deps.log.info(`score: reusing the sampled activations of ${[...ready.keys()].join(", ")}`);
  // the atlas (every feature's statistics and fragments) is kept while the samples are, when it was written
  const atlases = new Map<string, { topTokens: Map<number, string[]>; atlasShard: number }>();
  for (const name of ready.keys()) {
    const kept = await storedAtlas(featuresDir, name);
    if (kept) atlases.set(name, kept);
  }
  const noAtlas = entries.filter((e) => !atlases.has(e.name));
  const readout = await runReadout(run, deps);
  // logit effects of every feature, from the atlas pass when it ran (else computed for the scored features only)
  const atlasLogits = new Map<string, Map<number, LogitEffects>>();
  const t0 = performance.now();
  let tAtlas = t0, atlasSeconds = 0;
  if (noAtlas.length) {
    const prepared = await prepareDicts(run, noAtlas, { ctx, store, maxFragments, length, seed });
    const sampling = prepared.dicts.filter((d) => stale.some((e) => e.name === d.name));
    const sampled = sampling.length
      ? await sampleDictionaries(prepared.gpu, sampling, { ...prepared.options, features, seed })
      : [];
    for (const s of sampled) ready.set(s.dict, { samples: s, previous: new Map() });
    tAtlas = performance.now();
    const built = await atlasDictionaries(prepared.gpu, prepared.dicts, {
      ...prepared.options,
      seed,
      unembed: readout?.unembed,
      onProgress: (e) => deps.progress({ ...e, label: `score: ${e.label}`, unit: "feat" }),
    });
    for (const a of built) {
      const withLogits = a.entries.flatMap((x) => (x.logits ? [[x.index, x.logits] as const] : []));
      if (withLogits.length) atlasLogits.set(a.dict, new Map(withLogits));
      const atlasShard = await writeAtlasFiles(featuresDir, a);
      atlases.set(a.dict, {
        topTokens: new Map(a.entries.map((x) => [x.index, x.topTokens.map((t) => t.token)])),
        atlasShard,
      });
    }
    atlasSeconds = (performance.now() - tAtlas) / 1000;
    const total = built.reduce((n, a) => n + a.entries.length, 0);
    deps.log.info(
      `score: wrote the atlas of all ${total} features of ${built.map((a) => a.dict).join(", ")} ` +
        `(${prepared.options.set.count} held-out fragments of ${length} tokens)`,
    );
  }
  const t1 = performance.now();
  let scoring = 0, writing = 0;
  const results: Record<string, DictScoreDetail> = {};
  for (const e of entries) {
    const { samples, previous } = ready.get(e.name)!;
    const label = `score ${e.name}`;
    const s0 = performance.now();
    const scores = await scoreFeatures(samples.samples, backend.backend, {
      seed,
      scorers: config.scorer ?? (backendName === "llm" ? [...CLASSIFIERS] : ["detection"]),
      concurrency: config.concurrency,
      signal: deps.signal,
      onProgress: (done, total) => deps.progress({ label, done, total, unit: "feat" }),
    });
    const s1 = performance.now();
    scoring += s1 - s0;
    await writeFeatureFiles(featuresDir, samples, {
      scores,
      previous,
      sampling: { key, weights: weights.get(e.name), ...common },
      logits: atlasLogits.get(e.name) ??
        (readout ? await featureLogits(readout, folderOf(run, e), samples.samples.map((f) => f.index)) : undefined),
      ...atlases.get(e.name),
    });
    writing += performance.now() - s1;
    results[e.name] = summarizeScores(scores, {
      kind: samples.kind,
      method: samples.method,
      backend: backend.backend.name,
      eligible: samples.eligible,
      seed,
    });
    const failed = scores.filter((s) => s.error).map((s) => s.error!);
    if (failed.length) deps.log.debug(`score ${e.name}: ${failed.length} features not scored, e.g. ${failed[0]}`);
  }
  const file = await mergeScores(run.dir, results);
  deps.log.debug(
    `score: activations and sampling ${((t1 - t0) / 1000 - atlasSeconds).toFixed(1)}s (${stale.length} ` +
      `dictionaries), atlas ${atlasSeconds.toFixed(1)}s, ` +
      `explaining and scoring ${(scoring / 1000).toFixed(1)}s, writing ${(writing / 1000).toFixed(1)}s`,
  );
  if (backend.client) {
    const t = backend.client.tally;
    deps.log.info(
      `score: ${t.requests} requests (${t.cacheHits} from the cache, ${t.retries} retries), ${t.promptTokens} + ` +
        `${t.completionTokens} tokens, $${t.cost.toFixed(4)}`,
    );
  }
  const shown = file.backends?.[backend.backend.name] ?? {};
  const table = Object.keys(results).map((name) => {
    const r = shown[name] ?? results[name];
    const fuzz = r.fuzzing ? `, fuzzing ${r.fuzzing.balancedAccuracy.mean.toFixed(3)}` : "";
    return `${name} ${r.mean.toFixed(3)} [${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}] n=${r.n}${fuzz}: ` +
      (r.verdict ?? "no verdict");
  });
  const measures = results[Object.keys(results)[0]]?.measures;
  deps.log.info(
    `score (${backend.backend.name}):\n  ${table.join("\n  ")}${measures ? `\n  ${measures}` : ""}`,
  );
  return {
    runId: run.id,
    message: `Scored ${entries.length} dictionaries of run ${run.id} with ${backend.backend.name}`,
  };
}

/** The `score` stage. */
export const scoreStage = defineStage({ name: "score", schema: scoreSchema, target: HAS_STORE, run: scoreRun });

async function chooseDicts(deps: StageDeps, run: RunHandle, names: string[] | undefined): Promise<DictEntry[]> {
  const hookOf = (e: DictEntry) =>
    e.cfg.status === "ok" ? e.cfg.value.hook_name ?? e.cfg.value.metadata?.hook_name : null;
  const all = (await listDicts(deps.runsDir, run.id)).filter((e) => {
    if (e.cfg.status !== "ok") return false;
    const hook = hookOf(e);
    if (hook && hook !== run.json.hook) {
      deps.log.warn(`score: leaving out ${e.name}: it reads ${hook}, not ${run.json.hook}`);
    }
    return !hook || hook === run.json.hook;
  });
  if (all.length === 0) {
    throw new TypeError(`Cannot score run ${run.id}: it has no dictionaries on ${run.json.hook} yet`);
  }
  // the references of every score: the random-direction and neuron baselines, scored with the same backend
  const methodOf = (e: DictEntry) =>
    (e.eval.status === "ok" ? e.eval.value.method : undefined) ??
      (e.cfg.status === "ok" ? e.cfg.value.method : undefined);
  const isReference = (e: DictEntry) => e.kind === "baseline" && REFERENCE_METHODS.includes(methodOf(e) ?? "");
  const absent = REFERENCE_METHODS.filter((m) => !all.some((e) => e.kind === "baseline" && methodOf(e) === m));
  if (absent.length) {
    deps.log.warn(
      `score: run ${run.id} has no ${absent.join(" or ")} baseline, so its scores lack that reference ` +
        "(deno task baselines fits it)",
    );
  }
  if (!names) return all;
  const missing = names.filter((n) => !all.some((e) => e.name === n));
  if (missing.length) {
    throw new TypeError(
      `Cannot score ${missing.join(", ")}: run ${run.id} has no such dictionary (it has ${
        all.map((e) => e.name).join(", ")
      })`,
    );
  }
  return all.filter((e) => names.includes(e.name) || isReference(e));
}

/** The baselines every score is compared with. */
const REFERENCE_METHODS = ["random", "neurons"];

function folderOf(run: RunHandle, e: DictEntry): string {
  return run.path(e.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines, e.name);
}

async function weightsHash(run: RunHandle, e: DictEntry): Promise<string> {
  const dir = folderOf(run, e);
  const h = createHash("sha256");
  h.update(await Deno.readFile(join(dir, RUN_FILES.cfg)));
  h.update(await Deno.readFile(join(dir, RUN_FILES.weights)));
  return h.digest("hex");
}

/** Load the dictionaries and cut the held-out fragments that sampling and the atlas read. */
async function prepareDicts(
  run: RunHandle,
  chosen: DictEntry[],
  o: {
    ctx: RunContext;
    store: Awaited<ReturnType<typeof runStore>>;
    maxFragments: number;
    length: number;
    seed: number;
  },
) {
  const { ctx: deps, store } = o;
  const dicts: LinearDictionary[] = [];
  for (const e of chosen) dicts.push(await loadDictionary(folderOf(run, e), { name: e.name, kind: e.kind }));
  const wrong = dicts.find((d) => d.dIn !== store.d);
  if (wrong) throw new TypeError(`Cannot score ${wrong.name}: it reads width ${wrong.dIn}, the store holds ${store.d}`);
  let split: "heldout" | "train" = "heldout";
  if (store.rows("heldout") === 0) {
    deps.log.warn("score: the store has no held-out rows; fragments come from training rows");
    split = "train";
  }
  const rows = await readSplit(store, split, o.maxFragments * o.length * 2);
  const set = buildFragments(rows, { length: o.length, maxFragments: o.maxFragments, seed: o.seed });
  if (set.count === 0) throw new TypeError(`Cannot score run ${run.id}: no ${o.length}-token run of held-out text`);
  const decode = await tokenDecoder(run, deps);
  const gpu = await o.ctx.gpu();
  return {
    gpu,
    dicts,
    options: {
      set,
      decode,
      documents: store.documents,
      signal: deps.signal,
      onProgress: (e: { label: string; done: number; total: number }) =>
        deps.progress({ ...e, label: `score: ${e.label}`, unit: "frag" }),
    },
  };
}

function makeLlmBackend(config: ScoreConfig, deps: StageDeps): { backend: Backend; client: ChatClient } {
  const env = deps.env ?? {};
  const client = new ChatClient({
    baseUrl: config.baseUrl ?? env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    model: config.llmModel ?? env.OPENAI_MODEL ?? "gpt-4o-mini",
    apiKey: env.OPENAI_API_KEY,
    concurrency: config.concurrency,
    timeoutMs: config.timeoutSeconds * 1000,
    maxRetries: config.retries,
    jsonMode: config.jsonMode,
    prices: { input: config.priceInput, output: config.priceOutput },
    cacheDir: join(deps.runsDir, ".cache", "llm"),
  });
  const backend = llmBackend(client, {
    signal: deps.signal,
    topLogprobs: config.topLogprobs,
    explainTop: config.explainTop,
  });
  return { backend, client };
}

/**
 * {@linkcode scoreStage} as one command, on a given GPU context (left open), so that callers and tests reuse one
 * device.
 *
 * @param config Configuration (see {@linkcode scoreSchema}).
 * @param deps Runs folder, progress, abort signal, logger, environment.
 * @param options The GPU context (default: a new one when activations must be computed).
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await score({ run: "sweep-1", features: 50 }, deps, { gpu });
 * ```
 */
export const score: StageFunction = stageFunction(scoreStage);
