/**
 * JSON text with a stable key order (for hashing) and JSON that refuses what it cannot hold.
 *
 * @module
 */

/**
 * Canonical JSON: object keys sorted, `undefined` fields dropped, no whitespace. Two values that
 * differ only in key order give the same text.
 *
 * @param value Any JSON value.
 * @returns The canonical text.
 * @example
 * ```ts
 * import { canonicalJson } from "@saelab/core";
 * if (canonicalJson({ b: [1, { d: 1, c: 2 }], a: 1 }) !== '{"a":1,"b":[1,{"c":2,"d":1}]}') throw new Error("order");
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Options for {@linkcode finiteJson}. */
export interface FiniteJsonOptions {
  /** Indentation, as for `JSON.stringify`. Default 2. */
  space?: number;
  /** What is being written (a file path), for the error message. Default `"JSON"`. */
  what?: string;
}

/**
 * `JSON.stringify` that refuses `NaN` and `±Infinity` (which it would silently write as `null`).
 *
 * @param value Any JSON-serialisable value.
 * @param options Indentation and the name used in errors.
 * @returns The JSON text.
 * @throws {RangeError} When a number is not finite; the message names the field.
 * @example
 * ```ts
 * import { finiteJson } from "@saelab/core";
 * let refused = false;
 * try {
 *   finiteJson({ loss: NaN }, { what: "scores.json" });
 * } catch {
 *   refused = true;
 * }
 * if (!refused || finiteJson([1], { space: 0 }) !== "[1]") throw new Error("wrong");
 * ```
 */
export function finiteJson(value: unknown, options: FiniteJsonOptions = {}): string {
  const what = options.what ?? "JSON";
  return JSON.stringify(value, (key, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new RangeError(`Cannot write ${what}: field ${JSON.stringify(key)} is ${v}, which JSON cannot hold`);
    }
    return v;
  }, options.space ?? 2);
}
