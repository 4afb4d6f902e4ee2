/**
 * Reuse of parsed, validated run files while they are unchanged on disk: the feature index of a large dictionary
 * (every feature's summary) and the atlas shards are read once and then served from memory until the file's
 * modification time, size or inode changes (atomic writes replace the inode). Bounded; oldest entry evicted first.
 *
 * @module
 */
import { resolveInside } from "@saelab/runs";

interface Entry<T> {
  stamp: string;
  value: Promise<T>;
}

/**
 * A memo of `read` by the file it reads.
 *
 * @param runsDir The runs folder.
 * @param options Most files kept (default 64).
 * @returns `get(segments, read)`: the value `read` gave while the file at `segments` has not changed since.
 * @example
 * ```ts ignore
 * const memo = fileMemo("runs");
 * const idx = await memo.get(["r1", "features", "pca", "index.json"], () => readFeatureIndex("runs", "r1", "pca"));
 * ```
 */
export function fileMemo(
  runsDir: string,
  options: { maxEntries?: number } = {},
): { get<T>(segments: readonly string[], read: () => Promise<T>): Promise<T> } {
  const max = options.maxEntries ?? 64;
  const entries = new Map<string, Entry<unknown>>();
  return {
    async get<T>(segments: readonly string[], read: () => Promise<T>): Promise<T> {
      const path = await resolveInside(runsDir, segments).catch(() => null);
      const info = path ? await Deno.stat(path).catch(() => null) : null;
      if (!path || !info?.isFile) return await read(); // missing or refused: the reader says so
      const stamp = `${info.mtime?.getTime()}:${info.size}:${info.ino}`;
      const hit = entries.get(path);
      if (hit && hit.stamp === stamp) {
        entries.delete(path);
        entries.set(path, hit); // most recently used last
        return await (hit.value as Promise<T>);
      }
      const value = read();
      entries.set(path, { stamp, value });
      value.catch(() => entries.delete(path));
      while (entries.size > max) entries.delete(entries.keys().next().value!);
      return await value;
    },
  };
}
