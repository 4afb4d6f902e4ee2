/**
 * Loading a run's model, tokenizer and dictionaries from the report server, through the project's
 * loaders: `@saelab/neox/portable`'s `buildModel` (name and shape checks), `@saelab/dictionary/portable`'s
 * `loadDictionaryFrom` (cfg, dtype, shape, finiteness and SHA-256 checks), the tokenizer's `fromJSON`.
 * Weights are read by HTTP ranges ({@linkcode httpSource}).
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { buildModel, type NeoxModel, parseConfig, readerSource } from "@saelab/neox/portable";
import { type LinearDictionary, loadDictionaryFrom } from "@saelab/dictionary/portable";
import { openSafetensorsFrom } from "@saelab/safetensors/portable";
import { Tokenizer, type TokenizerJson } from "@saelab/tokenizer";
import { httpSource } from "./http_source.ts";
import type { LiveConfig, LiveDict } from "./config.ts";

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

async function fetchOk(get: Fetch, url: string): Promise<Response> {
  const res = await get(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot load ${url}: the server answered ${res.status}`);
  }
  return res;
}

/**
 * Load the model and its tokenizer that the page's configuration names.
 *
 * @param gpu The GPU context.
 * @param model `LiveConfig.model`.
 * @param options The `fetch` to use (default `globalThis.fetch`).
 * @returns The model (the caller disposes it) and the tokenizer.
 * @example
 * ```ts ignore
 * const { model, tokenizer } = await loadLiveModel(gpu, config.model);
 * ```
 */
export async function loadLiveModel(
  gpu: Gpu,
  model: LiveConfig["model"],
  options: { fetch?: Fetch } = {},
): Promise<{ model: NeoxModel; tokenizer: Tokenizer }> {
  const get: Fetch = options.fetch ?? ((u, init) => fetch(u, init));
  const [configJson, tokenizerJson] = await Promise.all([
    fetchOk(get, model.config).then((r) => r.json()),
    fetchOk(get, model.tokenizer).then((r) => r.json() as Promise<TokenizerJson>),
  ]);
  const config = parseConfig(configJson, { file: model.config });
  const tokenizer = Tokenizer.fromJSON(tokenizerJson);
  using file = await openSafetensorsFrom(httpSource(model.weights.url, { size: model.weights.size, fetch: get }));
  return { model: await buildModel(gpu, config, readerSource(file, model.weights.url)), tokenizer };
}

/**
 * Load one of the run's dictionaries.
 *
 * @param dict Its entry in the page's configuration.
 * @param options The `fetch` to use (default `globalThis.fetch`).
 * @returns The dictionary (host weights; `bind(gpu)` puts it on the GPU).
 * @example
 * ```ts ignore
 * const dict = (await loadLiveDict(config.dicts[0])).bind(gpu);
 * ```
 */
export async function loadLiveDict(dict: LiveDict, options: { fetch?: Fetch } = {}): Promise<LinearDictionary> {
  const get: Fetch = options.fetch ?? ((u, init) => fetch(u, init));
  const cfgText = await (await fetchOk(get, dict.cfg)).text();
  using file = await openSafetensorsFrom(httpSource(dict.weights.url, { size: dict.weights.size, fetch: get }));
  const dir = dict.cfg.replace(/\/[^/]*$/, "");
  return await loadDictionaryFrom(cfgText, file, { dir, name: dict.name, kind: dict.kind });
}
