/**
 * Names inside a run folder, id validation and path joining that cannot leave the runs folder.
 *
 * @module
 */
import { isAbsolute, join, relative, resolve, sep } from "node:path";

/** Pattern every run id and dictionary name matches. */
export const ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** File and folder names inside `runs/<id>/`. */
export const RUN_FILES = {
  run: "run.json",
  metrics: "metrics.jsonl",
  saes: "saes",
  baselines: "baselines",
  features: "features",
  scores: "scores.json",
  patch: "patch.json",
  circuits: "circuits.json",
  toy: "toy.json",
  cfg: "cfg.json",
  weights: "sae_weights.safetensors",
  eval: "eval.json",
  featureIndex: "index.json",
  atlas: "atlas",
} as const;

/** Features per atlas shard (`features/<dict>/atlas/<shard>.json`). */
export const ATLAS_SHARD_SIZE = 64;

/**
 * Whether `id` is a valid run id or dictionary name.
 *
 * @param id Candidate.
 * @returns True when it matches {@linkcode ID_PATTERN} and is not made only of dots.
 * @example
 * ```ts
 * import { isValidId } from "@saelab/runs";
 * isValidId("sweep-1"); // true
 * isValidId("../etc"); // false
 * ```
 */
export function isValidId(id: unknown): id is string {
  return typeof id === "string" && ID_PATTERN.test(id) && !/^\.+$/.test(id);
}

/**
 * Throw unless `id` is a valid run id or dictionary name.
 *
 * @param id Candidate.
 * @param what What the id names, for the message (`"run id"`, `"dictionary name"`).
 * @returns The id.
 * @example
 * ```ts
 * import { validateId } from "@saelab/runs";
 * validateId("r4_a1e-3", "dictionary name");
 * ```
 */
export function validateId(id: unknown, what = "run id"): string {
  if (!isValidId(id)) {
    const shown = typeof id === "string" ? JSON.stringify(id.slice(0, 140)) : typeof id;
    throw new TypeError(
      `Invalid ${what} ${shown}: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

/**
 * Join path segments under `root`, refusing anything that could leave it: empty segments, `.`/`..`,
 * separators, NUL bytes and absolute paths. Purely lexical; {@linkcode resolveInside} also follows links.
 *
 * @param root The folder everything must stay inside.
 * @param segments One name per level (never a path with separators).
 * @returns The joined absolute path.
 * @example
 * ```ts
 * import { safeJoin } from "@saelab/runs";
 * safeJoin("/data/runs", ["demo", "run.json"]); // "/data/runs/demo/run.json"
 * ```
 */
export function safeJoin(root: string, segments: readonly string[]): string {
  const base = resolve(root);
  for (const s of segments) {
    if (typeof s !== "string" || s === "" || s === "." || s === ".." || /[\/\\\0]/.test(s) || isAbsolute(s)) {
      throw new TypeError(`Cannot join ${JSON.stringify(String(s))} under the runs folder: not a plain name`);
    }
  }
  const full = join(base, ...segments);
  if (!isInside(base, full)) throw new TypeError(`Cannot join ${segments.join("/")}: it leaves ${base}`);
  return full;
}

/**
 * Like {@linkcode safeJoin}, then resolve symbolic links and check again that the real path is still
 * inside the real root.
 *
 * @param root The folder everything must stay inside.
 * @param segments One name per level.
 * @returns The real path, or `null` when it does not exist.
 * @example
 * ```ts ignore
 * import { resolveInside } from "@saelab/runs";
 * const p = await resolveInside("runs", ["demo", "run.json"]);
 * ```
 */
export async function resolveInside(root: string, segments: readonly string[]): Promise<string | null> {
  const lexical = safeJoin(root, segments);
  let realRoot: string, real: string;
  try {
    realRoot = await Deno.realPath(root);
    real = await Deno.realPath(lexical);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  if (!isInside(realRoot, real)) throw new TypeError(`Cannot read ${segments.join("/")}: it links outside ${root}`);
  return real;
}

function isInside(base: string, full: string): boolean {
  if (full === base) return true;
  const rel = relative(base, full);
  return rel !== "" && !rel.startsWith(".." + sep) && rel !== ".." && !isAbsolute(rel);
}

/**
 * A fresh run id from a time and a random suffix, e.g. `"20250101-120000-3f9a"`.
 *
 * @param now The creation time.
 * @param suffix Up to 8 letters/digits; random when omitted.
 * @returns The id.
 * @example
 * ```ts
 * import { makeRunId } from "@saelab/runs";
 * makeRunId(new Date(Date.UTC(2025, 0, 1, 12)), { suffix: "ab12" }); // "20250101-120000-ab12"
 * ```
 */
export function makeRunId(now: Date, options: { suffix?: string } = {}): string {
  const iso = now.toISOString(); // 2025-01-01T12:00:00.000Z
  const stamp = iso.slice(0, 10).replaceAll("-", "") + "-" + iso.slice(11, 19).replaceAll(":", "");
  const suffix = options.suffix ??
    crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0").slice(0, 4);
  return validateId(`${stamp}-${suffix}`);
}
