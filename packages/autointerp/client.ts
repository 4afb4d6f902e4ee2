/**
 * A client for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
 * llama.cpp's server, Ollama): `POST {baseUrl}/chat/completions`. It limits
 * the requests in flight, retries 429, 5xx, network errors and timeouts with
 * exponential back-off (honouring `Retry-After`), keeps every successful
 * answer in an on-disk cache keyed by the request, and tallies tokens and cost.
 * A request may ask for the answer tokens' log-probabilities (`logprobs: true`,
 * `top_logprobs: n`); endpoints that ignore the request give none back.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { writeTextAtomic } from "@saelab/core/fs";

/** One chat message. */
export interface ChatMessage {
  /** Who speaks. */
  role: "system" | "user" | "assistant";
  /** What is said. */
  content: string;
}

/** Settings of a {@linkcode ChatClient}. */
export interface ChatClientOptions {
  /** API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  /** Model name sent with each request. */
  model: string;
  /** Bearer token, when the endpoint needs one. */
  apiKey?: string;
  /** Sampling temperature. Default 0. */
  temperature?: number;
  /** Ask for a JSON object (`response_format: { type: "json_object" }`) on JSON requests. Default false. */
  jsonMode?: boolean;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Abandon a request after this many milliseconds (then retry). Default 60000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 5. */
  maxRetries?: number;
  /** First back-off delay; doubles per retry. Default 500 ms. */
  backoffMs?: number;
  /** Longest back-off delay. Default 30000 ms. */
  maxBackoffMs?: number;
  /** Folder of the response cache; no caching without it. */
  cacheDir?: string;
  /** US dollars per million prompt and completion tokens, for the cost tally. Default 0. */
  prices?: { input: number; output: number };
  /** The fetch to use (tests pass their own). Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** How to wait between retries (tests shorten it). Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What a client has spent so far. */
export interface Tally {
  /** Requests answered by the endpoint. */
  requests: number;
  /** Requests answered from the cache. */
  cacheHits: number;
  /** Attempts retried (429, 5xx, network error or timeout). */
  retries: number;
  /** Prompt tokens reported by the endpoint. */
  promptTokens: number;
  /** Completion tokens reported by the endpoint. */
  completionTokens: number;
  /** Dollars, from `prices`. */
  cost: number;
}

/** One answer token with its log-probability and the most likely alternatives at its position. */
export interface TokenLogprob {
  /** The token's text. */
  token: string;
  /** Its natural log-probability. */
  logprob: number;
  /** The most likely tokens at this position (the sampled one included), as the endpoint listed them. */
  top: { token: string; logprob: number }[];
}

/** An answer. */
export interface ChatAnswer {
  /** The assistant's text. */
  content: string;
  /** Per-token log-probabilities of the answer, when they were asked for and the endpoint returned them. */
  logprobs?: TokenLogprob[];
  /** Whether it came from the cache. */
  cached: boolean;
}

/** The endpoint answered in a way no retry will fix (4xx other than 429, or an unusable body). */
export class ChatError extends Error {
  /** HTTP status, when there was one. */
  readonly status?: number;

  /**
   * @param message What went wrong.
   * @param status HTTP status.
   */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "ChatError";
    this.status = status;
  }
}

class Retryable extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/**
 * An OpenAI-compatible chat client with a concurrency limit, retries, a cache and a tally.
 *
 * @example
 * ```ts ignore
 * import { ChatClient } from "@saelab/autointerp";
 * const client = new ChatClient({ baseUrl: "http://127.0.0.1:8000/v1", model: "llama", cacheDir: ".cache/llm" });
 * const { content } = await client.chat([{ role: "user", content: "Say hi" }]);
 * console.log(content, client.tally);
 * ```
 */
export class ChatClient {
  /** Settings with defaults filled in. */
  readonly options: Required<Omit<ChatClientOptions, "apiKey" | "cacheDir">> & ChatClientOptions;
  /** Spending so far. */
  readonly tally: Tally = { requests: 0, cacheHits: 0, retries: 0, promptTokens: 0, completionTokens: 0, cost: 0 };
  #active = 0;
  #waiting: (() => void)[] = [];

  /** @param options Endpoint, model and limits. */
  constructor(options: ChatClientOptions) {
    if (typeof options?.baseUrl !== "string" || !/^https?:\/\//.test(options.baseUrl)) {
      throw new TypeError(
        `Cannot create a chat client: baseUrl ${JSON.stringify(options?.baseUrl)} is not an http(s) URL`,
      );
    }
    if (typeof options.model !== "string" || options.model === "") {
      throw new TypeError("Cannot create a chat client: model must be a non-empty string");
    }
    this.options = {
      temperature: 0,
      jsonMode: false,
      concurrency: 4,
      timeoutMs: 60_000,
      maxRetries: 5,
      backoffMs: 500,
      maxBackoffMs: 30_000,
      prices: { input: 0, output: 0 },
      fetch: globalThis.fetch.bind(globalThis),
      sleep: defaultSleep,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
    };
  }

  /**
   * Send one chat request (or answer it from the cache).
   *
   * @param messages The conversation.
   * @param options `json` asks for a JSON object (with `jsonMode`); `maxTokens` caps the answer; `topLogprobs`
   *   asks for each answer token's log-probability and that many alternatives (OpenAI allows 0–20); `signal` aborts.
   * @returns The assistant's text (and log-probabilities, when asked for and given).
   * @throws {ChatError} On a 4xx other than 429, an unusable body, or when the retries run out.
   */
  async chat(
    messages: readonly ChatMessage[],
    options: { json?: boolean; maxTokens?: number; topLogprobs?: number; signal?: AbortSignal } = {},
  ): Promise<ChatAnswer> {
    const o = this.options;
    const body: Record<string, unknown> = { model: o.model, messages, temperature: o.temperature };
    if (options.maxTokens) body.max_tokens = options.maxTokens;
    if (options.topLogprobs !== undefined) {
      body.logprobs = true;
      body.top_logprobs = options.topLogprobs;
    }
    if (options.json && o.jsonMode) body.response_format = { type: "json_object" };
    const key = createHash("sha256").update(JSON.stringify([o.baseUrl, body])).digest("hex");
    const cached = await this.#cacheGet(key);
    if (cached !== null) {
      this.tally.cacheHits++;
      return { ...cached, cached: true };
    }
    await this.#acquire();
    try {
      for (let attempt = 0;; attempt++) {
        options.signal?.throwIfAborted();
        try {
          const answer = await this.#once(body, options.signal);
          await this.#cachePut(key, answer);
          return { ...answer, cached: false };
        } catch (e) {
          if (!(e instanceof Retryable)) throw e;
          if (attempt >= o.maxRetries) {
            throw new ChatError(`Cannot get an answer from ${o.baseUrl}: ${e.message} (after ${attempt + 1} attempts)`);
          }
          this.tally.retries++;
          const backoff = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
          await o.sleep(Math.max(backoff, e.retryAfterMs ?? 0), options.signal);
        }
      }
    } finally {
      this.#release();
    }
  }

  async #once(body: Record<string, unknown>, signal?: AbortSignal): Promise<Omit<ChatAnswer, "cached">> {
    const o = this.options;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Retryable(`no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
    let res: Response;
    let text: string;
    try {
      res = await o.fetch(`${o.baseUrl}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
      });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw new Retryable(`network error: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get("retry-after"));
      throw new Retryable(`HTTP ${res.status}`, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
    }
    if (!res.ok) {
      throw new ChatError(`The endpoint refused the request: HTTP ${res.status}: ${text.slice(0, 300)}`, res.status);
    }
    let parsed: {
      choices?: { message?: { content?: unknown }; logprobs?: { content?: unknown } | null }[];
      usage?: Record<string, unknown>;
    };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ChatError(`The endpoint's answer is not JSON: ${text.slice(0, 200)}`, res.status);
    }
    const content = parsed?.choices?.[0]?.message?.content;
    if (typeof content !== "string") {
      throw new ChatError(`The endpoint's answer has no choices[0].message.content: ${text.slice(0, 200)}`, res.status);
    }
    this.tally.requests++;
    const pt = Number(parsed.usage?.prompt_tokens ?? 0), ct = Number(parsed.usage?.completion_tokens ?? 0);
    if (Number.isFinite(pt) && Number.isFinite(ct)) {
      this.tally.promptTokens += pt;
      this.tally.completionTokens += ct;
      this.tally.cost += (pt * o.prices.input + ct * o.prices.output) / 1e6;
    }
    const logprobs = readLogprobs(parsed.choices?.[0]?.logprobs?.content);
    return logprobs ? { content, logprobs } : { content };
  }

  async #cacheGet(key: string): Promise<Omit<ChatAnswer, "cached"> | null> {
    if (!this.options.cacheDir) return null;
    try {
      const v = JSON.parse(await Deno.readTextFile(join(this.options.cacheDir, key.slice(0, 2), `${key}.json`)));
      if (typeof v?.content !== "string") return null;
      const logprobs = readLogprobs(v.logprobs);
      return logprobs ? { content: v.content, logprobs } : { content: v.content };
    } catch {
      return null;
    }
  }

  async #cachePut(key: string, answer: Omit<ChatAnswer, "cached">): Promise<void> {
    if (!this.options.cacheDir) return;
    const path = join(this.options.cacheDir, key.slice(0, 2), `${key}.json`);
    await writeTextAtomic(path, JSON.stringify({ model: this.options.model, ...answer }));
  }

  async #acquire(): Promise<void> {
    if (this.#active < this.options.concurrency) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.#active--;
  }
}

/**
 * Log-probabilities in either the endpoint's form (`[{token, logprob, top_logprobs: [{token, logprob}]}]`) or
 * the cache's (`top`); `undefined` when absent or malformed.
 */
function readLogprobs(v: unknown): TokenLogprob[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const out: TokenLogprob[] = [];
  for (const t of v) {
    const alts = t?.top_logprobs ?? t?.top;
    if (typeof t?.token !== "string" || typeof t.logprob !== "number" || !Array.isArray(alts)) return undefined;
    const top = alts.filter((a: unknown): a is { token: string; logprob: number } =>
      typeof (a as { token?: unknown })?.token === "string" && typeof (a as { logprob?: unknown }).logprob === "number"
    ).map((a) => ({ token: a.token, logprob: a.logprob }));
    out.push({ token: t.token, logprob: t.logprob, top });
  }
  return out;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
