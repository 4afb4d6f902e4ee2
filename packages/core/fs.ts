/**
 * Atomic file writes: the content goes to a temporary file in the target's folder, is synced to
 * disk, then renamed over the target, so a reader sees either the old file or the new one, never
 * half of one. On failure the temporary file is removed and an existing target is left as it was.
 * Missing parent folders are created. File-system errors keep their class and gain the target path
 * in their message; errors thrown by a content producer pass through unchanged.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { finiteJson } from "./json.ts";

/**
 * Write bytes produced chunk by chunk to `path` atomically.
 *
 * @param path The destination.
 * @param chunks Produces the content, in order (may throw; the target is then untouched).
 * @returns Nothing.
 * @example
 * ```ts
 * import { writeChunksAtomic } from "@saelab/core/fs";
 * const dir = await Deno.makeTempDir();
 * await writeChunksAtomic(`${dir}/x.bin`, () => [new Uint8Array([1]), new Uint8Array([2, 3])]);
 * if ((await Deno.readFile(`${dir}/x.bin`)).length !== 3) throw new Error("short file");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeChunksAtomic(path: string, chunks: () => Iterable<Uint8Array>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile | undefined;
  let ok = false, producing = false;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    file = await Deno.open(tmp, { write: true, createNew: true });
    const source = chunks()[Symbol.iterator]();
    for (;;) {
      producing = true;
      const next = source.next();
      producing = false;
      if (next.done) break;
      const chunk = next.value;
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
    await file.syncData();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
    ok = true;
  } catch (e) {
    if (!producing && e instanceof Error && !e.message.includes(path)) e.message = `Cannot write ${path}: ${e.message}`;
    throw e;
  } finally {
    if (!ok) {
      try {
        file?.close();
      } catch { /* already closed */ }
      await Deno.remove(tmp).catch(() => {});
    }
  }
}

/**
 * Write bytes to `path` atomically.
 *
 * @param path The destination.
 * @param data The content.
 * @returns Nothing.
 * @example
 * ```ts
 * import { writeBytesAtomic } from "@saelab/core/fs";
 * const dir = await Deno.makeTempDir();
 * await writeBytesAtomic(`${dir}/sub/x.bin`, new Uint8Array([1, 2]));
 * if ((await Deno.readFile(`${dir}/sub/x.bin`))[1] !== 2) throw new Error("wrong content");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeBytesAtomic(path: string, data: Uint8Array): Promise<void> {
  return writeChunksAtomic(path, () => [data]);
}

/**
 * Write UTF-8 text to `path` atomically.
 *
 * @param path The destination.
 * @param text The content.
 * @returns Nothing.
 * @example
 * ```ts
 * import { writeTextAtomic } from "@saelab/core/fs";
 * const dir = await Deno.makeTempDir();
 * await writeTextAtomic(`${dir}/notes.txt`, "hello\n");
 * if ((await Deno.readTextFile(`${dir}/notes.txt`)) !== "hello\n") throw new Error("wrong content");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeBytesAtomic(path, new TextEncoder().encode(text));
}

/** Options for {@linkcode writeJsonAtomic}. */
export interface WriteJsonOptions {
  /** Indentation, as for `JSON.stringify`. Default 2. */
  space?: number;
}

/**
 * Write a value as JSON (pretty by default, with a final newline) to `path` atomically. Non-finite
 * numbers are refused rather than written as `null`.
 *
 * @param path The destination.
 * @param value Any JSON-serialisable value.
 * @param options Indentation.
 * @returns Nothing.
 * @throws {RangeError} When a number is not finite (nothing is written).
 * @example
 * ```ts
 * import { writeJsonAtomic } from "@saelab/core/fs";
 * const dir = await Deno.makeTempDir();
 * await writeJsonAtomic(`${dir}/scores.json`, { dicts: {} });
 * if (JSON.parse(await Deno.readTextFile(`${dir}/scores.json`)).dicts === undefined) throw new Error("lost");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeJsonAtomic(path: string, value: unknown, options: WriteJsonOptions = {}): Promise<void> {
  await writeTextAtomic(path, finiteJson(value, { what: path, space: options.space }) + "\n");
}
