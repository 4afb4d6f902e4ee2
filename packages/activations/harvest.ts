/**
 * Harvest one hook's activations over token windows into a chunked on-disk
 * store. Rows go to a training or a held-out buffer by document; when a
 * buffer reaches the chunk size, every non-empty buffer is written as a chunk
 * and then the manifest records them with the number of windows done. A
 * killed harvest resumes from the manifest: chunk files it does not list are
 * discarded and their windows run again, so no row is lost or duplicated.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { splitOf, type TokenWindows } from "@saelab/corpus";
import { type RowBlock, writeChunk } from "./chunks.ts";
import { type ChunkEntry, hashJson, type Manifest, readManifest, type StoreDType, writeManifest } from "./manifest.ts";
import { type HookedModel, hookLayer, readHook } from "./model.ts";
import { cleanStoreFolder } from "./_clean.ts";

/** Progress of a harvest, reported after each batch. */
export interface HarvestProgress {
  /** Windows processed (including those done before a resume). */
  windowsDone: number;
  /** Windows in the harvest. */
  windows: number;
  /** Rows harvested so far, both splits (including rows committed before a resume). */
  rows: number;
  /** Rows the harvest will produce in all. */
  rowsTotal: number;
  /** Window index at which this call started (0 unless resumed). */
  resumedAt: number;
}

/** Options for {@linkcode harvest}. */
export interface HarvestOptions {
  /** Hook point, TransformerLens name (`blocks.2.hook_resid_post`). */
  hook: string;
  /** Store folder (created if needed). */
  dir: string;
  /** Windows per forward pass. Default: 8. */
  batchSize?: number;
  /** Stop after this many rows (tokens), both splits together. Default: all windows. */
  maxTokens?: number;
  /** Element type of stored activations. Default: `"f32"`. */
  dtype?: StoreDType;
  /** Fraction of documents whose rows are held out (by document id hash). Default: 0.1. */
  heldOutFraction?: number;
  /** Seed of the held-out choice. Default: 0. */
  splitSeed?: number;
  /** Rows per chunk; bounds memory. Default: as many as fit in `chunkBytes`. */
  chunkRows?: number;
  /** Target chunk size on disk when `chunkRows` is not given. Default: 32 MiB. */
  chunkBytes?: number;
  /** Model name recorded in the manifest (and part of the settings a resume must match). Default: `"model"`. */
  modelName?: string;
  /** Discard an existing store in `dir` instead of resuming it. Default: false. */
  overwrite?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: HarvestProgress) => void;
  /** Stops the harvest between batches; what was committed stays and a later call resumes. */
  signal?: AbortSignal;
}

/** What {@linkcode harvest} did. */
export interface HarvestResult {
  /** The store folder. */
  dir: string;
  /** The final manifest. */
  manifest: Manifest;
  /** Window index at which this call started. */
  resumedAt: number;
  /** Rows this call wrote. */
  rowsWritten: number;
}

/**
 * Run the model over the windows (stopping after the hook's block) and store the hook's activation
 * for every position each window owns, with its (document, position, token) ids.
 *
 * @param model The model.
 * @param windows Token windows, in the order to harvest them (shuffle them first for a mixed store).
 * @param options Hook, folder, batch size, limits, dtype, held-out fraction, progress, abort signal.
 * @returns The manifest and what this call did.
 * @throws {TypeError} When `dir` holds a store made with other settings.
 * @example
 * ```ts ignore
 * import { harvest } from "@saelab/activations";
 * const { manifest } = await harvest(model, windows, {
 *   hook: "blocks.2.hook_resid_post", dir: "runs/x/acts", maxTokens: 200_000, dtype: "f16",
 * });
 * console.log(manifest.rows);
 * ```
 */
export async function harvest(
  model: HookedModel,
  windows: TokenWindows,
  options: HarvestOptions,
): Promise<HarvestResult> {
  const o = checkOptions(model, windows, options);
  const { dir, T } = o;
  await Deno.mkdir(dir, { recursive: true });
  const config = {
    model: o.modelName,
    modelConfig: { hiddenSize: model.config.hiddenSize, numLayers: model.config.numLayers },
    hook: o.hook,
    dtype: o.dtype,
    contextLength: T,
    windows: windows.count,
    windowsSha256: fingerprint(windows),
    maxTokens: Number.isFinite(o.maxTokens) ? o.maxTokens : null,
    heldOutFraction: o.heldOutFraction,
    splitSeed: o.splitSeed,
  };
  const configHash = hashJson(config);
  let manifest = o.overwrite ? null : await readManifest(dir);
  if (manifest && manifest.configHash !== configHash) {
    const differ = Object.keys(config).filter((k) =>
      JSON.stringify((config as Record<string, unknown>)[k]) !== JSON.stringify(manifest!.config[k])
    );
    throw new TypeError(
      `Cannot resume the activation store in ${dir}: it was harvested with other settings ` +
        `(${differ.join(", ") || "config"} differ); use another folder or overwrite: true`,
    );
  }
  await cleanStoreFolder(dir, manifest, { all: o.overwrite });
  if (manifest?.complete) return { dir, manifest, resumedAt: manifest.windowsDone, rowsWritten: 0 };

  hookLayer(o.hook, model.config.numLayers); // a block the model lacks fails here, before any work
  const heldOut = Uint8Array.from(
    windows.documents,
    (doc) => splitOf(doc.id, { heldOutFraction: o.heldOutFraction, seed: o.splitSeed }) === "heldout" ? 1 : 0,
  );
  const owned = (w: number) => T - windows.first[w];
  let rowsTotal = 0;
  for (let w = 0; w < windows.count; w++) rowsTotal += owned(w);
  rowsTotal = Math.min(rowsTotal, o.maxTokens);

  const resumedAt = manifest?.windowsDone ?? 0;
  let rows = 0; // rows of windows [0, w), both splits, as an uninterrupted harvest counts them
  for (let w = 0; w < resumedAt; w++) rows += owned(w);
  rows = Math.min(rows, o.maxTokens);
  let rowsWritten = 0;
  let buffers: Record<"train" | "heldout", RowBuffer> | null = null;
  let chunkRows = 0;
  let done = resumedAt; // windows whose rows are all taken

  const commit = async (windowsDone: number, complete: boolean) => {
    const m = manifest!;
    for (const split of ["train", "heldout"] as const) {
      const buf = buffers![split];
      if (buf.rows === 0) continue;
      const list = split === "train" ? m.chunks : m.heldOutChunks;
      const file = `${split}-${String(list.length).padStart(6, "0")}.safetensors`;
      const entry: ChunkEntry = await writeChunk(`${dir}/${file}`, buf, { dtype: o.dtype, split });
      list.push(entry);
      m.rows[split] += buf.rows;
      rowsWritten += buf.rows;
      buf.rows = 0;
    }
    m.windowsDone = windowsDone;
    m.complete = complete;
    await writeManifest(dir, m);
  };

  for (let w = resumedAt; w < windows.count && rows < o.maxTokens; w += o.batchSize) {
    o.signal?.throwIfAborted();
    const n = Math.min(o.batchSize, windows.count - w);
    const batchIds = windows.batch(w, n); // [n, T]
    const { data, width } = await readHook(model, batchIds, { batch: n, contextLength: T, hook: o.hook });
    o.signal?.throwIfAborted();
    if (!manifest) manifest = newManifest(o, { config, configHash, width, windows });
    if (width !== manifest.d) {
      throw new RangeError(`Cannot harvest ${o.hook}: its width is ${width} but the store holds rows of ${manifest.d}`);
    }
    if (!buffers) {
      chunkRows = o.chunkRows ?? Math.max(1, Math.floor(o.chunkBytes / (width * (o.dtype === "f16" ? 2 : 4))));
      buffers = { train: new RowBuffer(chunkRows + T, width), heldout: new RowBuffer(chunkRows + T, width) };
    }
    for (let b = 0; b < n && rows < o.maxTokens; b++) {
      const win = w + b;
      const doc = windows.doc[win];
      const buf = buffers[heldOut[doc] ? "heldout" : "train"];
      const first = windows.first[win];
      const last = Math.min(T, first + (o.maxTokens - rows)); // positions [first, last)
      for (let t = first; t < last; t++) {
        const at = b * T + t;
        buf.push(data.subarray(at * width, (at + 1) * width), doc, windows.start[win] + t, batchIds[at]);
      }
      rows += last - first;
      done = win + 1;
      if (buf.rows >= chunkRows && rows < o.maxTokens && win + 1 < windows.count) await commit(win + 1, false);
    }
    o.onProgress?.({ windowsDone: Math.min(w + n, windows.count), windows: windows.count, rows, rowsTotal, resumedAt });
  }
  if (!manifest || !buffers) throw new RangeError(`Cannot harvest ${o.hook}: there are no windows to run`);
  await commit(done, true);
  return { dir, manifest, resumedAt, rowsWritten };
}

/** Rows waiting to become a chunk. */
class RowBuffer implements RowBlock {
  rows = 0;
  readonly d: number;
  readonly x: Float32Array;
  readonly doc: Int32Array;
  readonly pos: Int32Array;
  readonly token: Int32Array;

  constructor(capacity: number, d: number) {
    this.d = d;
    this.x = new Float32Array(capacity * d); // [capacity, d]
    this.doc = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.token = new Int32Array(capacity);
  }

  push(row: Float32Array, doc: number, pos: number, token: number): void {
    const r = this.rows++;
    this.x.set(row, r * this.d);
    this.doc[r] = doc;
    this.pos[r] = pos;
    this.token[r] = token;
  }
}

function newManifest(
  o: ReturnType<typeof checkOptions>,
  at: { config: Record<string, unknown>; configHash: string; width: number; windows: TokenWindows },
): Manifest {
  return {
    format: "saelab-activations",
    version: 1,
    model: o.modelName,
    hook: o.hook,
    layer: hookLayer(o.hook, Number.MAX_SAFE_INTEGER),
    d: at.width,
    dtype: o.dtype,
    contextLength: o.T,
    configHash: at.configHash,
    config: at.config,
    documents: at.windows.documents.map((d) => d.id),
    rows: { train: 0, heldout: 0 },
    chunks: [],
    heldOutChunks: [],
    windowsDone: 0,
    windows: at.windows.count,
    complete: false,
  };
}

/** SHA-256 over the windows' documents, positions and token ids. */
function fingerprint(windows: TokenWindows): string {
  const h = createHash("sha256");
  h.update(`T=${windows.contextLength};n=${windows.count};`);
  for (let w = 0; w < windows.count; w++) {
    const doc = windows.documents[windows.doc[w]].id;
    h.update(`${doc}@${windows.start[w]}+${windows.first[w]};`);
    const ids = windows.batch(w, 1);
    h.update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  }
  return h.digest("hex");
}

function checkOptions(model: HookedModel, windows: TokenWindows, options: HarvestOptions) {
  const fail = (why: string) => new RangeError(`Cannot harvest ${options.hook}: ${why}`);
  if (typeof options.hook !== "string" || options.hook.length === 0) {
    throw new TypeError("Cannot harvest: options.hook must name a hook point");
  }
  if (typeof options.dir !== "string" || options.dir.length === 0) {
    throw new TypeError(`Cannot harvest ${options.hook}: options.dir must name a folder`);
  }
  if (!model?.config || typeof model.forward !== "function") {
    throw new TypeError(`Cannot harvest ${options.hook}: the model has no config or forward method`);
  }
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw fail(`batchSize ${batchSize} is not a whole number ≥ 1`);
  const maxTokens = options.maxTokens ?? Infinity;
  if (!(maxTokens >= 1) || (Number.isFinite(maxTokens) && !Number.isInteger(maxTokens))) {
    throw fail(`maxTokens ${maxTokens} is not a whole number ≥ 1`);
  }
  const dtype = options.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f16") {
    throw new TypeError(`Cannot harvest ${options.hook}: dtype ${dtype} is not f32 or f16`);
  }
  const heldOutFraction = options.heldOutFraction ?? 0.1;
  if (!(heldOutFraction >= 0 && heldOutFraction <= 1)) {
    throw fail(`heldOutFraction ${heldOutFraction} is not in [0, 1]`);
  }
  const chunkRows = options.chunkRows;
  if (chunkRows !== undefined && (!Number.isInteger(chunkRows) || chunkRows < 1)) {
    throw fail(`chunkRows ${chunkRows} is not a whole number ≥ 1`);
  }
  const chunkBytes = options.chunkBytes ?? 32 * 2 ** 20;
  if (!(chunkBytes > 0)) throw fail(`chunkBytes ${chunkBytes} is not positive`);
  return {
    hook: options.hook,
    dir: options.dir.replace(/\/+$/, ""),
    T: windows.contextLength,
    batchSize,
    maxTokens,
    dtype,
    heldOutFraction,
    splitSeed: options.splitSeed ?? 0,
    chunkRows,
    chunkBytes,
    modelName: options.modelName ?? "model",
    overwrite: options.overwrite ?? false,
    onProgress: options.onProgress,
    signal: options.signal,
  };
}
