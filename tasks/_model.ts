/**
 * Which language model a run reads: a Hugging Face folder the user names (`--model`), else the
 * embedded default, `fixtures/models/sotu-neox` — the project's own small GPT-NeoX, which is not
 * Pythia, and every run that uses it says so.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join, relative, resolve } from "node:path";
import type { ModelInfo } from "@saelab/runs";
import { Tokenizer } from "@saelab/tokenizer";

/** The end-of-text token put at the start of every document when the tokenizer has it. */
export const END_OF_TEXT = "<|endoftext|>";

/** The embedded default model. */
export const DEFAULT_MODEL: string = new URL("../fixtures/models/sotu-neox", import.meta.url).pathname;

const REPO_ROOT = new URL("..", import.meta.url).pathname;

/** What run.json and the summary say about the default model. */
export const DEFAULT_MODEL_NOTE = "The project's own small GPT-NeoX (d 128, 4 layers) trained on State of the Union " +
  "speeches — NOT Pythia, and far weaker (see its model card). For the paper's setting: " +
  "`deno task fetch-model EleutherAI/pythia-70m-deduped`, then `deno task train --model models/pythia-70m-deduped`.";

/** A model folder ready to load, with its tokenizer and what the run should say about it. */
export interface ModelSource {
  /** The Hugging Face folder. */
  dir: string;
  /** For `run.json`. */
  info: ModelInfo;
  /** Its tokenizer (`tokenizer.json` in the folder). */
  tokenizer: Tokenizer;
  /** Token id put at position 0 of every document, when the tokenizer has an end-of-text token. */
  separator?: number;
  /** SHA-256 over the folder's config, tokenizer and weight files: a run resumes only on the same model. */
  sha256: string;
}

/**
 * SHA-256 over a model folder's `config.json`, `tokenizer.json` and weight files (`model.safetensors`,
 * or the index and its shards), read in pieces.
 *
 * @param dir The folder.
 * @returns The hex digest.
 * @example
 * ```ts ignore
 * const id = await modelFingerprint("fixtures/models/sotu-neox");
 * ```
 */
export async function modelFingerprint(dir: string): Promise<string> {
  const files = ["config.json", "tokenizer.json"];
  if (await exists(join(dir, "model.safetensors"))) files.push("model.safetensors");
  else {
    const index = JSON.parse(await Deno.readTextFile(join(dir, "model.safetensors.index.json")));
    const shards = [...new Set(Object.values(index?.weight_map ?? {}) as string[])].sort();
    files.push("model.safetensors.index.json", ...shards);
  }
  const hash = createHash("sha256");
  for (const name of files) {
    hash.update(`${name}\0`);
    using file = await Deno.open(join(dir, name));
    for await (const piece of file.readable) hash.update(piece);
  }
  return hash.digest("hex");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isModelFolder(dir: string): Promise<boolean> {
  return await exists(join(dir, "config.json")) && await exists(join(dir, "tokenizer.json")) &&
    (await exists(join(dir, "model.safetensors")) || await exists(join(dir, "model.safetensors.index.json")));
}

async function modelName(dir: string): Promise<string> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    const named = raw?._name_or_path;
    if (typeof named === "string" && named !== "" && !named.startsWith("/") && !named.startsWith(".")) return named;
  } catch { /* loadModel reports a bad config.json */ }
  return basename(resolve(dir));
}

/**
 * Choose the model folder and load its tokenizer.
 *
 * @param options `model`: a folder the user named; default the embedded model.
 * @returns The folder, its tokenizer and `run.json`'s model record.
 * @throws {TypeError} When the folder is not a Hugging Face model folder.
 * @example
 * ```ts ignore
 * const m = await resolveModel({});
 * console.log(m.info.name, m.info.note);
 * ```
 */
export async function resolveModel(options: { model?: string }): Promise<ModelSource> {
  const dir = resolve(options.model ?? DEFAULT_MODEL);
  if (!(await isModelFolder(dir))) {
    throw new TypeError(
      options.model === undefined
        ? `Cannot find the default model in ${dir}: rebuild it with \`deno task pretrain\`, or pass --model DIR`
        : `Cannot use the model in ${dir}: it needs config.json, tokenizer.json and model.safetensors ` +
          "(or a sharded index), as a Hugging Face folder has",
    );
  }
  const isDefaultModel = dir === resolve(DEFAULT_MODEL);
  const shown = relative(REPO_ROOT, dir);
  const losses = await modelLosses(dir);
  const info: ModelInfo = {
    ...(isDefaultModel
      ? { name: basename(dir), path: dir, isDefaultModel, note: `${DEFAULT_MODEL_NOTE} Folder: ${shown}.` }
      : { name: await modelName(dir), path: dir, isDefaultModel }),
    ...(losses ? { losses } : {}),
  };
  const tokenizer = await Tokenizer.fromFile(join(dir, "tokenizer.json"));
  const separator = tokenizer.tokenToId(END_OF_TEXT);
  const sha256 = await modelFingerprint(dir);
  return { dir, info, tokenizer, sha256, ...(separator !== undefined ? { separator } : {}) };
}

/**
 * The held-out losses of a model folder's `training.json` (`evaluation.model` and `evaluation.bigram`, as
 * `deno task pretrain` writes them), or null when the folder has none.
 *
 * @param dir The model folder.
 * @returns The model's and the bigram's loss in nats, or null.
 * @example
 * ```ts
 * import { modelLosses } from "./_model.ts";
 * const l = await modelLosses("fixtures/models/sotu-neox");
 * if (!l || !(l.bigram > l.model)) throw new Error("the default model records its bigram baseline");
 * ```
 */
export async function modelLosses(dir: string): Promise<{ model: number; bigram: number } | null> {
  try {
    const e = JSON.parse(await Deno.readTextFile(join(dir, "training.json")))?.evaluation;
    return typeof e?.model === "number" && typeof e?.bigram === "number" ? { model: e.model, bigram: e.bigram } : null;
  } catch {
    return null; // no training record: the margin stays unknown
  }
}
