/**
 * Parts of a harvest: option checks, the windows' fingerprint, a new
 * manifest, and the row buffer a chunk is built in.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { hashJson } from "@saelab/core/hash";
import type { TokenWindows } from "@saelab/corpus";
import type { RowBlock } from "./chunks.ts";
import type { Manifest } from "./manifest.ts";
import type { HarvestOptions } from "./harvest.ts";
import { type HookedModel, hookLayer } from "./model.ts";

/** Rows waiting to become a chunk. */
export class RowBuffer implements RowBlock {
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

export function newManifest(
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
export function fingerprint(windows: TokenWindows): string {
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

export function checkOptions(model: HookedModel, windows: TokenWindows, options: HarvestOptions) {
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

/** The settings that decide a store's rows, and their hash. */
export function harvestConfig(model: HookedModel, windows: TokenWindows, o: ReturnType<typeof checkOptions>) {
  const config = {
    model: o.modelName,
    modelConfig: { hiddenSize: model.config.hiddenSize, numLayers: model.config.numLayers },
    hook: o.hook,
    dtype: o.dtype,
    contextLength: o.T,
    windows: windows.count,
    windowsSha256: fingerprint(windows),
    maxTokens: Number.isFinite(o.maxTokens) ? o.maxTokens : null,
    heldOutFraction: o.heldOutFraction,
    splitSeed: o.splitSeed,
  };
  return { config, configHash: hashJson(config) };
}

/** Refuse a store harvested with other settings, naming those that differ. */
export function checkSettings(
  manifest: Manifest,
  o: { config: Record<string, unknown>; configHash: string; dir: string; what: string },
): void {
  if (manifest.configHash === o.configHash) return;
  const differ = Object.keys(o.config).filter((k) =>
    JSON.stringify(o.config[k]) !== JSON.stringify(manifest.config[k])
  );
  throw new TypeError(
    `Cannot ${o.what} the activation store in ${o.dir}: it was harvested with other settings ` +
      `(${differ.join(", ") || "config"} differ); use another folder or overwrite: true`,
  );
}
