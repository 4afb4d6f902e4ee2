/**
 * Checkpoint folders (Deno): `model.safetensors`, or `model.safetensors.index.json` plus its
 * shards, behind one {@linkcode TensorReader}; and the matching writer.
 *
 * @module
 */
import { join } from "node:path";
import { compareCodePoints } from "./_names.ts";
import type { TensorData } from "./decode.ts";
import { checkInput, type TensorInput } from "./encode.ts";
import { SafetensorsError } from "./errors.ts";
import { writeBytesAtomic } from "@saelab/core/fs";
import { openSafetensors, writeSafetensors } from "./file.ts";
import type { TensorInfo } from "./header.ts";
import type { SafetensorsFile, TensorReader } from "./reader.ts";
import type { WriteOptions } from "./serialize.ts";
import { formatIndex, parseIndex, planShards, shardFileName } from "./shard.ts";

/** Options naming the checkpoint's files. */
export interface CheckpointOptions {
  /** The single-file name; the index is this plus `.index.json`. Default `"model.safetensors"`. */
  filename?: string;
}

/** Options for {@linkcode writeCheckpoint}. */
export interface WriteCheckpointOptions extends CheckpointOptions, WriteOptions {
  /** Most data bytes per shard; above it the checkpoint is sharded. Default: never shard. */
  maxShardBytes?: number;
}

/** A checkpoint folder, single-file or sharded, read lazily. */
export class Checkpoint implements TensorReader {
  /** Tensor names, sorted by code point. */
  readonly names: readonly string[];
  /** The shards' `__metadata__`, merged in shard order. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The index's `metadata` (e.g. `total_size`); empty for a single file. */
  readonly indexMetadata: Readonly<Record<string, unknown>>;
  /** Paths of the open files, in shard order. */
  readonly files: readonly string[];
  #where: Map<string, SafetensorsFile>;
  #shards: SafetensorsFile[];

  /**
   * Prefer {@linkcode openCheckpoint}.
   *
   * @param shards The open files.
   * @param options Which file holds each tensor, and the index metadata.
   */
  constructor(
    shards: SafetensorsFile[],
    options: { where: Map<string, SafetensorsFile>; indexMetadata?: Record<string, unknown> },
  ) {
    this.#shards = shards;
    this.#where = options.where;
    this.names = Object.freeze([...options.where.keys()].sort(compareCodePoints));
    this.metadata = Object.freeze(Object.fromEntries(shards.flatMap((s) => Object.entries(s.metadata))));
    this.indexMetadata = Object.freeze({ ...options.indexMetadata });
    this.files = Object.freeze(shards.map((s) => s.file));
  }

  /** Whether a tensor exists. */
  has(name: string): boolean {
    return this.#where.has(name);
  }

  #shard(name: string): SafetensorsFile {
    const shard = this.#where.get(name);
    if (shard === undefined) {
      const file = this.files.length === 1 ? this.files[0] : `${this.files.length} shards`;
      throw new SafetensorsError(`Cannot find tensor ${JSON.stringify(name)} in ${file}`, { file, tensor: name });
    }
    return shard;
  }

  /** What the header says about a tensor; `file` names its shard. */
  info(name: string): TensorInfo {
    return this.#shard(name).info(name);
  }

  /** Read and decode a tensor. */
  async get(name: string): Promise<TensorData> {
    return await this.#shard(name).get(name);
  }

  /** Read a float tensor as `Float32Array`. */
  async getFloat32(name: string): Promise<Float32Array> {
    return await this.#shard(name).getFloat32(name);
  }

  /** Read an integer tensor as `Int32Array` (range-checked). */
  async getInt32(name: string): Promise<Int32Array> {
    return await this.#shard(name).getInt32(name);
  }

  /** Read a tensor's raw bytes. */
  async getRaw(name: string): Promise<Uint8Array> {
    return await this.#shard(name).getRaw(name);
  }

  /** Close every shard. */
  close(): void {
    for (const s of this.#shards) s.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Open a checkpoint folder: `model.safetensors` if present, else `model.safetensors.index.json`
 * and the shards its `weight_map` names. Only headers are read.
 *
 * @param dir The folder.
 * @param options `filename` (default `"model.safetensors"`).
 * @returns The checkpoint; close it (or `using`) when done.
 * @throws {SafetensorsError} When neither file exists, the index is malformed, a shard is invalid
 *   or lacks a tensor the index assigns to it.
 * @example
 * ```ts ignore
 * import { openCheckpoint } from "@saelab/safetensors";
 * using ckpt = await openCheckpoint("models/pythia-70m");
 * const wte = await ckpt.getFloat32("gpt_neox.embed_in.weight"); // [vocab, d_model]
 * ```
 */
export async function openCheckpoint(dir: string, options: CheckpointOptions = {}): Promise<Checkpoint> {
  const filename = options.filename ?? "model.safetensors";
  const single = join(dir, filename);
  if (await exists(single)) {
    const f = await openSafetensors(single);
    return new Checkpoint([f], { where: new Map(f.names.map((n) => [n, f])) });
  }
  const indexPath = `${single}.index.json`;
  if (!(await exists(indexPath))) {
    throw new SafetensorsError(`Cannot open checkpoint ${dir}: found neither ${filename} nor ${filename}.index.json`, {
      file: dir,
    });
  }
  const index = parseIndex(await Deno.readTextFile(indexPath), indexPath);
  const opened = new Map<string, SafetensorsFile>();
  try {
    for (const shard of new Set(index.weightMap.values())) {
      if (!(await exists(join(dir, shard)))) {
        const tensor = [...index.weightMap].find(([, s]) => s === shard)![0];
        throw new SafetensorsError(
          `Cannot open checkpoint ${dir}: ${indexPath} names shard ${shard}, which is missing`,
          {
            file: join(dir, shard),
            tensor,
          },
        );
      }
      opened.set(shard, await openSafetensors(join(dir, shard)));
    }
    const where = new Map<string, SafetensorsFile>();
    for (const [name, shard] of index.weightMap) {
      const f = opened.get(shard)!;
      if (!f.has(name)) {
        throw new SafetensorsError(
          `Cannot open checkpoint ${dir}: ${indexPath} puts tensor ${JSON.stringify(name)} in ${shard}, which lacks it`,
          { file: f.file, tensor: name },
        );
      }
      where.set(name, f);
    }
    return new Checkpoint([...opened.values()], { where, indexMetadata: index.metadata });
  } catch (error) {
    for (const f of opened.values()) f.close();
    throw error;
  }
}

async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Shard names listed by an existing index, or none when it is absent or unreadable. */
async function listedShards(indexPath: string): Promise<Set<string>> {
  try {
    return new Set(parseIndex(await Deno.readTextFile(indexPath), indexPath).weightMap.values());
  } catch {
    return new Set();
  }
}

/**
 * Write a checkpoint folder: one `model.safetensors` while the data fits in `maxShardBytes`,
 * otherwise shards plus `model.safetensors.index.json` (written last). Every file is written
 * atomically; files of a previous checkpoint of the other layout are removed afterwards, so
 * {@linkcode openCheckpoint} never sees a stale mix.
 *
 * @param dir The folder (created if missing).
 * @param tensors Tensors by name.
 * @param options `maxShardBytes`, `metadata` (in every shard), `filename`.
 * @returns The paths written (shards, then the index).
 * @example
 * ```ts ignore
 * import { writeCheckpoint } from "@saelab/safetensors";
 * await writeCheckpoint("out/model", tensors, { maxShardBytes: 2 ** 30, metadata: { format: "pt" } });
 * ```
 */
export async function writeCheckpoint(
  dir: string,
  tensors: Record<string, TensorInput>,
  options: WriteCheckpointOptions = {},
): Promise<string[]> {
  const filename = options.filename ?? "model.safetensors";
  const sizes: Record<string, number> = {};
  for (const name of Object.keys(tensors)) {
    Object.defineProperty(sizes, name, { value: checkInput(name, tensors[name]), enumerable: true });
  }
  const shards = planShards(sizes, options.maxShardBytes ?? Infinity);
  await Deno.mkdir(dir, { recursive: true });
  const single = join(dir, filename), indexPath = `${single}.index.json`;
  const stale = await listedShards(indexPath);
  const written: string[] = [];
  if (shards.length === 1) {
    await writeSafetensors(single, tensors, options);
    written.push(single);
    await removeIfExists(indexPath);
  } else {
    const weightMap = new Map<string, string>();
    let total = 0;
    for (const [index, names] of shards.entries()) {
      const shardName = shardFileName(filename, { index, count: shards.length });
      const part: Record<string, TensorInput> = {};
      for (const n of names) {
        Object.defineProperty(part, n, { value: tensors[n], enumerable: true });
        weightMap.set(n, shardName);
        total += sizes[n];
      }
      await writeSafetensors(join(dir, shardName), part, options);
      written.push(join(dir, shardName));
      stale.delete(shardName);
    }
    await writeBytesAtomic(indexPath, new TextEncoder().encode(formatIndex(weightMap, total)));
    written.push(indexPath);
    await removeIfExists(single);
  }
  for (const shard of stale) if (shard !== filename) await removeIfExists(join(dir, shard));
  return written;
}
