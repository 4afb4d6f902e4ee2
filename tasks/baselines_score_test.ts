import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "hono";
import { harvest, type HookedModel } from "@saelab/activations";
import { LinearDictionary, saveDictionary } from "@saelab/baselines";
import { loadDocuments, makeWindows, memorySource, seededRandom, tokenizeDocuments } from "@saelab/corpus";
import { createGpu, type Gpu } from "@saelab/gpu";
import {
  createRun,
  listDicts,
  readFeature,
  readFeatureAtlas,
  readFeatureIndex,
  readJson,
  RUN_FILES,
  type ScoresJson,
  type StageDeps,
} from "@saelab/runs";
import type { FeatureDetail, Fragment } from "@saelab/runs";
import { baselines } from "./baselines.ts";
import { score } from "./score.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const D = 8, V = 24, HOOK = "blocks.0.hook_resid_post";
const random = seededRandom(1);
const embed = Float32Array.from({ length: V * D }, () => random() * 2 - 1);

/** A stand-in model whose residual is E[token] + 0.5·E[previous token]. */
function fakeModel(g: Gpu): HookedModel {
  return {
    gpu: g,
    config: { hiddenSize: D, numLayers: 1 },
    forward(ids, opts = {}) {
      const B = ids.length, T = ids[0].length;
      const x = new Float32Array(B * T * D);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let k = 0; k < D; k++) {
            const prev = t > 0 ? embed[ids[b][t - 1] * D + k] : 0;
            x[(b * T + t) * D + k] = embed[ids[b][t] * D + k] + 0.5 * prev;
          }
        }
      }
      const hook = opts.hooks?.[HOOK];
      const out = g.upload(x, [B, T, D], "fake.resid");
      if (hook) {
        hook.read(HOOK, hook.keep ? g.upload(x, [B, T, D], "fake.kept") : out);
      }
      return out;
    },
  };
}

function deps(runsDir: string, env: Record<string, string> = {}): StageDeps & { messages: string[] } {
  const messages: string[] = [];
  return {
    runsDir,
    progress: () => {},
    signal: new AbortController().signal,
    log: { info: (m) => messages.push(m), warn: (m) => messages.push(m), debug: () => {} },
    verbose: false,
    env,
    messages,
  };
}

/** A run folder with a harvested store and one SAE (random weights) with an eval.json. */
async function makeRun(runsDir: string): Promise<string> {
  const id = "t1";
  await createRun(runsDir, {
    id,
    config: {},
    model: { name: "fake", path: null, isDefaultModel: false },
    hook: HOOK,
  });
  const texts: Record<string, string> = {};
  for (let i = 0; i < 24; i++) {
    texts[`doc${i}`] = Array.from({ length: 300 }, () => String.fromCharCode(97 + Math.floor(random() * V))).join("");
  }
  const docs = await loadDocuments([memorySource("mem", texts)]);
  const chars = { encode: (t: string) => Array.from(t, (c) => (c.charCodeAt(0) - 97) % V) };
  const windows = makeWindows(tokenizeDocuments(docs, chars), { contextLength: 32 }).shuffle(2);
  await harvest(fakeModel(gpu), windows, {
    hook: HOOK,
    dir: join(runsDir, id, "activations"),
    batchSize: 16,
    heldOutFraction: 0.3,
    chunkRows: 2048,
  });
  const F = 16;
  const sae = new LinearDictionary({
    name: "sae_r2",
    kind: "sae",
    dIn: D,
    dDict: F,
    encoder: Float32Array.from({ length: F * D }, () => random() * 2 - 1),
    encoderBias: new Float32Array(F).fill(-0.5),
    decoder: Float32Array.from({ length: F * D }, () => random() * 2 - 1),
    decoderBias: new Float32Array(D),
  });
  const dir = join(runsDir, id, RUN_FILES.saes, "sae_r2");
  await saveDictionary(dir, sae, { hookName: HOOK });
  await Deno.writeTextFile(
    join(dir, RUN_FILES.eval),
    JSON.stringify({ kind: "sae", method: "sae", dIn: D, dSae: F, fvu: 0.5, l0: 3.4, deadFraction: 0 }),
  );
  return id;
}

Deno.test("baselines and token-lookup scoring on a harvested run write files the run format accepts", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "runs-" });
  try {
    const id = await makeRun(runsDir);
    const d1 = deps(runsDir);
    const res = await baselines({ run: id, seed: 0 }, d1, { gpu });
    assert.match(res.message!, /pca \(16 features, FVU 0\.000/); // the ± split of every component is exact
    const dicts = await listDicts(runsDir, id);
    assert.deepEqual(dicts.map((e) => e.name), ["sae_r2", "ica", "ica_topk", "neurons", "pca", "pca_topk", "random"]);
    for (const e of dicts) {
      assert.equal(e.cfg.status, "ok", `${e.name} cfg`);
      assert.equal(e.eval.status, "ok", `${e.name} eval`);
    }
    const pcaTopk = dicts.find((e) => e.name === "pca_topk")!;
    assert.ok(pcaTopk.eval.status === "ok" && pcaTopk.eval.value.l0 <= 3 + 1e-9, "k = round(median SAE L0) = 3");
    // a second call keeps what is there
    const again = await baselines({ run: id, seed: 0 }, deps(runsDir), { gpu });
    assert.match(again.message!, /up to date/);

    const d2 = deps(runsDir);
    await score({ run: id, features: 6, seed: 0, scorer: ["detection", "fuzzing"] }, d2, { gpu });
    const scores = await readJson<ScoresJson>(runsDir, [id, RUN_FILES.scores], { kind: "scores" });
    assert.equal(scores.status, "ok");
    if (scores.status !== "ok") return;
    assert.deepEqual(Object.keys(scores.value.dicts).sort(), dicts.map((e) => e.name).sort());
    const { random: rnd, neurons } = scores.value.dicts;
    for (const [name, s] of Object.entries(scores.value.dicts)) {
      assert.equal(s.backend, "token-lookup");
      assert.match(s.measures!, /does not measure interpretability/);
      // every entry is read against the random-direction and neuron baselines of the same backend
      assert.deepEqual(s.references!.random, { dict: "random", mean: rnd.mean, ci95: rnd.ci95, n: rnd.n }, name);
      assert.deepEqual(s.references!.neurons, {
        dict: "neurons",
        mean: neurons.mean,
        ci95: neurons.ci95,
        n: neurons.n,
      });
      assert.ok(s.verdict, `${name} has a verdict`);
      assert.ok(s.fuzzing!.balancedAccuracy.n > 0, `${name} was fuzzed`);
    }
    assert.equal(rnd.verdict, "the random-direction reference");
    const log = d2.messages.find((m) => m.startsWith("score (token-lookup)"))!;
    assert.match(log, /sae_r2 [\d.]+ \[[\d.]+, [\d.]+\] n=\d+, fuzzing [\d.]+: /);
    assert.match(log, /does not measure interpretability/);
    const index = await readFeatureIndex(runsDir, id, "pca");
    assert.equal(index.status, "ok");
    if (index.status !== "ok") return;
    assert.equal(index.value.features.length, 16, "the index summarises every feature");
    assert.equal(index.value.sampled?.length, 6, "and lists the sampled ones");
    const stats = JSON.parse(await Deno.readTextFile(join(runsDir, id, RUN_FILES.features, "pca", "stats.json")));
    assert.equal(stats.density.length, 16);
    // every feature has an atlas entry, sampled or not, that agrees with the index
    for (let i = 0; i < 16; i++) {
      const a = await readFeatureAtlas(runsDir, id, { dict: "pca", index: i });
      assert.equal(a.status, "ok", `atlas of pca #${i}`);
      if (a.status !== "ok") continue;
      assert.equal(a.value.density, Number(index.value.features[i].density.toPrecision(4)));
      assert.equal(a.value.intervals.length, 4);
      if (a.value.top.length) assert.ok(a.value.top[0].tokens.length <= 25 && a.value.top[0].peak !== undefined);
      assert.deepEqual(index.value.features[i].topTokens ?? [], a.value.topTokens.map((t) => t.token));
    }
    assert.equal((await readFeatureAtlas(runsDir, id, { dict: "pca", index: 16 })).status, "missing");
    const scored = index.value.features.find((f) => f.score !== undefined)!;
    const detail = await readFeature(runsDir, id, { dict: "pca", index: scored.index });
    assert.equal(detail.status, "ok");
    if (detail.status === "ok") {
      assert.equal(detail.value.top[0].tokens.length, 64);
      assert.equal(detail.value.backend, "token-lookup");
      assert.ok(detail.value.results?.["token-lookup"]?.fuzzing, "the stored result keeps its fuzzing score");
      // each held-out fragment's simulated activations are kept beside the fragment they simulate
      const stored: FeatureDetail = detail.value;
      const held = stored.results!["token-lookup"].heldOut!;
      assert.ok(held.length > 0);
      for (const h of held) {
        const fr: Fragment = (h.role === "top" ? stored.top : stored.random)[h.at];
        assert.equal(h.simulated.length, fr.tokens.length);
      }
    }
    assert.ok(!d2.messages.some((m) => m.includes("reusing")));
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

/** The tokens a simulation request asks about: the `unknown` lines of its last `<start>` … `<end>` block. */
function askedTokens(question: string): string[] {
  const block = question.slice(question.lastIndexOf("<start>\n") + "<start>\n".length, question.lastIndexOf("<end>"));
  return block.split("\n").filter((l) => l !== "").map((l) => l.slice(0, l.lastIndexOf("\tunknown")));
}

Deno.test("LLM rescoring reuses the sampled activations, scores the references too and keeps both backends' results", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "runs-" });
  const app = new Hono();
  const kinds: Record<string, number> = {};
  const simulations: { tokens: number; topLogprobs: unknown }[] = [];
  const explained: number[] = [];
  app.post("/v1/chat/completions", async (c) => {
    const body = await c.req.json();
    const messages: { content: string }[] = body.messages;
    const system = messages[0].content, question = messages[messages.length - 1].content;
    let kind: string, content: string;
    if (system.includes("summarize in a single sentence")) {
      kind = "explain";
      explained.push(question.split("<start>").length - 1);
      content = " letters of the alphabet.";
    } else if (system.includes("predict how it will fire")) {
      kind = "simulate";
      const tokens = askedTokens(question);
      simulations.push({ tokens: tokens.length, topLogprobs: body.logprobs ? body.top_logprobs : undefined });
      content = `<start>\n${tokens.map((t, i) => `${t}\t${i % 3}`).join("\n")}\n<end>`;
    } else if (system.includes("<< and >>")) {
      kind = "fuzz";
      const texts = question.split("\n").filter((l: string) => l.startsWith("Text "));
      content = JSON.stringify({ answers: texts.map((_: string, i: number) => i % 2) });
    } else {
      assert.ok(system.includes("fires anywhere"), system.slice(0, 80));
      kind = "detect";
      content = JSON.stringify({
        answers: question.split("\n").filter((l: string) => l.startsWith("Text ")).map(() => 5),
      });
    }
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    return c.json({ choices: [{ message: { content } }], usage: { prompt_tokens: 100, completion_tokens: 10 } });
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    const id = await makeRun(runsDir);
    await baselines({ run: id, methods: ["pca", "random", "neurons"] }, deps(runsDir), { gpu });
    await score({ run: id, features: 4, dicts: ["pca"] }, deps(runsDir), { gpu });
    const env = { OPENAI_BASE_URL: `http://127.0.0.1:${server.addr.port}/v1`, OPENAI_API_KEY: "k" };
    const d = deps(runsDir, env);
    await score({ run: id, features: 4, dicts: ["pca"], backend: "llm", llmModel: "m" }, d); // no GPU given
    assert.ok(d.messages.some((m) => m.includes("reusing the sampled activations of neurons, pca, random")));
    // pca, neurons and random, 4 features each: one explanation per feature and one simulation per held-out fragment
    assert.equal(kinds.explain, 12);
    assert.ok(kinds.simulate >= 12 * 2, `simulations ${kinds.simulate}`);
    assert.ok(simulations.every((s) => s.tokens === 64 && s.topLogprobs === 15), "one 64-token fragment per request");
    assert.ok(kinds.fuzz >= 12, `fuzzing requests ${kinds.fuzz}`);
    const scores = JSON.parse(await Deno.readTextFile(join(runsDir, id, RUN_FILES.scores)));
    assert.deepEqual(Object.keys(scores.dicts).sort(), ["neurons", "pca", "random"]);
    assert.equal(scores.dicts.pca.backend, "openai:m");
    assert.deepEqual(Object.keys(scores.backends).sort(), ["openai:m", "token-lookup"]);
    assert.equal(scores.dicts.pca.references.random.mean, scores.backends["openai:m"].random.mean);
    assert.equal(scores.dicts.pca.references.neurons.dict, "neurons");
    assert.match(scores.dicts.pca.measures, /Bills et al/);
    assert.ok(scores.dicts.pca.fuzzing.balancedAccuracy.n > 0);
    assert.equal(
      scores.backends["token-lookup"].pca.references.random.mean,
      scores.backends["token-lookup"].random.mean,
    );
    const index = await readFeatureIndex(runsDir, id, "pca");
    assert.ok(index.status === "ok" && index.value.backend === "openai:m");
    const f = await readFeature(runsDir, id, { dict: "pca", index: index.value.sampled![0] });
    assert.ok(f.status === "ok", JSON.stringify(f));
    const result = f.value.results!["openai:m"];
    // the endpoint returned no log-probabilities: every fragment's values are the sampled ones, and say so
    assert.ok(result.simulated!.length > 0 && result.simulated!.every((x) => x.method === "sampled"));
    // identical requests (the same fragment under the same explanation) are answered from the cache
    const served = Object.values(kinds).reduce((a, b) => a + b, 0);
    assert.ok(d.messages.some((m) => m.startsWith(`score: ${served} requests (`)), d.messages.join("\n"));
    await assert.rejects(() => score({ run: id, dicts: ["nope"] }, deps(runsDir)), /has no such dictionary/);

    // --top-logprobs 0 (endpoints that refuse logprobs) asks for none; --explain-top sets the records explained
    simulations.length = 0;
    explained.length = 0;
    await score({ run: id, features: 4, dicts: ["pca"], llm: true, llmModel: "m", topLogprobs: 0, explainTop: 2 }, d);
    assert.ok(simulations.length > 0 && simulations.every((s) => s.topLogprobs === undefined));
    assert.ok(explained.length > 0 && explained.every((n) => n === 2), `records explained: ${explained}`);
    // a new sample of 4 leaves no detail file of the earlier sample behind
    const after = await readFeatureIndex(runsDir, id, "pca");
    assert.ok(after.status === "ok" && after.value.sampled?.length === 4);
    const details = [];
    for await (const e of Deno.readDir(join(runsDir, id, RUN_FILES.features, "pca"))) {
      if (/^\d+\.json$/.test(e.name)) details.push(Number(e.name.slice(0, -5)));
    }
    assert.deepEqual(details.sort((a, b) => a - b), after.value.sampled);
  } finally {
    await server.shutdown();
    await Deno.remove(runsDir, { recursive: true });
  }
});

Deno.test("score accepts --backend offline as the old name of token-lookup and says so", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "runs-" });
  try {
    const id = await makeRun(runsDir);
    const d = deps(runsDir);
    await score({ run: id, features: 3, backend: "offline" }, d, { gpu });
    assert.ok(d.messages.some((m) => m.includes("--backend offline is the old name of token-lookup")));
    assert.ok(d.messages.some((m) => m.includes("has no random or neurons baseline")));
    const scores = JSON.parse(await Deno.readTextFile(join(runsDir, id, RUN_FILES.scores)));
    assert.equal(scores.dicts.sae_r2.backend, "token-lookup");
    assert.equal(scores.dicts.sae_r2.references.random, null);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});
