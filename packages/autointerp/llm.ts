/**
 * The LLM backend: explainer, simulator and detector that ask an
 * OpenAI-compatible chat endpoint ({@linkcode ChatClient}). An answer that
 * fails the strict parser is sent back once more with what was wrong (up to
 * `parseRetries` times) before the feature is recorded as failed.
 *
 * @module
 */
import type { ChatClient, ChatMessage } from "./client.ts";
import {
  detectMessages,
  explainMessages,
  parseDetection,
  ParseError,
  parseExplanation,
  parseSimulation,
  simulateMessages,
} from "./prompts.ts";
import type { Backend } from "./types.ts";

/** Options of {@linkcode llmBackend}. */
export interface LlmBackendOptions {
  /** Backend name recorded with scores. Default `"openai:<model>"`. */
  name?: string;
  /** Corrections asked for after an unparseable answer. Default 2. */
  parseRetries?: number;
  /** Aborts requests in flight. */
  signal?: AbortSignal;
}

/**
 * Explainer, simulator and detector over a chat client.
 *
 * @param client The chat client (endpoint, model, limits, cache).
 * @param options Name, parse retries, abort signal.
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
  const ask = async <T>(messages: ChatMessage[], parse: (content: string) => T, json: boolean): Promise<T> => {
    const conversation = [...messages];
    for (let attempt = 0;; attempt++) {
      const { content } = await client.chat(conversation, { json, signal: options.signal });
      try {
        return parse(content);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        if (attempt >= retries) {
          throw new Error(`unusable answer after ${attempt + 1} tries: ${e.message}`);
        }
        conversation.push(
          { role: "assistant", content },
          { role: "user", content: `That answer could not be used: ${e.message}. Answer again in the required form.` },
        );
      }
    }
  };
  return {
    name,
    explainer: {
      name,
      explain: async (fragments) => ({ text: await ask(explainMessages(fragments), parseExplanation, false) }),
    },
    simulator: {
      name,
      simulate: (e, fragments) =>
        ask(
          simulateMessages(e.text, fragments),
          (c) => parseSimulation(c, fragments.map((f) => f.tokens.length)),
          true,
        ),
    },
    detector: {
      name,
      detect: (e, fragments) =>
        ask(detectMessages(e.text, fragments), (c) => parseDetection(c, fragments.length), true),
    },
  };
}
