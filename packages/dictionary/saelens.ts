/**
 * Dictionaries on disk as SAELens v6 folders: `cfg.json` and `sae_weights.safetensors` with
 * `W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`, `b_dec [d_in]` (and `threshold [d_sae]`
 * for `jumprelu`; `gated` folders hold `b_gate`, `r_mag`, `b_mag [d_sae]` instead of `b_enc`, as SAELens'
 * `GatedSAE`). One writer
 * ({@linkcode writeSaeLens}) serves SAE sweep members, checkpoints and baselines; one reader
 * ({@linkcode loadDictionary}) loads all of them and SAELens folders trained elsewhere (`standard`,
 * `topk`, `jumprelu` and `gated` architectures, without input normalisation), checking `cfg.json` field by field
 * (`./saelens_cfg.ts`) and the weights tensor by tensor. The weights are written before `cfg.json`,
 * each file atomically, so a folder with a `cfg.json` always has its weights.
 *
 * @module
 */
import { join } from "node:path";
import { openSafetensors, writeSafetensors } from "@saelab/safetensors";
import { type DictKind, writeJsonAtomic } from "@saelab/runs";
import type { LinearDictionary } from "./linear.ts";
import { parseSaeLensCfg } from "./saelens_cfg.ts";
import { checkPayloadSha256 } from "./verify.ts";
import {
  dictionaryFromSaeLens,
  SAELENS_FILES,
  type SaeLensCfg,
  saeLensCfgFromText,
  type SaeLensTensors,
  saeLensTensorsFrom,
} from "./_saelens_read.ts";

export { SAELENS_FILES } from "./_saelens_read.ts";
export type { SaeLensCfg, SaeLensTensors } from "./_saelens_read.ts";

/** The names and shapes of the tensors of a folder of an architecture, in file order. */
function tensorShapes(architecture: unknown, d: number, n: number): [string, keyof SaeLensTensors, number[]][] {
  if (architecture === "gated") {
    return [["W_enc", "W_enc", [d, n]], ["b_gate", "b_enc", [n]], ["r_mag", "r_mag", [n]], ["b_mag", "b_mag", [n]], [
      "W_dec",
      "W_dec",
      [n, d],
    ], ["b_dec", "b_dec", [d]]];
  }
  const want: [string, keyof SaeLensTensors, number[]][] = [["W_enc", "W_enc", [d, n]], ["b_enc", "b_enc", [n]], [
    "W_dec",
    "W_dec",
    [n, d],
  ], ["b_dec", "b_dec", [d]]];
  if (architecture === "jumprelu") want.push(["threshold", "threshold", [n]]);
  return want;
}

/**
 * Write a SAELens folder: `sae_weights.safetensors`, then `cfg.json`, each atomically.
 *
 * @param dir The folder (created when missing).
 * @param tensors The weights; their sizes must agree with `cfg.d_in` and `cfg.d_sae`.
 * @param options The `cfg.json` to write, and string metadata for the safetensors header.
 * @returns Nothing.
 * @throws {RangeError} When a tensor's size disagrees with the cfg.
 * @example
 * ```ts ignore
 * await writeSaeLens("runs/r1/baselines/pca", tensors, { cfg: { d_in: 128, d_sae: 256, architecture: "standard" } });
 * ```
 */
export async function writeSaeLens(
  dir: string,
  tensors: SaeLensTensors,
  options: { cfg: SaeLensCfg; metadata?: Record<string, string> },
): Promise<void> {
  const { d_in: d, d_sae: n } = options.cfg;
  if ((options.cfg.architecture === "jumprelu") !== (tensors.threshold !== undefined)) {
    throw new RangeError(`Cannot write ${dir}: a threshold tensor goes with architecture "jumprelu", and only with it`);
  }
  const gated = options.cfg.architecture === "gated";
  if (gated !== (tensors.r_mag !== undefined && tensors.b_mag !== undefined)) {
    throw new RangeError(`Cannot write ${dir}: r_mag and b_mag tensors go with architecture "gated", and only with it`);
  }
  const want = tensorShapes(options.cfg.architecture, d, n);
  for (const [name, key, shape] of want) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (tensors[key]!.length !== size) {
      throw new RangeError(
        `Cannot write ${dir}: ${name} has ${
          tensors[key]!.length
        } values, expected ${size} for d_in ${d} and d_sae ${n}`,
      );
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(
    join(dir, SAELENS_FILES.weights),
    Object.fromEntries(want.map(([name, key, shape]) => [name, { dtype: "F32" as const, shape, data: tensors[key]! }])),
    { metadata: { format: "pt", ...options.metadata } },
  );
  await writeJsonAtomic(join(dir, SAELENS_FILES.cfg), options.cfg);
}

/**
 * Read `cfg.json` of a SAELens folder, checking that it is a JSON object with sizes `d_in` and
 * `d_sae` in range (the rest is checked by {@linkcode loadDictionary}, which acts on it).
 *
 * @param dir The folder.
 * @returns The parsed config.
 * @throws {TypeError} When the file is missing, or is not valid JSON (truncated, say); the message names it.
 * @throws {RangeError} When it is not an object, or `d_in` or `d_sae` is missing or out of range.
 * @example
 * ```ts ignore
 * const cfg = await readSaeLensCfg("runs/r1/saes/untied_r4_a1.0e-3");
 * ```
 */
export async function readSaeLensCfg(dir: string): Promise<SaeLensCfg> {
  const path = join(dir, SAELENS_FILES.cfg);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new TypeError(`Cannot read ${path}: it is missing or unreadable (${(e as Error).message})`, { cause: e });
  }
  return saeLensCfgFromText(text, path);
}

/**
 * Read the tensors of a SAELens folder, checking each one's dtype (a float type; F16/BF16/F64 are
 * converted to F32), its exact shape (a transposed `W_enc` is refused) and that its values are
 * finite, and the SHA-256 of the payload against the `saelab_sha256` of the header when it carries one.
 * A missing `b_dec` reads as zeros.
 *
 * @param dir The folder.
 * @param cfg Its `cfg.json` (for the sizes).
 * @returns The tensors.
 * @throws {RangeError} When a tensor is missing, not a float type, of the wrong shape, or holds NaN/Inf (named).
 * @throws {SafetensorsError} When the file is unreadable, truncated or malformed (the file named).
 * @throws {CheckpointError} When the SHA-256 of its tensors differs from the one in its header.
 * @example
 * ```ts ignore
 * const t = await readSaeLensTensors(dir, await readSaeLensCfg(dir));
 * ```
 */
export async function readSaeLensTensors(dir: string, cfg: SaeLensCfg): Promise<SaeLensTensors> {
  const path = join(dir, SAELENS_FILES.weights);
  using file = await openSafetensors(path);
  await checkPayloadSha256(file, path);
  return await saeLensTensorsFrom(file, cfg, { path, dir });
}

/** Facts written into `cfg.json` beside the dictionary's own. */
export interface SaveDictionaryOptions {
  /** Hook the dictionary reads. */
  hookName?: string;
  /** Model name. */
  modelName?: string;
  /** Further `cfg.json` fields. */
  extra?: Record<string, unknown>;
}

/**
 * Write a {@linkcode LinearDictionary} as a SAELens folder.
 *
 * @param dir The folder (created when missing).
 * @param dict The dictionary.
 * @param options Hook and model names, extra cfg fields.
 * @returns The `cfg.json` written.
 * @example
 * ```ts ignore
 * import { saveDictionary } from "@saelab/dictionary";
 * await saveDictionary("runs/r1/baselines/pca", pcaDictionary(pca), { hookName: "blocks.2.hook_resid_post" });
 * ```
 */
export async function saveDictionary(
  dir: string,
  dict: LinearDictionary,
  options: SaveDictionaryOptions = {},
): Promise<SaeLensCfg> {
  const { dIn, dDict } = dict;
  const wEnc = new Float32Array(dIn * dDict); // [dIn, dDict]
  for (let j = 0; j < dDict; j++) {
    for (let i = 0; i < dIn; i++) wEnc[i * dDict + j] = dict.encoder[j * dIn + i];
  }
  const cfg: SaeLensCfg = {
    d_in: dIn,
    d_sae: dDict,
    ...(options.hookName ? { hook_name: options.hookName } : {}),
    ...(options.modelName ? { model_name: options.modelName } : {}),
    architecture: dict.threshold ? "jumprelu" : dict.gate ? "gated" : dict.k > 0 ? "topk" : "standard",
    activation_fn_str: dict.k > 0 ? "topk" : dict.activation,
    ...(dict.k > 0 ? { activation_fn_kwargs: { k: dict.k } } : {}),
    apply_b_dec_to_input: false,
    normalize_activations: "none",
    dtype: "float32",
    method: dict.kind,
    saelab: { activation: dict.activation, k: dict.k, ...dict.info },
    ...options.extra,
  };
  const tensors = {
    W_enc: wEnc,
    b_enc: dict.encoderBias,
    W_dec: dict.decoder,
    b_dec: dict.decoderBias,
    ...(dict.threshold ? { threshold: dict.threshold } : {}),
    ...(dict.gate ? { r_mag: dict.gate.rMag, b_mag: dict.gate.bMag } : {}),
  };
  await writeSaeLens(dir, tensors, { cfg });
  return cfg;
}

/**
 * Read a SAELens folder as a {@linkcode LinearDictionary} — the one reader of SAELens folders
 * (`loadSae` in `@saelab/sae` binds its result to a GPU; browsers read the same files through
 * `loadDictionaryFrom` of `@saelab/dictionary/portable`). `cfg.json` is checked by
 * {@linkcode parseSaeLensCfg} with SAELens' defaults (`apply_b_dec_to_input` true,
 * `normalize_activations` `"none"`); `apply_b_dec_to_input` is folded into the encoder bias
 * (`b_e − W_encᵀ b_dec`); `topk` architectures (k in `activation_fn_kwargs.k` or `k`, 1 … d_sae)
 * keep the k largest ReLU activations; `jumprelu` ones keep `p_j` where it exceeds `threshold[j]`; `gated`
 * ones keep `exp(r_mag)(p − b_gate) + b_mag` (ReLU'd) where the gate `p = W_encᵀ x + b_gate` is positive.
 *
 * @param dir The folder.
 * @param options Name (default: the folder name) and the run folder it sits in (`"sae"` for `saes/`: kind `"sae"`;
 *   `"baseline"`: kind from `cfg.method`).
 * @returns The dictionary.
 * @throws {TypeError} When `cfg.json` is missing or not valid JSON.
 * @throws {RangeError} When a cfg field is mistyped, out of range or names what this reader cannot reproduce, or a
 *   weight is missing, of the wrong dtype or shape, or not finite (each named with its file).
 * @throws {CheckpointError} When the weights' SHA-256 differs from the one in their header (`saelab_sha256`).
 * @example
 * ```ts ignore
 * import { loadDictionary } from "@saelab/dictionary";
 * const sae = await loadDictionary("runs/r1/saes/untied_r4_a1.0e-3", { kind: "sae" });
 * ```
 */
export async function loadDictionary(
  dir: string,
  options: { name?: string; kind?: DictKind } = {},
): Promise<LinearDictionary> {
  const name = options.name ?? dir.replace(/[\\/]+$/, "").split(/[\\/]/).pop()!;
  const cfg = await readSaeLensCfg(dir);
  const settings = parseSaeLensCfg(cfg, { file: join(dir, SAELENS_FILES.cfg) });
  const t = await readSaeLensTensors(dir, cfg);
  return dictionaryFromSaeLens(cfg, t, { name, kind: options.kind, settings });
}
