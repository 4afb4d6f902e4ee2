/**
 * What the `baselines` and `score` stages share: which run they default to (the newest with
 * activations), its activation store, held-out rows, and the model's read-out for logit effects.
 *
 * @module
 */
import { type ActivationStore, openStore } from "@saelab/activations";
import { isResidualHook, loadUnembedding, logitEffects, type Unembedding } from "@saelab/autointerp";
import type { IdRows } from "@saelab/autointerp";
import { loadDictionary } from "@saelab/baselines";
import { Tokenizer } from "@saelab/tokenizer";
import { join } from "node:path";
import { type LogitEffects, safeJoin, type StageDeps } from "@saelab/runs";
import type { RunHandle } from "./_run.ts";
import type { StageTarget } from "./_runtime.ts";

/** Folder of the activation store inside a run folder. */
export const STORE_DIR = "activations";

/** The default run of `baselines` and `score`: the newest one with a finished activation store. */
export const HAS_STORE: StageTarget = {
  what: "activations",
  has: (runsDir, id) => isFile(safeJoin(runsDir, [id, STORE_DIR, "manifest.json"])),
};

/**
 * Open the run's activation store.
 *
 * @param run The run.
 * @param stage Stage name, for messages.
 * @returns The store.
 */
export async function runStore(run: RunHandle, stage: string): Promise<ActivationStore> {
  try {
    return await openStore(run.path(STORE_DIR));
  } catch (e) {
    throw new TypeError(
      `Cannot run ${stage} on run ${run.id}: its activation store is missing or incomplete ` +
        `(${e instanceof Error ? e.message : e}); run \`deno task harvest --run ${run.id}\``,
    );
  }
}

/**
 * Up to `maxRows` rows of a split, with their ids.
 *
 * @param store The store.
 * @param split Which rows.
 * @param maxRows Limit.
 * @returns The rows.
 */
export async function readSplit(store: ActivationStore, split: "train" | "heldout", maxRows: number): Promise<IdRows> {
  const n = Math.min(store.rows(split), maxRows);
  if (n === 0) {
    return {
      rows: 0,
      d: store.d,
      x: new Float32Array(),
      doc: new Int32Array(),
      pos: new Int32Array(),
      token: new Int32Array(),
    };
  }
  return await store.getRows(0, n, { split });
}

/** The model's read-out and token names, for logit effects. */
export interface Readout {
  /** Final LayerNorm weight and unembedding. */
  unembed: Unembedding;
  /** Token id → text. */
  decode: (id: number) => string;
}

/**
 * The run's model read-out, when the hook writes to the residual stream and the model folder is readable.
 *
 * @param run The run.
 * @param deps The CLI's deps (for the log).
 * @returns The read-out, or `null` (logit effects are then left out).
 */
export async function runReadout(run: RunHandle, deps: StageDeps): Promise<Readout | null> {
  const path = run.json.model.path;
  if (!isResidualHook(run.json.hook)) {
    deps.log.debug(`logit effects left out: ${run.json.hook} is not in the residual stream`);
    return null;
  }
  if (!path) return null;
  let unembed: Unembedding;
  try {
    unembed = await loadUnembedding(path);
  } catch (e) {
    deps.log.warn(
      `logit effects left out: cannot read the unembedding of ${path} (${e instanceof Error ? e.message : e})`,
    );
    return null;
  }
  let decode = (id: number) => `⟨${id}⟩`;
  try {
    const tok = await Tokenizer.fromFile(join(path, "tokenizer.json"));
    decode = (id) => tok.tokenText(id);
  } catch {
    // token ids stand in for names
  }
  return { unembed, decode };
}

/**
 * Top positive and negative logit effects (10 each) of some features of a saved dictionary, by feature index.
 *
 * @param readout The model's read-out.
 * @param dir The dictionary's folder (`cfg.json`, weights with the decoder in activation units).
 * @param indices Features.
 * @returns Effects by feature, empty when the dictionary's width is not the model's.
 */
export async function featureLogits(
  readout: Readout,
  dir: string,
  indices: readonly number[],
): Promise<Map<number, LogitEffects>> {
  const dict = await loadDictionary(dir);
  const out = new Map<number, LogitEffects>();
  if (dict.dIn !== readout.unembed.d) return out;
  for (const i of indices) {
    const row = dict.decoder.subarray(i * dict.dIn, (i + 1) * dict.dIn); // [dIn]
    out.set(i, logitEffects(row, readout.unembed, { decode: readout.decode, k: 10 }));
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Token id → display text from the run's model folder's tokenizer, else `⟨id⟩` (with a warning).
 *
 * @param run The run.
 * @param deps Logger.
 * @returns The decoder.
 */
export async function tokenDecoder(run: RunHandle, deps: StageDeps): Promise<(id: number) => string> {
  const path = run.json.model.path;
  if (path) {
    try {
      const tok = await Tokenizer.fromFile(join(path, "tokenizer.json"));
      return (id) => tok.tokenText(id);
    } catch (e) {
      deps.log.warn(`cannot read the tokenizer of ${path} (${e instanceof Error ? e.message : e})`);
    }
  }
  deps.log.warn("no tokenizer in the model folder; fragments show token ids");
  return (id) => `⟨${id}⟩`;
}
