/**
 * Seeded mutations of a valid JSON file for the loaders' fuzz tests: truncation, byte flips,
 * inserted bytes, a field deleted, a value replaced by one of the wrong type, a huge, tiny,
 * negative or fractional number, an array element duplicated, two values swapped.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1) (`seededRandom` of `@saelab/core`). */
export type Rng = () => number;

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

type Path = (string | number)[];

/** Every path into a JSON value, grouped by depth. */
function pathsByDepth(value: unknown): Path[][] {
  const out: Path[][] = [];
  const walk = (v: unknown, path: Path) => {
    if (path.length > 0) (out[path.length - 1] ??= []).push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === "object") { for (const [k, x] of Object.entries(v)) walk(x, [...path, k]); }
  };
  walk(value, []);
  return out.filter((d) => d && d.length > 0);
}

/** A path chosen depth first (so top-level fields are hit as often as the entries of a long vocab). */
function somePath(r: Rng, value: unknown): Path | undefined {
  const depths = pathsByDepth(value);
  return depths.length === 0 ? undefined : pick(r, pick(r, depths));
}

function parentOf(root: unknown, path: Path): { parent: Record<string | number, unknown>; key: string | number } {
  let parent = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  return { parent, key: path[path.length - 1] };
}

const WRONG_TYPES: unknown[] = ["false", "true", "1", "", null, [], {}, true, false, [1, 2], { a: 1 }];
const NUMBERS: unknown[] = [1e308, -1e308, 1e300, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 2 ** 31, 2 ** 24, 1e-300, -1, 0, 0.5];

/**
 * One random mutation of a valid JSON value, as the bytes of a file.
 *
 * @param r The seeded generator.
 * @param value The valid parsed file (not modified).
 * @returns The mutation's kind (for a tally) and the file's bytes.
 * @example
 * ```ts
 * import { seededRandom } from "@saelab/core";
 * import { mutateJson } from "./_json_mutate.ts";
 * const { kind, bytes } = mutateJson(seededRandom(1), { a: [1, 2], b: "x" });
 * console.log(typeof kind, bytes instanceof Uint8Array); // string true
 * ```
 */
export function mutateJson(r: Rng, value: unknown): { kind: string; bytes: Uint8Array } {
  const text = JSON.stringify(value, null, int(r, 2) ? 2 : undefined);
  const bytes = new TextEncoder().encode(text);
  const copy = structuredClone(value);
  const done = (kind: string, v: unknown) => ({ kind, bytes: new TextEncoder().encode(JSON.stringify(v)) });
  const path = somePath(r, copy);
  switch (int(r, 9)) {
    case 0:
      return { kind: "truncation", bytes: bytes.slice(0, int(r, bytes.length)) };
    case 1: {
      const m = bytes.slice();
      for (let n = 1 + int(r, 4); n > 0; n--) {
        m[int(r, m.length)] = int(r, 2) ? int(r, 256) : pick(r, [...'{}[]":,0-9e.']).charCodeAt(0);
      }
      return { kind: "byte flips", bytes: m };
    }
    case 2: {
      const at = int(r, bytes.length + 1);
      const extra = new TextEncoder().encode(
        pick(r, ["0", "-", ",", '"', "}", "]", "null", "1e999", "\u0000", "\ufffd"]),
      );
      const m = new Uint8Array(bytes.length + extra.length);
      m.set(bytes.subarray(0, at));
      m.set(extra, at);
      m.set(bytes.subarray(at), at + extra.length);
      return { kind: "insertion", bytes: m };
    }
  }
  if (!path) return { kind: "unchanged", bytes };
  const { parent, key } = parentOf(copy, path);
  switch (int(r, 6)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return done("missing field", copy);
    case 1:
      parent[key] = pick(r, WRONG_TYPES);
      return done("wrong type", copy);
    case 2:
      parent[key] = pick(r, NUMBERS);
      return done("huge or odd number", copy);
    case 3: {
      const v = parent[key];
      parent[key] = typeof v === "number" ? pick(r, [v + 1, v - 1, -v, v * 2 ** 20, v + 0.5, v * 1e300]) : String(v);
      return done("number edit", copy);
    }
    case 4: {
      const arr = Array.isArray(parent) ? parent : Array.isArray(parent[key]) ? parent[key] as unknown[] : null;
      if (arr && arr.length) arr.push(structuredClone(arr[int(r, arr.length)]));
      else parent[key] = [parent[key], parent[key]];
      return done("duplicate element", copy);
    }
    default: {
      const other = somePath(r, copy);
      if (
        !other || other.join("\u0000").startsWith(path.join("\u0000")) ||
        path.join("\u0000").startsWith(other.join("\u0000"))
      ) {
        return done("swap values (none)", copy);
      }
      const o = parentOf(copy, other);
      [parent[key], o.parent[o.key]] = [o.parent[o.key], parent[key]];
      return done("swap values", copy);
    }
  }
}
