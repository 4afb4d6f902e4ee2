/**
 * The store's `manifest.json`: what was harvested, with which settings, and
 * which chunk files hold the rows. It is the commit point: a chunk file counts
 * only once the manifest lists it, and the manifest is replaced atomically.
 *
 * @module
 */
import { writeTextAtomic } from "@saelab/core/fs";

/** Element type of stored activations. */
export type StoreDType = "f32" | "f16";

/** Which rows a chunk holds: from training documents or held-out ones. */
export type StoreSplit = "train" | "heldout";

/** One chunk file. */
export interface ChunkEntry {
  /** File name within the store folder. */
  file: string;
  /** Number of rows. */
  rows: number;
  /** File size in bytes. */
  bytes: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
}

/** The contents of `manifest.json`. */
export interface Manifest {
  /** Always `"saelab-activations"`. */
  format: "saelab-activations";
  /** Format version (1). */
  version: 1;
  /** Name of the model the activations came from. */
  model: string;
  /** Hook point (TransformerLens name). */
  hook: string;
  /** Block of the hook point (null after the last block). */
  layer: number | null;
  /** Width of a row. */
  d: number;
  /** Element type of `acts`. */
  dtype: StoreDType;
  /** Tokens per window. */
  contextLength: number;
  /** SHA-256 of the settings that determine the rows; a resume must match it. */
  configHash: string;
  /** The settings, for people (the hash covers them and the windows' tokens). */
  config: Record<string, unknown>;
  /** Document ids; the `doc` column of every chunk indexes this list. */
  documents: string[];
  /** Rows stored, per split. */
  rows: { train: number; heldout: number };
  /** Chunks of training rows, in harvest order. */
  chunks: ChunkEntry[];
  /** Chunks of held-out rows (documents chosen by id hash), in harvest order. */
  heldOutChunks: ChunkEntry[];
  /** Windows fully committed: the harvest resumes at this window. */
  windowsDone: number;
  /** Windows in the harvest. */
  windows: number;
  /** True when the harvest ran to its end (all windows or `maxTokens`). */
  complete: boolean;
}

/** Name of the manifest file in a store folder. */
export const MANIFEST_FILE = "manifest.json";

/**
 * Write a manifest atomically.
 *
 * @param dir The store folder.
 * @param manifest The manifest.
 */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeTextAtomic(`${dir}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 1) + "\n");
}

/**
 * Read and check a store's manifest.
 *
 * @param dir The store folder.
 * @returns The manifest, or null when the folder has none.
 * @throws {TypeError} When the manifest is not valid JSON or misses fields.
 */
export async function readManifest(dir: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${MANIFEST_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let m: Manifest;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`Cannot read the activation store in ${dir}: ${MANIFEST_FILE} is not valid JSON (${e})`);
  }
  const bad = (why: string) => new TypeError(`Cannot read the activation store in ${dir}: ${MANIFEST_FILE} ${why}`);
  if (m?.format !== "saelab-activations") {
    throw bad(`has format ${JSON.stringify(m?.format)}, not "saelab-activations"`);
  }
  if (m.version !== 1) throw bad(`has version ${m.version}; this reader knows version 1`);
  if (!Number.isInteger(m.d) || m.d < 1) throw bad(`has a bad row width d = ${m.d}`);
  if (m.dtype !== "f32" && m.dtype !== "f16") throw bad(`has dtype ${JSON.stringify(m.dtype)}, not "f32" or "f16"`);
  if (!Array.isArray(m.chunks) || !Array.isArray(m.heldOutChunks) || !Array.isArray(m.documents)) {
    throw bad("misses its chunk or document lists");
  }
  for (const c of [...m.chunks, ...m.heldOutChunks]) {
    if (typeof c?.file !== "string" || !/^[\w.-]+$/.test(c.file) || !Number.isInteger(c.rows) || c.rows < 0) {
      throw bad(`lists a bad chunk ${JSON.stringify(c)}`);
    }
  }
  return m;
}
