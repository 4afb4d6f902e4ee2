/**
 * Chunk files: safetensors with `acts [rows, d]` (F32 or F16) and the `doc`,
 * `pos`, `token` id columns (I32 `[rows]`), checked by size and SHA-256 when read.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseSafetensors, serializeSafetensors } from "@saelab/safetensors";
import { writeBytesAtomic } from "@saelab/core/fs";
import type { ChunkEntry, StoreDType } from "./manifest.ts";

/** Rows of activations with their ids: what chunks hold and batches carry. */
export interface RowBlock {
  /** Number of rows. */
  rows: number;
  /** Width of a row. */
  d: number;
  /** Activations `[rows, d]`, row-major. */
  x: Float32Array;
  /** Document number of each row (index into the manifest's `documents`) `[rows]`. */
  doc: Int32Array;
  /** Token position within the document `[rows]`. */
  pos: Int32Array;
  /** Token id `[rows]`. */
  token: Int32Array;
}

/**
 * A block of zeroed rows, ready to be filled; `allocRows(0, d)` is the empty block.
 *
 * @param rows Number of rows.
 * @param d Width of a row.
 * @returns The block, with `x` of `rows · d` zeros and zeroed id columns.
 * @example
 * ```ts
 * import { allocRows } from "@saelab/activations";
 * const block = allocRows(2, 3);
 * console.log(block.rows, block.x.length, block.token.length); // 2 6 2
 * ```
 */
export function allocRows(rows: number, d: number): RowBlock {
  return {
    rows,
    d,
    x: new Float32Array(rows * d), // [rows, d]
    doc: new Int32Array(rows),
    pos: new Int32Array(rows),
    token: new Int32Array(rows),
  };
}

/** A store chunk that is missing, truncated or altered. */
export class StoreError extends Error {
  /** The file concerned. */
  readonly file: string;

  /**
   * @param message What could not be done and why.
   * @param file The file concerned.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, file: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.file = file;
  }
}

/**
 * Write rows to a chunk file atomically.
 *
 * @param path The chunk file.
 * @param block The rows.
 * @param options Element type of `acts` and the split (stored as metadata).
 * @returns The manifest entry (size and SHA-256).
 */
export async function writeChunk(
  path: string,
  block: RowBlock,
  options: { dtype: StoreDType; split: string },
): Promise<ChunkEntry> {
  const { rows, d } = block;
  const bytes = serializeSafetensors({
    acts: { dtype: options.dtype === "f16" ? "F16" : "F32", shape: [rows, d], data: block.x.subarray(0, rows * d) },
    doc: { dtype: "I32", shape: [rows], data: block.doc.subarray(0, rows) },
    pos: { dtype: "I32", shape: [rows], data: block.pos.subarray(0, rows) },
    token: { dtype: "I32", shape: [rows], data: block.token.subarray(0, rows) },
  }, { metadata: { format: "saelab-activations", split: options.split } });
  await writeBytesAtomic(path, bytes);
  return {
    file: path.slice(path.lastIndexOf("/") + 1),
    rows,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/**
 * Decode a chunk's bytes, checking them against its manifest entry.
 *
 * @param bytes The file's content.
 * @param entry The manifest entry.
 * @param options Expected row width, the store folder (for messages), and whether to check the SHA-256.
 * @returns The rows.
 * @throws {StoreError} When the size, hash, tensors or shapes disagree with the manifest.
 */
export function decodeChunk(
  bytes: Uint8Array,
  entry: ChunkEntry,
  options: { d: number; dir: string; verify: boolean },
): RowBlock {
  const where = `chunk ${entry.file} of the activation store in ${options.dir}`;
  if (bytes.length !== entry.bytes) {
    throw new StoreError(
      `Cannot read ${where}: it has ${bytes.length} bytes but the manifest says ${entry.bytes} (truncated or replaced)`,
      entry.file,
    );
  }
  if (options.verify) {
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== entry.sha256) {
      throw new StoreError(
        `Cannot read ${where}: its SHA-256 differs from the manifest's (the file is corrupted)`,
        entry.file,
      );
    }
  }
  try {
    const f = parseSafetensors(bytes, { name: entry.file });
    const acts = f.getSync("acts");
    const ints = ["doc", "pos", "token"].map((n) => f.getSync(n));
    const { rows, d } = { rows: entry.rows, d: options.d };
    if (!(acts.data instanceof Float32Array) || acts.shape[0] !== rows || acts.shape[1] !== d) {
      throw new StoreError(
        `Cannot read ${where}: acts has shape [${acts.shape}] but [${rows}, ${d}] was expected`,
        entry.file,
      );
    }
    for (const t of ints) {
      if (!(t.data instanceof Int32Array) || t.data.length !== rows) {
        throw new StoreError(`Cannot read ${where}: an id column is not I32 [${rows}]`, entry.file);
      }
    }
    return {
      rows,
      d,
      x: acts.data,
      doc: ints[0].data as Int32Array,
      pos: ints[1].data as Int32Array,
      token: ints[2].data as Int32Array,
    };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(`Cannot read ${where}: ${(e as Error).message}`, entry.file, { cause: e });
  }
}

/**
 * Read a chunk file's bytes, turning a missing file into a clear {@linkcode StoreError}.
 *
 * @param dir The store folder.
 * @param entry The manifest entry.
 * @returns The bytes.
 */
export async function readChunkBytes(dir: string, entry: ChunkEntry): Promise<Uint8Array> {
  try {
    return await Deno.readFile(`${dir}/${entry.file}`);
  } catch (e) {
    throw missing(dir, entry, e);
  }
}

/**
 * Synchronous {@linkcode readChunkBytes}.
 *
 * @param dir The store folder.
 * @param entry The manifest entry.
 * @returns The bytes.
 */
export function readChunkBytesSync(dir: string, entry: ChunkEntry): Uint8Array {
  try {
    return Deno.readFileSync(`${dir}/${entry.file}`);
  } catch (e) {
    throw missing(dir, entry, e);
  }
}

function missing(dir: string, entry: ChunkEntry, e: unknown): Error {
  if (e instanceof Deno.errors.NotFound) {
    return new StoreError(
      `Cannot read chunk ${entry.file} of the activation store in ${dir}: the file is missing ` +
        `(the manifest lists it with ${entry.rows} rows); harvest its rows again (reharvestChunks) or into a fresh folder`,
      entry.file,
      { cause: e },
    );
  }
  return e as Error;
}
