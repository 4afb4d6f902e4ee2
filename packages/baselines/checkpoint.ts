/**
 * Dictionaries on disk in SAELens layout: `cfg.json` and
 * `sae_weights.safetensors` with `W_enc [d_in, d_sae]`, `b_enc [d_sae]`,
 * `W_dec [d_sae, d_in]`, `b_dec [d_in]`. The same reader loads SAE sweep
 * members (`saes/<name>/`), baselines (`baselines/<name>/`) and SAELens
 * folders trained elsewhere (`standard` and `topk` architectures).
 *
 * @module
 */
import { join } from "node:path";
import { openSafetensors, writeSafetensors } from "@saelab/safetensors";
import { type DictKind, RUN_FILES, type SaeCfg, writeJsonAtomic } from "@saelab/runs";
import { LinearDictionary } from "./dictionary.ts";

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
 * Write a dictionary as a SAELens folder (`cfg.json` + `sae_weights.safetensors`), each file atomically.
 *
 * @param dir The folder (created when missing).
 * @param dict The dictionary.
 * @param options Hook and model names, extra cfg fields.
 * @returns The `cfg.json` written.
 * @example
 * ```ts ignore
 * import { fitPca, pcaDictionary, saveDictionary } from "@saelab/baselines";
 * await saveDictionary("runs/r1/baselines/pca", pcaDictionary(pca), { hookName: "blocks.2.hook_resid_post" });
 * ```
 */
export async function saveDictionary(
  dir: string,
  dict: LinearDictionary,
  options: SaveDictionaryOptions = {},
): Promise<SaeCfg> {
  const { dIn, dDict } = dict;
  const wEnc = new Float32Array(dIn * dDict); // [dIn, dDict]
  for (let j = 0; j < dDict; j++) {
    for (let i = 0; i < dIn; i++) wEnc[i * dDict + j] = dict.encoder[j * dIn + i];
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, RUN_FILES.weights), {
    W_enc: { dtype: "F32", shape: [dIn, dDict], data: wEnc },
    b_enc: { dtype: "F32", shape: [dDict], data: dict.encoderBias },
    W_dec: { dtype: "F32", shape: [dDict, dIn], data: dict.decoder },
    b_dec: { dtype: "F32", shape: [dIn], data: dict.decoderBias },
  }, { metadata: { format: "pt" } });
  const cfg: SaeCfg = {
    d_in: dIn,
    d_sae: dDict,
    ...(options.hookName ? { hook_name: options.hookName } : {}),
    ...(options.modelName ? { model_name: options.modelName } : {}),
    architecture: dict.k > 0 ? "topk" : "standard",
    activation_fn_str: dict.k > 0 ? "topk" : dict.activation,
    ...(dict.k > 0 ? { activation_fn_kwargs: { k: dict.k } } : {}),
    apply_b_dec_to_input: false,
    normalize_activations: "none",
    dtype: "float32",
    method: dict.kind,
    saelab: { activation: dict.activation, k: dict.k, ...dict.info },
    ...options.extra,
  };
  await writeJsonAtomic(join(dir, RUN_FILES.cfg), cfg);
  return cfg;
}

/**
 * Read a SAELens folder as a {@linkcode LinearDictionary}. `apply_b_dec_to_input` is folded into the
 * encoder bias (`b_e − W_encᵀ b_dec`); `topk` architectures (k in `activation_fn_kwargs.k` or `k`) keep
 * the k largest ReLU activations.
 *
 * @param dir The folder.
 * @param options Name (default: the folder name) and the run folder it sits in (`"sae"` for `saes/`: kind `"sae"`;
 *   `"baseline"`: kind from `cfg.method`).
 * @returns The dictionary.
 * @throws {TypeError} When `cfg.json` is missing or unreadable, or names an architecture this reader does not know.
 * @throws {RangeError} When a weight's shape disagrees with `d_in`/`d_sae`.
 * @example
 * ```ts ignore
 * import { loadDictionary } from "@saelab/baselines";
 * const sae = await loadDictionary("runs/r1/saes/untied_r4_a1.0e-3", { kind: "sae" });
 * ```
 */
export async function loadDictionary(
  dir: string,
  options: { name?: string; kind?: DictKind } = {},
): Promise<LinearDictionary> {
  const name = options.name ?? dir.replace(/\/+$/, "").split("/").pop()!;
  const cfgPath = join(dir, RUN_FILES.cfg);
  let cfg: SaeCfg;
  try {
    cfg = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new TypeError(`Cannot load dictionary ${name}: ${cfgPath} is missing or not JSON`, { cause: e });
  }
  const dIn = cfg.d_in, dDict = cfg.d_sae;
  const arch = String(cfg.architecture ?? "standard");
  const fn = String(cfg.activation_fn_str ?? "relu");
  const kwargs = (cfg.activation_fn_kwargs ?? {}) as { k?: unknown };
  const k = arch === "topk" || fn === "topk" ? Number(kwargs.k ?? cfg.k) : 0;
  if (arch !== "standard" && arch !== "topk") {
    throw new TypeError(`Cannot load dictionary ${name}: architecture ${JSON.stringify(arch)} is not standard or topk`);
  }
  const activation = fn === "identity" ? "identity" : "relu";
  if (fn !== "relu" && fn !== "identity" && fn !== "topk") {
    throw new TypeError(`Cannot load dictionary ${name}: activation ${JSON.stringify(fn)} is not relu or topk`);
  }
  using file = await openSafetensors(join(dir, RUN_FILES.weights));
  const get = async (tensor: string, shape: number[]) => {
    const got = file.info(tensor).shape;
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
      throw new RangeError(
        `Cannot load dictionary ${name}: ${tensor} has shape [${got.join(", ")}], expected [${shape.join(", ")}]`,
      );
    }
    return await file.getFloat32(tensor);
  };
  const wEnc = await get("W_enc", [dIn, dDict]);
  const bEnc = await get("b_enc", [dDict]);
  const wDec = await get("W_dec", [dDict, dIn]);
  const bDec = file.has("b_dec") ? await get("b_dec", [dIn]) : new Float32Array(dIn);
  const encoder = new Float32Array(dDict * dIn);
  const bias = new Float32Array(dDict);
  for (let j = 0; j < dDict; j++) {
    let shift = 0;
    for (let i = 0; i < dIn; i++) {
      const w = wEnc[i * dDict + j];
      encoder[j * dIn + i] = w;
      shift += w * bDec[i];
    }
    bias[j] = bEnc[j] - (cfg.apply_b_dec_to_input ? shift : 0);
  }
  const saelab = (cfg.saelab ?? {}) as Record<string, unknown>;
  return new LinearDictionary({
    name,
    kind: (options.kind ?? "sae") === "sae" ? "sae" : typeof cfg.method === "string" ? cfg.method : "baseline",
    dIn,
    dDict,
    encoder,
    encoderBias: bias,
    decoder: wDec,
    decoderBias: bDec,
    activation: (saelab.activation as "relu" | "identity" | undefined) ?? activation,
    k,
    info: saelab,
  });
}
