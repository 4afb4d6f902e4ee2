/**
 * The structural checks of the run-folder format, as valibot schemas with messages that say what was
 * expected and what was found; {@linkcode problems} lists every issue as `path: why`.
 *
 * @module
 */
import * as v from "valibot";

/** A check of one value: a valibot schema. */
export type Check = v.GenericSchema<unknown, unknown>;

const kind = (x: unknown) => (x === null ? "null" : Array.isArray(x) ? "array" : typeof x);

/** A string (optionally non-empty). */
export const str = (nonEmpty = false): Check => {
  const s = v.string((i) => `expected a string, got ${kind(i.input)}`);
  return (nonEmpty ? v.pipe(s, v.nonEmpty("expected a non-empty string")) : s) as Check;
};

/** A finite number, optionally bounded and integral. */
export const num = (o: { min?: number; max?: number; int?: boolean } = {}): Check => {
  const steps: v.PipeItem<number, number, v.BaseIssue<unknown>>[] = [
    v.finite((i) => `expected a finite number, got ${i.input}`),
  ];
  if (o.int) steps.push(v.integer((i) => `expected an integer, got ${i.input}`));
  if (o.min !== undefined) steps.push(v.minValue(o.min, (i) => `${i.input} is below ${o.min}`));
  if (o.max !== undefined) steps.push(v.maxValue(o.max, (i) => `${i.input} is above ${o.max}`));
  return v.pipe(v.number((i) => `expected a finite number, got ${kind(i.input)}`), ...steps) as Check;
};

/** A boolean. */
export const bool: Check = v.boolean((i) => `expected a boolean, got ${kind(i.input)}`) as Check;

/** One of the given strings. */
export const oneOf = (values: readonly string[]): Check =>
  v.picklist(values, (i) => `expected one of ${values.join(", ")}, got ${JSON.stringify(i.input)}`) as Check;

/** Absent (undefined) or passing `c`. */
export const opt = (c: Check): Check => v.optional(c) as Check;

/** `null` or passing `c`. */
export const nullable = (c: Check): Check => v.nullable(c) as Check;

/** An array whose every element passes `c` (optionally of a given length). */
export const arr = (c: Check, o: { length?: number; minLength?: number } = {}): Check => {
  const steps: v.PipeItem<unknown[], unknown[], v.BaseIssue<unknown>>[] = [];
  if (o.length !== undefined) {
    steps.push(v.length(o.length, (i) => `expected ${o.length} items, got ${(i.input as unknown[]).length}`));
  }
  if (o.minLength !== undefined) steps.push(v.minLength(o.minLength, `expected ≥ ${o.minLength} items`));
  return v.pipe(v.array(c, (i) => `expected an array, got ${kind(i.input)}`), ...steps) as Check;
};

const plain = v.custom<Record<string, unknown>>(
  (x) => typeof x === "object" && x !== null && !Array.isArray(x),
  (i) => `expected an object, got ${kind(i.input)}`,
);

/** Run `checks` on the value and report their issues as its own (paths kept). */
const forward = (checks: Check[]) =>
  v.rawCheck<unknown>(({ dataset, addIssue }) => {
    for (const c of checks) {
      const r = v.safeParse(c, dataset.value);
      if (!r.success) { for (const issue of r.issues) addIssue({ message: issue.message, path: issue.path }); }
    }
  });

/** A required field: a missing one is checked as `undefined`, so the message says what was expected. */
const required = (c: Check): Check => v.pipe(v.optional(v.unknown(), () => undefined), forward([c])) as Check;

/** A plain object with the given fields (extra fields allowed). */
export const obj = (fields: Record<string, Check>): Check =>
  v.pipe(
    plain,
    v.looseObject(Object.fromEntries(
      Object.entries(fields).map(([k, c]) => [k, c.type === "optional" ? c : required(c)]),
    )),
  ) as Check;

/** A plain object whose every value passes `c`. */
export const rec = (c: Check): Check => v.pipe(plain, v.record(v.string(), c)) as Check;

/** Both checks (the later ones on a value the first accepted). */
export const all = (first: Check, ...rest: Check[]): Check => v.pipe(first, forward(rest)) as Check;

/** A custom condition on an already-shaped value. */
export const where = (test: (v: never) => string | null): Check =>
  v.pipe(v.unknown(), v.check((x) => test(x as never) === null, (i) => test(i.input as never) ?? "")) as Check;

/** Any value. */
export const any: Check = v.unknown() as Check;

/**
 * Every way `value` differs from `check`, each as `path: why` (`$` is the value itself).
 *
 * @param check The schema.
 * @param value The value.
 * @returns The problems; empty when the value conforms.
 * @example
 * ```ts ignore
 * problems(num({ min: 0 }), -1); // ["$: -1 is below 0"]
 * ```
 */
export function problems(check: Check, value: unknown): string[] {
  const r = v.safeParse(check, value);
  if (r.success) return [];
  return r.issues.map((issue) => {
    const path = (issue.path ?? []).map((p) => typeof p.key === "number" ? `[${p.key}]` : `.${String(p.key)}`);
    return `$${path.join("")}: ${issue.message}`;
  });
}
