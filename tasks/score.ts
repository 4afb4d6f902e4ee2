/**
 * Pipeline stage `score`: automatic interpretability of every dictionary of a run (SAE members and
 * baselines on the same hook), after Bills et al. as used by Cunningham et al. Held-out rows are cut
 * into 64-token fragments; every dictionary's activations on them are computed on the GPU; per
 * dictionary a seeded sample of features is explained and scored (simulation correlation, top-only,
 * random-only, detection accuracy and AUC); `features/<dict>/` gets the feature pages' data (with each
 * feature's direct logit effects when the hook is in the residual stream and the model folder is readable) and
 * `scores.json` the mean per dictionary with a bootstrap 95% interval.
 *
 * The GPU part is reused: when `features/<dict>/` was sampled with the same settings from the same
 * weights and store, only the explaining and scoring run again — so `--llm` rescoring after the main
 * job touches no activations.
 *
 * Config: `run` (default: the newest run with activations), `dicts` (default all), `features` (150),
 * `seed` (0), `fragments` (most held-out fragments, 1024), `fragmentLength` (64), `backend` (`offline` or
 * `llm`; `llm: true` is the same as `backend: "llm"`), and for the LLM: `baseUrl` (else `OPENAI_BASE_URL`,
 * else OpenAI's), `llmModel` (else `OPENAI_MODEL`, else `gpt-4o-mini`), the key from `OPENAI_API_KEY`,
 * `concurrency` (4), `timeoutSeconds` (60), `retries` (5), `priceInput`/`priceOutput` (dollars per million
 * tokens, for the tally), `jsonMode` (false). Responses are cached in `<runs>/.cache/llm/`.
 *
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { hashJson } from "@saelab/activations";
import {
  type Backend,
  buildFragments,
  ChatClient,
  type DictSamples,
  type DictScoreDetail,
  llmBackend,
  mergeScores,
  offlineBackend,
  readFeatureFiles,
  sampleDictionaries,
  scoreFeatures,
  type StoredResult,
  summarizeScores,
  writeFeatureFiles,
} from "@saelab/autointerp";
import { type LinearDictionary, loadDictionary } from "@saelab/baselines";
import { createGpu, type Gpu } from "@saelab/gpu";
import { type DictEntry, listDicts, RUN_FILES, type StageDeps, type StageResult } from "@saelab/runs";
import { Tokenizer } from "@saelab/tokenizer";
import {
  featureLogits,
  findRun,
  intOption,
  listOption,
  numberOption,
  readSplit,
  runReadout,
  runStore,
  type StageRun,
  withStageRecord,
} from "./_dict_stage.ts";

/**
 * Score the dictionaries of a run.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Runs folder, progress, abort signal, logger, and the `OPENAI_*` environment variables.
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await run({ run: "sweep-1", llm: true, llmModel: "gpt-4o-mini" }, deps);
 * ```
 */
export function run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult> {
  return score(config, deps);
}

/**
 * {@linkcode run} on a given GPU context (left open), so that callers and tests reuse one device.
 *
 * @param config Merged configuration.
 * @param deps Runs folder, progress, abort signal, logger, environment.
 * @param options The GPU context (default: a new one when activations must be computed).
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await score({ run: "sweep-1", features: 50 }, deps, { gpu });
 * ```
 */
export async function score(
  config: Record<string, unknown>,
  deps: StageDeps,
  options: { gpu?: Gpu } = {},
): Promise<StageResult> {
  const features = intOption(config, "features", 150);
  const seed = intOption(config, "seed", 0, 0);
  const maxFragments = intOption(config, "fragments", 1024);
  const length = intOption(config, "fragmentLength", 64);
  const backendName = config.llm === true ? "llm" : String(config.backend ?? "offline");
  if (backendName !== "offline" && backendName !== "llm") {
    throw new TypeError(`Invalid backend: ${JSON.stringify(backendName)} is not offline or llm`);
  }
  const run = await findRun(deps, config.run, "score");
  const entries = await chooseDicts(deps, run, listOption(config, "dicts", undefined));
  const backend = backendName === "llm" ? makeLlmBackend(config, deps) : { backend: offlineBackend(), client: null };
  return await withStageRecord(deps, run, "score", async () => {
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
    const ready = new Map<string, { samples: DictSamples; previous: Map<number, Record<string, StoredResult>> }>();
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
    const t0 = performance.now();
    if (stale.length) {
      const sampled = await sampleStale(run, stale, { ...options, deps, store, maxFragments, length, features, seed });
      for (const s of sampled) ready.set(s.dict, { samples: s, previous: new Map() });
    }
    const t1 = performance.now();
    let scoring = 0, writing = 0;
    const results: Record<string, DictScoreDetail> = {};
    const readout = await runReadout(run, deps);
    for (const e of entries) {
      const { samples, previous } = ready.get(e.name)!;
      const label = `score ${e.name}`;
      const s0 = performance.now();
      const scores = await scoreFeatures(samples.samples, backend.backend, {
        seed,
        concurrency: intOption(config, "concurrency", 4),
        signal: deps.signal,
        onProgress: (done, total) => deps.progress({ label, done, total, unit: "feat" }),
      });
      const s1 = performance.now();
      scoring += s1 - s0;
      await writeFeatureFiles(featuresDir, samples, {
        scores,
        previous,
        sampling: { key, weights: weights.get(e.name), ...common },
        logits: readout
          ? await featureLogits(readout, folderOf(run, e), samples.samples.map((f) => f.index))
          : undefined,
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
    await mergeScores(run.dir, results);
    deps.log.debug(
      `score: activations and sampling ${((t1 - t0) / 1000).toFixed(1)}s (${stale.length} dictionaries), ` +
        `explaining and scoring ${(scoring / 1000).toFixed(1)}s, writing ${(writing / 1000).toFixed(1)}s`,
    );
    if (backend.client) {
      const t = backend.client.tally;
      deps.log.info(
        `score: ${t.requests} requests (${t.cacheHits} from the cache, ${t.retries} retries), ${t.promptTokens} + ` +
          `${t.completionTokens} tokens, $${t.cost.toFixed(4)}`,
      );
    }
    const table = Object.entries(results)
      .map(([name, r]) => `${name} ${r.mean.toFixed(3)} [${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}] n=${r.n}`);
    deps.log.info(`score (${backend.backend.name}):\n  ${table.join("\n  ")}`);
    return {
      runId: run.id,
      message: `Scored ${entries.length} dictionaries of run ${run.id} with ${backend.backend.name}`,
    };
  });
}

async function chooseDicts(deps: StageDeps, run: StageRun, names: string[] | undefined): Promise<DictEntry[]> {
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
  if (!names) return all;
  const missing = names.filter((n) => !all.some((e) => e.name === n));
  if (missing.length) {
    throw new TypeError(
      `Cannot score ${missing.join(", ")}: run ${run.id} has no such dictionary (it has ${
        all.map((e) => e.name).join(", ")
      })`,
    );
  }
  return all.filter((e) => names.includes(e.name));
}

function folderOf(run: StageRun, e: DictEntry): string {
  return run.path(e.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines, e.name);
}

async function weightsHash(run: StageRun, e: DictEntry): Promise<string> {
  const dir = folderOf(run, e);
  const h = createHash("sha256");
  h.update(await Deno.readFile(join(dir, RUN_FILES.cfg)));
  h.update(await Deno.readFile(join(dir, RUN_FILES.weights)));
  return h.digest("hex");
}

async function sampleStale(
  run: StageRun,
  stale: DictEntry[],
  o: {
    gpu?: Gpu;
    deps: StageDeps;
    store: Awaited<ReturnType<typeof runStore>>;
    maxFragments: number;
    length: number;
    features: number;
    seed: number;
  },
): Promise<DictSamples[]> {
  const { deps, store } = o;
  const dicts: LinearDictionary[] = [];
  for (const e of stale) dicts.push(await loadDictionary(folderOf(run, e), { name: e.name, kind: e.kind }));
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
  const gpu = o.gpu ?? await createGpu();
  try {
    return await sampleDictionaries(gpu, dicts, {
      set,
      decode,
      documents: store.documents,
      features: o.features,
      seed: o.seed,
      signal: deps.signal,
      onProgress: (e) => deps.progress({ ...e, label: `score: ${e.label}`, unit: "frag" }),
    });
  } finally {
    if (!o.gpu) gpu.destroy();
  }
}

async function tokenDecoder(run: StageRun, deps: StageDeps): Promise<(id: number) => string> {
  const path = run.json.model.path;
  if (path) {
    try {
      const tok = await Tokenizer.fromFile(join(path, "tokenizer.json"));
      return (id) => tok.decode([id]);
    } catch (e) {
      deps.log.warn(`score: cannot read the tokenizer of ${path} (${e instanceof Error ? e.message : e})`);
    }
  }
  deps.log.warn("score: no tokenizer; fragments show token ids");
  return (id) => `⟨${id}⟩`;
}

function makeLlmBackend(config: Record<string, unknown>, deps: StageDeps): { backend: Backend; client: ChatClient } {
  const env = deps.env ?? {};
  const text = (
    key: string,
  ) => (typeof config[key] === "string" && config[key] !== "" ? config[key] as string : undefined);
  const price = (key: string) => (config[key] === undefined || config[key] === 0 ? 0 : numberOption(config, key, 0));
  const client = new ChatClient({
    baseUrl: text("baseUrl") ?? env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    model: text("llmModel") ?? env.OPENAI_MODEL ?? "gpt-4o-mini",
    apiKey: env.OPENAI_API_KEY,
    concurrency: intOption(config, "concurrency", 4),
    timeoutMs: numberOption(config, "timeoutSeconds", 60) * 1000,
    maxRetries: intOption(config, "retries", 5, 0),
    jsonMode: config.jsonMode === true,
    prices: { input: price("priceInput"), output: price("priceOutput") },
    cacheDir: join(deps.runsDir, ".cache", "llm"),
  });
  return { backend: llmBackend(client, { signal: deps.signal }), client };
}
