import assert from "node:assert/strict";
import {
  ChatClient,
  discretise,
  expectedValues,
  EXPLANATION_PREFIX,
  type FeatureSample,
  llmBackend,
  parseSimulation,
  scoreFeature,
  splitSample,
} from "@saelab/autointerp";
import { onCat, plantedSamples, randomText } from "./_synthetic.ts";

interface Body {
  messages: { role: string; content: string }[];
  logprobs?: boolean;
  top_logprobs?: number;
}
type Script = (body: Body) => Record<string, unknown>;

/** A chat-completions server on 127.0.0.1 (port 0) answering from `script`; refuses past `limit` requests. */
async function withServer(limit: number, script: Script, fn: (url: string, bodies: Body[]) => Promise<void>) {
  const bodies: Body[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (new URL(req.url).pathname !== "/v1/chat/completions") return new Response("no such path", { status: 404 });
    const body = await req.json() as Body;
    bodies.push(body);
    if (bodies.length > limit) return new Response(`more than ${limit} requests`, { status: 400 });
    return Response.json(script(body));
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/v1`, bodies);
  } finally {
    await server.shutdown();
  }
}

const client = (url: string) => new ChatClient({ baseUrl: url, model: "m", timeoutMs: 5000, maxRetries: 0 });
const choice = (content: string, logprobs?: unknown) => ({
  choices: [{ message: { role: "assistant", content }, ...(logprobs ? { logprobs: { content: logprobs } } : {}) }],
  usage: { prompt_tokens: 1, completion_tokens: 1 },
});
const question = (body: Body) => body.messages[body.messages.length - 1].content;
const isSimulation = (body: Body) => body.messages[0].content.includes("predict how it will fire");
const isExplanation = (body: Body) => body.messages[0].content.includes("summarize in a single sentence");
const isFuzzing = (body: Body) => body.messages[0].content.includes("<< and >>");

/** The tokens of the fragment a simulation request asks about (the last `<start>` block's `unknown` lines). */
function askedTokens(body: Body): string[] {
  const q = question(body);
  const block = q.slice(q.lastIndexOf("<start>\n") + "<start>\n".length, q.lastIndexOf("<end>"));
  return block.split("\n").filter((l) => l !== "").map((l) => l.slice(0, l.lastIndexOf("\tunknown")));
}

// the scripted simulator's distributions: " cat" → {10: 0.6, 8: 0.3, "x": 0.1}, other tokens → {0: 0.9, 1: 0.1}
const CAT: [string, number][] = [["10", 0.6], ["8", 0.3], ["x", 0.1]];
const OTHER: [string, number][] = [["0", 0.9], ["1", 0.1]];
const CAT_EV = (10 * 0.6 + 8 * 0.3) / 0.9; // renormalised over the 0–10 tokens: 28/3
const OTHER_EV = (0 * 0.9 + 1 * 0.1) / 1.0;

/** Answer a simulation with the sampled (most likely) value per token, and optionally the log-probabilities. */
function simulation(body: Body, withLogprobs: boolean) {
  const tokens = askedTokens(body);
  const pieces: { token: string; top: [string, number][] }[] = [{ token: "<start>\n", top: [["<start>\n", 1]] }];
  for (const t of tokens) {
    const dist = t === " cat" ? CAT : OTHER;
    pieces.push({ token: `${t}\t`, top: [[`${t}\t`, 1]] }, { token: dist[0][0], top: dist }, {
      token: "\n",
      top: [["\n", 1]],
    });
  }
  pieces.push({ token: "<end>", top: [["<end>", 1]] });
  const content = pieces.map((p) => p.token).join("");
  const logprobs = pieces.map((p) => ({
    token: p.token,
    logprob: Math.log(p.top[0][1]),
    top_logprobs: p.top.map(([token, prob]) => ({ token, logprob: Math.log(prob) })),
  }));
  return choice(content, withLogprobs ? logprobs : undefined);
}

/** A float64 Pearson correlation written out here, independent of the package's. */
function pearson64(a: number[], b: number[]): number {
  const n = a.length, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

const cat: FeatureSample = plantedSamples(randomText(300, 16, 5), [onCat])[0];
const split = splitSample(cat);
const held = [...split.heldTop, ...split.heldRandom];

Deno.test("Bills et al. simulation: one request per fragment, expected values from logprobs match a hand computation", async () => {
  // one explanation, one simulation per held-out fragment (no detector, no fuzzing), one more fragment below
  const limit = 2 + held.length;
  await withServer(limit, (body) => {
    if (isExplanation(body)) return choice(" the word cat.");
    assert.ok(isSimulation(body), "only explanation and simulation requests");
    return simulation(body, true);
  }, async (url, bodies) => {
    const backend = llmBackend(client(url));
    const s = await scoreFeature(cat, { ...backend, detector: undefined }, { seed: 3 });
    assert.equal(s.error, undefined);
    assert.equal(bodies.length, 1 + held.length);
    const sims = bodies.filter(isSimulation);
    assert.equal(sims.length, held.length);
    // every fragment has its own request, and each asks for log-probabilities
    const asked = sims.map((b) => askedTokens(b).join("|")).sort();
    assert.deepEqual(asked, held.map((f) => f.tokens.join("|")).sort());
    for (const b of sims) assert.ok(b.logprobs === true && b.top_logprobs === 15, JSON.stringify(b).slice(0, 80));
    assert.equal(s.simulated!.length, held.length);
    assert.ok(s.simulated!.every((x) => x.method === "expected-value"));
    assert.equal(s.simulated!.filter((x) => x.role === "top").length, split.heldTop.length);
    // the score from the hand-computed expected values
    const sim = held.flatMap((f) => f.tokens.map((t) => (t === " cat" ? CAT_EV : OTHER_EV)));
    const act = held.flatMap((f) => f.acts);
    assert.ok(Math.abs(s.score! - pearson64(sim, act)) < 1e-9, `${s.score} vs ${pearson64(sim, act)}`);
    const tops = split.heldTop;
    const topSim = tops.flatMap((f) => f.tokens.map((t) => (t === " cat" ? CAT_EV : OTHER_EV)));
    assert.ok(Math.abs(s.topScore! - pearson64(topSim, tops.flatMap((f) => f.acts))) < 1e-9);
    // one fragment's values, token by token
    const one = await backend.simulator.simulateFragment!({ text: "cats" }, { tokens: [" a", " cat", " sat"] }, cat);
    assert.equal(one.method, "expected-value");
    [OTHER_EV, CAT_EV, OTHER_EV].forEach((v, i) => assert.ok(Math.abs(one.values[i] - v) < 1e-12, `${one.values}`));
  });
});

Deno.test("without logprobs from the endpoint, the sampled values are used and recorded as sampled", async () => {
  await withServer(
    20,
    (body) => isExplanation(body) ? choice(" the word cat.") : simulation(body, false),
    async (url) => {
      const backend = llmBackend(client(url));
      const one = await backend.simulator.simulateFragment!({ text: "cats" }, { tokens: [" a", " cat", " sat"] }, cat);
      assert.deepEqual(one, { values: [0, 10, 0], method: "sampled" });
      const s = await scoreFeature(cat, { ...backend, detector: undefined }, { seed: 3 });
      assert.ok(s.simulated!.every((x) => x.method === "sampled"));
      const sim = held.flatMap((f) => f.tokens.map((t) => (t === " cat" ? 10 : 0)));
      assert.ok(Math.abs(s.score! - pearson64(sim, held.flatMap((f) => f.acts))) < 1e-9);
    },
  );
});

Deno.test("prompt format: 5 top fragments explained in <start>/<end> blocks of token<TAB>0–10 lines, few-shot", async () => {
  await withServer(
    20,
    (body) => isExplanation(body) ? choice(" the word cat.") : simulation(body, false),
    async (url, bodies) => {
      await scoreFeature(cat, { ...llmBackend(client(url)), detector: undefined }, { seed: 3 });
      const explain = bodies.find(isExplanation)!;
      const messages = explain.messages;
      // system, two few-shot neurons (user + assistant), the neuron asked about
      assert.deepEqual(messages.map((m) => m.role), ["system", "user", "assistant", "user", "assistant", "user"]);
      const last = messages[5].content;
      assert.ok(last.startsWith("\n\nNeuron 3\nActivations:\n<start>\n"), last.slice(0, 60));
      assert.ok(last.endsWith(`Explanation of neuron 3 behavior: ${EXPLANATION_PREFIX}`));
      const blocks = last.split("Same activations, but with all zeros filtered out:")[0].match(
        /<start>\n[\s\S]*?<end>\n/g,
      )!;
      assert.equal(blocks.length, 5);
      const shown = split.explain.slice(0, 5);
      let max = 0;
      for (const f of shown) for (const a of f.acts) max = Math.max(max, a);
      blocks.forEach((b, i) => {
        const lines = b.split("\n").slice(1, -2);
        const want = discretise(shown[i].acts, max);
        assert.deepEqual(lines, shown[i].tokens.map((t, j) => `${t}\t${want[j]}`));
        // the protocol's discretisation, by hand: floor(10·a/max), at most 10
        assert.deepEqual(want, shown[i].acts.map((a) => Math.min(10, Math.floor(10 * a / max))));
      });
      const sim = bodies.find(isSimulation)!;
      assert.equal(
        sim.messages[1].content,
        `\n\nNeuron 1\nExplanation of neuron 1 behavior: ${EXPLANATION_PREFIX} plural nouns counted by a number word`,
      );
      assert.ok(
        sim.messages[2].content.startsWith("\nActivations: <start>\nThere\t0\n were\t0\n three\t0\n dogs\t8\n"),
      );
      const q = question(sim);
      assert.ok(
        q.includes(`Explanation of neuron 3 behavior: ${EXPLANATION_PREFIX} the word cat\nActivations: <start>\n`),
      );
      assert.ok(q.endsWith("\tunknown\n<end>\n"));
    },
  );
});

Deno.test("fuzzing: a scripted judge's balanced and per-class accuracy; 5 texts per request", async () => {
  const segments = (text: string) => [...text.matchAll(/<<(.*?)>>/g)].map((m) => m[1]);
  // judges correct when every highlighted run is made of " cat" and " dog" tokens (where onCat fires)
  const judge = (line: string) =>
    segments(JSON.parse(line.slice(line.indexOf(":") + 2))).every((s) => /^(?: cat| dog)+$/.test(s)) ? 1 : 0;
  // then a judge that calls everything correct, then one that accepts " cat" runs only
  let mode: "strict" | "lenient" | "cat-only" = "strict";
  await withServer(200, (body) => {
    if (isExplanation(body)) return choice(" the word cat.");
    if (isSimulation(body)) return simulation(body, false);
    assert.ok(isFuzzing(body), "explanation, simulation and fuzzing requests only");
    const texts = question(body).split("\n").filter((l) => l.startsWith("Text "));
    const catOnly = (t: string) =>
      segments(JSON.parse(t.slice(t.indexOf(":") + 2))).every((x) => /^(?: cat)+$/.test(x)) ? 1 : 0;
    return choice(JSON.stringify({
      answers: texts.map((t) => (mode === "lenient" ? 1 : mode === "cat-only" ? catOnly(t) : judge(t))),
    }));
  }, async (url, bodies) => {
    const backend = { ...llmBackend(client(url)), detector: undefined };
    const s = await scoreFeature(cat, backend, { seed: 3, scorers: ["fuzzing"] });
    assert.equal(s.error, undefined);
    const f = s.fuzzing!;
    // every held-out fragment is shown correctly highlighted and highlighted at random tokens
    assert.equal(f.nCorrect, held.length);
    assert.equal(f.nFuzzed, held.length);
    const fuzz = bodies.filter(isFuzzing);
    assert.equal(fuzz.length, Math.ceil((2 * held.length) / 5));
    assert.equal(f.correctAccuracy, 1);
    // a fuzzed item passes this judge only when its random tokens are all " cat"/" dog", which they cannot be
    // (random tokens are drawn among the non-activating ones)
    assert.equal(f.fuzzedAccuracy, 1);
    assert.equal(f.balancedAccuracy, 1);
    mode = "lenient";
    const l = (await scoreFeature(cat, backend, { seed: 4, scorers: ["fuzzing"] })).fuzzing!;
    assert.deepEqual([l.correctAccuracy, l.fuzzedAccuracy, l.balancedAccuracy], [1, 0, 0.5]);
    mode = "cat-only";
    const c = (await scoreFeature(cat, backend, { seed: 5, scorers: ["fuzzing"] })).fuzzing!;
    // correctly highlighted fragments pass only where no " dog" fires; by hand:
    const noDog = held.filter((f) => !f.tokens.some((t, i) => t === " dog" && f.acts[i] > 0)).length / held.length;
    assert.ok(noDog < 1, 'the fixture has fragments where " dog" fires');
    assert.equal(c.correctAccuracy, noDog);
    assert.equal(c.fuzzedAccuracy, 1);
    assert.equal(c.balancedAccuracy, (noDog + 1) / 2);
  });
});

Deno.test("the client sends logprobs/top_logprobs when asked and caches the log-probabilities with the answer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llm-cache-" });
  try {
    await withServer(
      2,
      (body) => simulation({ ...body, messages: [{ role: "user", content: "<start>\n cat\tunknown\n<end>" }] }, true),
      async (url, bodies) => {
        const c = new ChatClient({ baseUrl: url, model: "m", cacheDir: dir, maxRetries: 0 });
        const first = await c.chat([{ role: "user", content: "q" }], { topLogprobs: 5 });
        assert.equal(bodies[0].logprobs, true);
        assert.equal(bodies[0].top_logprobs, 5);
        assert.equal(first.content, "<start>\n cat\t10\n<end>");
        assert.deepEqual(first.logprobs![2].top.map((t) => t.token), ["10", "8", "x"]);
        const again = await new ChatClient({ baseUrl: url, model: "m", cacheDir: dir }).chat(
          [{ role: "user", content: "q" }],
          { topLogprobs: 5 },
        );
        assert.deepEqual(again, { ...first, cached: true });
        assert.equal(bodies.length, 1);
        const plain = await c.chat([{ role: "user", content: "q" }]);
        assert.equal(bodies[1].logprobs, undefined, "no logprobs unless asked");
        assert.equal(plain.cached, false);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expected values fall back (null) when the tokens do not spell the answer or a value spans two tokens", () => {
  const tok = (token: string, top: [string, number][] = [[token, 1]]) => ({
    token,
    logprob: Math.log(top[0][1]),
    top: top.map(([t, p]) => ({ token: t, logprob: Math.log(p) })),
  });
  const content = "<start>\n cat\t10\n the\t0\n<end>";
  const whole = [
    tok("<start>\n cat\t"),
    tok("10", [["10", 0.5], ["9", 0.5]]),
    tok("\n the\t"),
    tok("0"),
    tok("\n<end>"),
  ];
  assert.deepEqual(expectedValues(content, whole, 2), [9.5, 0]);
  const split = [
    tok("<start>\n cat\t"),
    tok("1", [["1", 0.7], ["2", 0.3]]),
    tok("0"),
    tok("\n the\t"),
    tok("0"),
    tok("\n<end>"),
  ];
  assert.equal(expectedValues(content, split, 2), null);
  assert.equal(expectedValues(content, whole.slice(1), 2), null, "tokens that do not spell the answer");
  assert.equal(
    expectedValues(content, [...whole.slice(0, 3), tok("0", [["0", 1], ["x", 0]]), tok("\n<end>")], 2)![1],
    0,
  );
  const noDigits = [...whole.slice(0, 3), tok("0", [["zero", 1]]), tok("\n<end>")];
  assert.equal(expectedValues(content, noDigits, 2), null, "no 0–10 alternative listed");
  assert.throws(() => parseSimulation(content, 3), /2 token lines, expected 3/);
  assert.throws(() => parseSimulation("<start>\n cat\t11\n the\t0\n<end>", 2), /not an integer from 0 to 10/);
});
