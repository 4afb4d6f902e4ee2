/**
 * Atomic file writes: the content goes to a temporary file in the target's folder, is synced to
 * disk, then renamed over the target, so a reader sees either the old file or the new one, never
 * half of one. On failure the temporary file is removed and an existing target is left as it was.
 * Missing parent folders are created. File-system errors keep their class and gain the target path
 * in their message (a full disk also the bytes the file needs: {@linkcode describeWriteError}); errors
 * thrown by a content producer pass through unchanged.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { finiteJson } from "./json.ts";

/** Whether an error is the file system's "no space left on device". */
function diskFull(e: unknown): boolean {
  return e instanceof Error && ((e as { code?: string }).code === "ENOSPC" || /\(os error 28\)/.test(e.message));
}

/**
 * The message of a failed write of `path`: the path, and for a full disk (ENOSPC) the bytes the file
 * needs and how many were written before the disk filled.
 *
 * @param e The error the file system raised.
 * @param options The target, the file's size when known (else at least `written` plus the chunk in hand),
 *   and the bytes written before the error.
 * @returns The message.
 * @example
 * ```ts
 * import { describeWriteError } from "@saelab/core/fs";
 * const e = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * const m = describeWriteError(e, { path: "runs/r1/x.bin", bytes: 4096, written: 1024 });
 * if (!m.includes("needs 4096 bytes")) throw new Error(m);
 * ```
 */
export function describeWriteError(
  e: unknown,
  options: { path: string; bytes?: number; written: number; atLeast?: number },
): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!diskFull(e)) return `Cannot write ${options.path}: ${message}`;
  const needs = options.bytes !== undefined
    ? `${options.bytes} bytes`
    : `at least ${options.atLeast ?? options.written} bytes`;
  return `Cannot write ${options.path}: the disk is full (ENOSPC): the file needs ${needs}, ${options.written} were ` +
    `written before the disk filled; free space in ${dirname(options.path)} and rerun`;
}

/**
 * Write bytes produced chunk by chunk to `path` atomically.
 *
 * @param path The destination.
 * @param chunks Produces the content, in order (may throw; the target is then untouched).
 * @param options The file's size when known (named in the error when the disk is full).
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
export async function writeChunksAtomic(
  path: string,
  chunks: () => Iterable<Uint8Array>,
  options: { bytes?: number } = {},
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile | undefined;
  let ok = false, producing = false;
  let total = 0, inHand = 0;
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
      inHand = chunk.length;
      let written = 0;
      while (written < chunk.length) {
        const n = await file.write(chunk.subarray(written));
        written += n;
        total += n;
      }
    }
    await file.syncData();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
    ok = true;
  } catch (e) {
    if (!producing && e instanceof Error && !e.message.includes(path)) {
      e.message = describeWriteError(e, { path, bytes: options.bytes, written: total, atLeast: total + inHand });
    }
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
  return writeChunksAtomic(path, () => [data], { bytes: data.length });
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
