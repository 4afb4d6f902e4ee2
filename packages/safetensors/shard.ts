/**
 * Sharded checkpoints as Hugging Face writes them: `model-00001-of-00003.safetensors`, …, and
 * `model.safetensors.index.json` = `{"metadata": {"total_size": …}, "weight_map": {name: shard}}`.
 * Pure functions; the file access lives in `checkpoint.ts`.
 *
 * @module
 */
import { compareCodePoints } from "./_names.ts";
import { SafetensorsError } from "./errors.ts";

/** A parsed index file. */
export interface CheckpointIndex {
  /** The index's `metadata` object (e.g. `total_size`), as written. */
  metadata: Record<string, unknown>;
  /** Tensor name → shard file name (in the same folder). */
  weightMap: Map<string, string>;
}

/**
 * Group tensors into shards in name order: a shard is closed when the next tensor would take
 * it past `maxShardBytes`; a tensor larger than the limit gets a shard of its own.
 *
 * @param sizes Tensor name → bytes.
 * @param maxShardBytes Most data bytes per shard (positive).
 * @returns Names per shard, in order (at least one shard, possibly empty).
 * @example
 * ```ts
 * import { planShards } from "@saelab/safetensors";
 * console.log(planShards({ a: 60, b: 60, c: 30 }, 100)); // [["a"], ["b", "c"]]
 * ```
 */
export function planShards(sizes: Record<string, number>, maxShardBytes: number): string[][] {
  if (!(maxShardBytes > 0)) {
    throw new RangeError(`Cannot plan shards: maxShardBytes must be positive, got ${maxShardBytes}`);
  }
  const shards: string[][] = [[]];
  let used = 0;
  for (const name of Object.keys(sizes).sort(compareCodePoints)) {
    const size = sizes[name];
    const current = shards[shards.length - 1];
    if (current.length > 0 && used + size > maxShardBytes) {
      shards.push([name]);
      used = size;
    } else {
      current.push(name);
      used += size;
    }
  }
  return shards;
}

/**
 * The name of shard `i` (0-based) of `n`: `model.safetensors` → `model-00001-of-00002.safetensors`.
 *
 * @param filename The single-file name the checkpoint would have.
 * @param shard Index and count.
 * @returns The shard's file name.
 */
export function shardFileName(filename: string, shard: { index: number; count: number }): string {
  const stem = filename.endsWith(".safetensors") ? filename.slice(0, -".safetensors".length) : filename;
  const pad = (k: number) => String(k).padStart(5, "0");
  return `${stem}-${pad(shard.index + 1)}-of-${pad(shard.count)}.safetensors`;
}

/**
 * Parse and check an index file: `weight_map` must map names to plain file names in the same folder.
 *
 * @param text The file's text.
 * @param file Its name, for errors.
 * @returns The metadata and the weight map.
 */
export function parseIndex(text: string, file: string): CheckpointIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SafetensorsError(`Cannot read ${file}: not valid JSON (${String(cause)})`, { file, cause });
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(parsed) || !isObject(parsed.weight_map)) {
    throw new SafetensorsError(`Cannot read ${file}: expected an object with a "weight_map" object`, { file });
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(parsed.weight_map)) {
    if (typeof shard !== "string" || !isPlainFileName(shard)) {
      throw new SafetensorsError(
        `Cannot read ${file}: tensor ${JSON.stringify(name)} maps to ${
          JSON.stringify(shard)
        }, not a file name in the same folder`,
        { file, tensor: name },
      );
    }
    weightMap.set(name, shard);
  }
  return { metadata: isObject(parsed.metadata) ? { ...parsed.metadata } : {}, weightMap };
}

function isPlainFileName(s: string): boolean {
  return s.length > 0 && s !== "." && s !== ".." && !/[\\/\0]/.test(s) && !/^[A-Za-z]:/.test(s);
}

/**
 * The text of an index file.
 *
 * @param weightMap Tensor name → shard file name.
 * @param totalSize Total data bytes over all shards.
 * @returns JSON text (sorted names, 2-space indent, final newline).
 */
export function formatIndex(weightMap: Map<string, string>, totalSize: number): string {
  const names = [...weightMap.keys()].sort(compareCodePoints);
  const map: Record<string, string> = {};
  for (const n of names) Object.defineProperty(map, n, { value: weightMap.get(n), enumerable: true });
  return JSON.stringify({ metadata: { total_size: totalSize }, weight_map: map }, null, 2) + "\n";
}
