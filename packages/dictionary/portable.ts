/**
 * The parts of `@saelab/dictionary` that need no file system, for browsers and workers: the
 * dictionary classes and {@linkcode loadDictionaryFrom}, which reads a SAELens folder's `cfg.json`
 * text and weights (any safetensors reader, e.g. a file fetched over HTTP) with the checks of
 * `loadDictionary`: cfg fields, tensor dtypes, shapes and finiteness, and the payload's SHA-256
 * (computed with Web Crypto) against the `saelab_sha256` of its header.
 *
 * ```ts ignore
 * import { loadDictionaryFrom } from "@saelab/dictionary/portable";
 * const dict = await loadDictionaryFrom(cfgText, weightsFile, { dir: "saes/untied_r4", kind: "sae" });
 * using gpuDict = dict.bind(gpu);
 * ```
 *
 * @module
 */
import type { TensorReader } from "@saelab/safetensors/portable";
import type { DictKind } from "@saelab/runs";
import type { LinearDictionary } from "./linear.ts";
import { parseSaeLensCfg } from "./saelens_cfg.ts";
import { dictionaryFromSaeLens, SAELENS_FILES, saeLensCfgFromText, saeLensTensorsFrom } from "./_saelens_read.ts";
import { CheckpointError } from "./errors.ts";

export { decodeRows, encodeRows, reconstructRows } from "./dictionary.ts";
export type { Dictionary } from "./dictionary.ts";
export { GpuLinearDictionary, keepTopK, LinearDictionary } from "./linear.ts";
export type { DictActivation, LinearDictionaryInit } from "./linear.ts";
export { parseSaeLensCfg, SAELENS_LIMITS } from "./saelens_cfg.ts";
export type { SaeLensSettings } from "./saelens_cfg.ts";
export { dictionaryFromSaeLens, SAELENS_FILES, saeLensCfgFromText, saeLensTensorsFrom } from "./_saelens_read.ts";
export type { SaeLensCfg, SaeLensTensors } from "./_saelens_read.ts";
export { CheckpointError } from "./errors.ts";

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * SHA-256 (hex) of a reader's payload as `payloadSha256` defines it (every tensor's bytes, in name
 * order), with Web Crypto: the whole payload is held in memory once.
 *
 * @param file The tensors.
 * @returns The hex digest.
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@saelab/safetensors/portable";
 * import { payloadSha256 } from "@saelab/dictionary";
 * import { readerSha256 } from "@saelab/dictionary/portable";
 * const a = new Float32Array([1, 2]);
 * const file = parseSafetensors(serializeSafetensors({ a: { dtype: "F32", shape: [2], data: a } }));
 * if ((await readerSha256(file)) !== payloadSha256({ a })) throw new Error("sha");
 * ```
 */
export async function readerSha256(file: TensorReader): Promise<string> {
  const parts = await Promise.all([...file.names].sort(byName).map((n) => file.getRaw(n)));
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Read a SAELens folder from its `cfg.json` text and its open weights file as a
 * {@linkcode LinearDictionary}, checked as `loadDictionary` checks a folder on disk.
 *
 * @param cfgText The text of `cfg.json`.
 * @param weights The open `sae_weights.safetensors`.
 * @param options `dir`: the folder's name or URL (named in errors); `name` (default: its last part); `kind`.
 * @returns The dictionary.
 * @throws {TypeError} When `cfg.json` is not valid JSON.
 * @throws {RangeError} For a bad cfg field or tensor (named with its file).
 * @throws {CheckpointError} When the weights' SHA-256 differs from the one in their header.
 * @example
 * ```ts ignore
 * const dict = await loadDictionaryFrom(cfgText, file, { dir: "/live/runs/r1/saes/untied_r4", kind: "sae" });
 * ```
 */
export async function loadDictionaryFrom(
  cfgText: string,
  weights: TensorReader,
  options: { dir: string; name?: string; kind?: DictKind },
): Promise<LinearDictionary> {
  const { dir } = options;
  const cfgPath = `${dir}/${SAELENS_FILES.cfg}`, path = `${dir}/${SAELENS_FILES.weights}`;
  const cfg = saeLensCfgFromText(cfgText, cfgPath);
  const settings = parseSaeLensCfg(cfg, { file: cfgPath });
  const want = weights.metadata.saelab_sha256;
  if (want !== undefined && (await readerSha256(weights)) !== want) {
    throw new CheckpointError(
      `Cannot load ${path}: the SHA-256 of its tensors differs from the one in its header (the file was altered ` +
        "or damaged)",
      path,
    );
  }
  const tensors = await saeLensTensorsFrom(weights, cfg, { path, dir });
  const name = options.name ?? dir.replace(/\/+$/, "").split("/").pop()!;
  return dictionaryFromSaeLens(cfg, tensors, { name, kind: options.kind, settings });
}
