/**
 * The LLM backend: explainer, simulator, detector and fuzzing judge that ask
 * an OpenAI-compatible chat endpoint ({@linkcode ChatClient}). The explainer
 * and simulator follow Bills et al. (2023): the explanation comes from the 5
 * largest top fragments it is given (the protocol's number; the scorer holds
 * out ranks 3, 7, … of the top 20, where Bills et al. interleave the top
 * records), each fragment is simulated in its own request, and a token's
 * simulated activation is the expected value over the 0–10 tokens'
 * probabilities where the endpoint returns log-probabilities (asked for with
 * `logprobs: true, top_logprobs`), else the sampled value; each fragment
 * records which (`method`). The prompts' format and their deviations are
 * described in `bills_prompts.ts`. The detector (after delphi) asks about all
 * its texts at once, the fuzzing judge about 5 per request. An answer that fails the strict
 * parser is sent back once more with what was wrong (up to `parseRetries`
 * times) before the feature is recorded as failed.
 *
 * @module
 */
import type { ChatAnswer, ChatClient, ChatMessage } from "./client.ts";
import { BILLS_EXPLAIN_TOP, explainMessages, simulateMessages } from "./bills_prompts.ts";
import { expectedValues, parseExplanation, parseSimulation } from "./bills_answers.ts";
import { detectMessages, fuzzMessages, parseDetection, ParseError, parseJudgements } from "./prompts.ts";
import type { Backend, Explanation, SimulatedFragment, TokenFragment } from "./types.ts";

/** Options of {@linkcode llmBackend}. */
export interface LlmBackendOptions {
  /** Backend name recorded with scores. Default `"openai:<model>"`. */
  name?: string;
  /** Corrections asked for after an unparseable answer. Default 2. */
  parseRetries?: number;
  /** Top fragments the explainer shows (the largest it is given). Default 5, as Bills et al. */
  explainTop?: number;
  /** Alternatives asked for at each answer token of a simulation (`top_logprobs`). Default 15; 0 asks for none. */
  topLogprobs?: number;
  /** Texts per fuzzing request. Default 5, as delphi. (Detection asks about all its texts at once.) */
  textsPerRequest?: number;
  /** Aborts requests in flight. */
  signal?: AbortSignal;
}

/**
 * Explainer, simulator, detector and fuzzing judge over a chat client.
 *
 * @param client The chat client (endpoint, model, limits, cache).
 * @param options Name, parse retries, explained fragments, log-probabilities, texts per request, abort signal.
 * @returns The backend.
 * @example
 * ```ts ignore
 * import { ChatClient, llmBackend, scoreFeatures } from "@saelab/autointerp";
 * const client = new ChatClient({ baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKey });
 * const scores = await scoreFeatures(samples, llmBackend(client));
 * console.log(client.tally);
 * ```
 */
export function llmBackend(client: ChatClient, options: LlmBackendOptions = {}): Backend {
  const name = options.name ?? `openai:${client.options.model}`;
  const retries = options.parseRetries ?? 2;
  const explainTop = options.explainTop ?? BILLS_EXPLAIN_TOP;
  const topLogprobs = options.topLogprobs ?? 15;
  const perRequest = Math.max(1, options.textsPerRequest ?? 5);
  const ask = async <T>(
    messages: ChatMessage[],
    parse: (answer: ChatAnswer) => T,
    chat: { json?: boolean; topLogprobs?: number } = {},
  ): Promise<T> => {
    const conversation = [...messages];
    for (let attempt = 0;; attempt++) {
      const answer = await client.chat(conversation, { ...chat, signal: options.signal });
      try {
        return parse(answer);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        if (attempt >= retries) {
          throw new Error(`unusable answer after ${attempt + 1} tries: ${e.message}`);
        }
        conversation.push(
          { role: "assistant", content: answer.content },
          { role: "user", content: `That answer could not be used: ${e.message}. Answer again in the required form.` },
        );
      }
    }
  };
  const simulateFragment = (e: Explanation, fragment: TokenFragment): Promise<SimulatedFragment> =>
    ask(simulateMessages(e.text, fragment), (answer) => {
      const n = fragment.tokens.length;
      const sampled = parseSimulation(answer.content, n);
      const ev = answer.logprobs ? expectedValues(answer.content, answer.logprobs, n) : null;
      return ev ? { values: ev, method: "expected-value" } : { values: sampled, method: "sampled" };
    }, topLogprobs > 0 ? { topLogprobs } : {});
  const batched = async <F>(fragments: readonly F[], one: (batch: F[]) => Promise<number[]>) => {
    const batches: F[][] = [];
    for (let i = 0; i < fragments.length; i += perRequest) batches.push(fragments.slice(i, i + perRequest));
    return (await Promise.all(batches.map(one))).flat();
  };
  return {
    name,
    explainer: {
      name,
      explain: async (fragments) => ({
        text: await ask(explainMessages(fragments.slice(0, explainTop)), (a) => parseExplanation(a.content)),
      }),
    },
    simulator: {
      name,
      simulate: async (e, fragments) =>
        (await Promise.all(fragments.map((f) => simulateFragment(e, f)))).map((s) => s.values),
      simulateFragment,
    },
    detector: {
      name,
      detect: (e, fragments) =>
        ask(detectMessages(e.text, fragments), (a) => parseDetection(a.content, fragments.length), { json: true }),
    },
    fuzzer: {
      name,
      judge: (e, fragments) =>
        batched(
          fragments,
          (batch) => ask(fuzzMessages(e.text, batch), (a) => parseJudgements(a.content, batch.length), { json: true }),
        ),
    },
  };
}
