/**
 * Names in run files that changed: the token-lookup scoring backend was once called `offline`.
 * Readers hand every file on with the current names ({@linkcode currentNames}).
 *
 * @module
 */
import type { FileKind } from "./validate.ts";

/** Name of the token-lookup scoring backend in run files. */
export const TOKEN_LOOKUP = "token-lookup";

/** Earlier names of the token-lookup backend, still accepted when run files are read. */
export const TOKEN_LOOKUP_OLD_NAMES: readonly string[] = ["offline"];

/**
 * The current name of a scoring backend: old names of the token-lookup backend map to
 * {@linkcode TOKEN_LOOKUP}, any other name is returned as it is.
 *
 * @param name A backend name as read from a run file.
 * @returns The name to use.
 * @example
 * ```ts
 * import { currentBackendName } from "@saelab/runs";
 * if (currentBackendName("offline") !== "token-lookup") throw new Error();
 * if (currentBackendName("openai:m") !== "openai:m") throw new Error();
 * ```
 */
export function currentBackendName(name: string): string {
  return TOKEN_LOOKUP_OLD_NAMES.includes(name) ? TOKEN_LOOKUP : name;
}

/**
 * A conforming file with old names replaced by current ones: the token-lookup backend's old names in
 * `scores.json` (entries and `backends` keys), `index.json` and feature details. Other kinds are
 * returned as they are.
 *
 * @param kind Which file it is.
 * @param value The parsed, validated file.
 * @returns The value with current names (a new object where something changed).
 * @example
 * ```ts
 * import { currentNames } from "@saelab/runs";
 * const s = currentNames("scores", { dicts: { pca: { backend: "offline" } } }) as {
 *   dicts: { pca: { backend: string } };
 * };
 * if (s.dicts.pca.backend !== "token-lookup") throw new Error();
 * ```
 */
export function currentNames(kind: FileKind, value: unknown): unknown {
  const rename = <T>(e: T): T => {
    const b = (e as { backend?: unknown })?.backend;
    return typeof b === "string" && b !== currentBackendName(b) ? { ...e, backend: currentBackendName(b) } : e;
  };
  if (kind === "featureIndex") return rename(value);
  if (kind === "featureDetail") {
    const detail = rename(value) as { results?: Record<string, unknown> };
    if (!detail.results) return detail;
    const results: Record<string, unknown> = {};
    // a result under the current name wins over one under an old name
    for (const [b, r] of Object.entries(detail.results)) {
      if (b !== currentBackendName(b) && currentBackendName(b) in detail.results) continue;
      results[currentBackendName(b)] = r;
    }
    return { ...detail, results };
  }
  if (kind !== "scores") return value;
  const file = value as { dicts: Record<string, unknown>; backends?: Record<string, Record<string, unknown>> };
  const dicts = Object.fromEntries(Object.entries(file.dicts).map(([k, e]) => [k, rename(e)]));
  if (!file.backends) return { ...file, dicts };
  const backends: Record<string, Record<string, unknown>> = {};
  for (const [b, entries] of Object.entries(file.backends)) {
    const into = (backends[currentBackendName(b)] ??= {});
    for (const [k, e] of Object.entries(entries ?? {})) into[k] = rename(e);
  }
  return { ...file, dicts, backends };
}
