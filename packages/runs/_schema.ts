/**
 * A tiny structural checker: each check appends human-readable problems (`path: why`) to a list.
 *
 * @module
 */

/** Appends a problem for every way `value` differs from what is expected at `path`. */
export type Check = (value: unknown, path: string, problems: string[]) => void;

const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** A string (optionally non-empty). */
export const str = (nonEmpty = false): Check => (v, p, out) => {
  if (typeof v !== "string") out.push(`${p}: expected a string, got ${kind(v)}`);
  else if (nonEmpty && v.length === 0) out.push(`${p}: expected a non-empty string`);
};

/** A finite number, optionally bounded and integral. */
export const num = (o: { min?: number; max?: number; int?: boolean } = {}): Check => (v, p, out) => {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    return void out.push(`${p}: expected a finite number, got ${kind(v)}`);
  }
  if (o.int && !Number.isInteger(v)) out.push(`${p}: expected an integer, got ${v}`);
  if (o.min !== undefined && v < o.min) out.push(`${p}: ${v} is below ${o.min}`);
  if (o.max !== undefined && v > o.max) out.push(`${p}: ${v} is above ${o.max}`);
};

/** A boolean. */
export const bool: Check = (v, p, out) => {
  if (typeof v !== "boolean") out.push(`${p}: expected a boolean, got ${kind(v)}`);
};

/** One of the given strings. */
export const oneOf = (values: readonly string[]): Check => (v, p, out) => {
  if (typeof v !== "string" || !values.includes(v)) {
    out.push(`${p}: expected one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
  }
};

/** Absent (undefined) or passing `c`. */
export const opt = (c: Check): Check => (v, p, out) => {
  if (v !== undefined) c(v, p, out);
};

/** `null` or passing `c`. */
export const nullable = (c: Check): Check => (v, p, out) => {
  if (v !== null) c(v, p, out);
};

/** An array whose every element passes `c` (optionally of a given length). */
export const arr = (c: Check, o: { length?: number; minLength?: number } = {}): Check => (v, p, out) => {
  if (!Array.isArray(v)) return void out.push(`${p}: expected an array, got ${kind(v)}`);
  if (o.length !== undefined && v.length !== o.length) out.push(`${p}: expected ${o.length} items, got ${v.length}`);
  if (o.minLength !== undefined && v.length < o.minLength) out.push(`${p}: expected ≥ ${o.minLength} items`);
  for (let i = 0; i < v.length && out.length < 50; i++) c(v[i], `${p}[${i}]`, out);
};

/** A plain object with the given fields (extra fields allowed). */
export const obj = (fields: Record<string, Check>): Check => (v, p, out) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return void out.push(`${p}: expected an object, got ${kind(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const [k, c] of Object.entries(fields)) c(o[k], `${p}.${k}`, out);
};

/** A plain object whose every value passes `c`. */
export const rec = (c: Check): Check => (v, p, out) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return void out.push(`${p}: expected an object, got ${kind(v)}`);
  }
  for (const [k, x] of Object.entries(v)) c(x, `${p}.${k}`, out);
};

/** Both checks. */
export const all = (...cs: Check[]): Check => (v, p, out) => {
  for (const c of cs) c(v, p, out);
};

/** A custom condition on an already-shaped value. */
export const where = (test: (v: never) => string | null): Check => (v, p, out) => {
  const why = test(v as never);
  if (why) out.push(`${p}: ${why}`);
};
