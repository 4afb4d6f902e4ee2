/**
 * Stage option schemas: small valibot field builders that carry what the CLI needs (flag type,
 * description, default) as metadata, one `parseOptions` that checks a configuration against a
 * stage's schema with messages naming the flag, and `optionFields` that lists the flags for
 * parsing and `--help`. A stage's schema is the one place where its options, defaults and limits
 * are written down.
 *
 * @module
 */
import * as v from "valibot";

/** How a flag's text becomes a value; `numbers`/`strings` take comma-separated lists (`--ratios 1,2,4`). */
export type FlagType = "string" | "number" | "boolean" | "numbers" | "strings";

/** What the CLI knows of one option. */
export interface FieldInfo {
  /** Value type on the command line. */
  type: FlagType;
  /** One line of help. */
  describe: string;
  /** Allowed values, shown in help. */
  choices?: readonly string[];
  /** One-letter alias. */
  short?: string;
  /** Not a flag (set by the CLI itself, e.g. positional arguments). */
  hidden?: boolean;
}

/** A usage mistake (unknown flag or key, bad value): the CLI prints it and exits with code 2. */
export class UsageError extends TypeError {
  override name = "UsageError";
}

/** Any option schema. */
// deno-lint-ignore no-explicit-any
export type Field = v.GenericSchema<any, any>;

/** A stage's option schema: an object that refuses unknown keys. */
// deno-lint-ignore no-explicit-any
export type OptionsSchema = v.StrictObjectSchema<Record<string, Field>, any>;

const INFO = "saelabField";

function field<S extends Field>(schema: S, info: FieldInfo): S {
  return v.pipe(schema, v.metadata({ [INFO]: info })) as unknown as S;
}

type Limits = { min?: number; max?: number; positive?: boolean; below?: number };

function numberChecks(what: "whole number" | "number", limits: Limits) {
  const base = v.number((i) => `expected a ${what}, got ${i.received}`);
  const steps: v.PipeItem<number, number, v.BaseIssue<unknown>>[] = [
    v.finite((i) => `${i.received} is not a finite number`),
  ];
  if (what === "whole number") steps.push(v.integer((i) => `${i.received} is not a whole number`));
  if (limits.min !== undefined) steps.push(v.minValue(limits.min, (i) => `${i.received} is not ≥ ${limits.min}`));
  if (limits.positive) steps.push(v.gtValue(0, (i) => `${i.received} is not > 0`));
  if (limits.max !== undefined) steps.push(v.maxValue(limits.max, (i) => `${i.received} is not ≤ ${limits.max}`));
  if (limits.below !== undefined) steps.push(v.ltValue(limits.below, (i) => `${i.received} is not < ${limits.below}`));
  return v.pipe(base, ...steps);
}

/**
 * A whole-number option.
 *
 * @param describe One line of help.
 * @param options The default (omit for an optional value) and limits (`min`, `max`).
 * @returns The schema.
 * @example
 * ```ts
 * import { int } from "./_schema.ts";
 * const steps = int("optimiser steps", { default: 320, min: 1 });
 * ```
 */
export function int<D extends number | undefined = undefined>(
  describe: string,
  options: Limits & { default?: D } = {},
) {
  return field(v.optional(numberChecks("whole number", options), options.default as D), { type: "number", describe });
}

/**
 * A number option (`positive: true` for > 0, `min`, `max`, `below` for other limits).
 *
 * @param describe One line of help.
 * @param options The default and limits.
 * @returns The schema.
 * @example
 * ```ts
 * import { num } from "./_schema.ts";
 * const lr = num("Adam learning rate", { default: 1e-3, positive: true });
 * ```
 */
export function num<D extends number | undefined = undefined>(
  describe: string,
  options: Limits & { default?: D } = {},
) {
  return field(v.optional(numberChecks("number", options), options.default as D), { type: "number", describe });
}

/**
 * A non-empty list of numbers, duplicates dropped.
 *
 * @param describe One line of help.
 * @param options The default (omit for an optional list) and the limits of each number.
 * @returns The schema.
 * @example
 * ```ts
 * import { nums } from "./_schema.ts";
 * const ratios = nums("dictionary ratios", { default: [1, 2, 4], positive: true });
 * ```
 */
export function nums<D extends number[] | undefined = undefined>(
  describe: string,
  options: Limits & { default?: D } = {},
) {
  const list = v.pipe(
    v.array(numberChecks("number", options), (i) => `expected a list of numbers, got ${i.received}`),
    v.minLength(1, "expected at least one value"),
    v.transform((xs: number[]) => [...new Set(xs)]),
  );
  return field(v.optional(list, options.default as D), { type: "numbers", describe });
}

/**
 * A list of names, each one of `choices` when given, duplicates dropped.
 *
 * @param describe One line of help.
 * @param options Allowed names and the default (omit for "none given").
 * @returns The schema.
 * @example
 * ```ts
 * import { names } from "./_schema.ts";
 * const methods = names("baselines to fit", { choices: ["pca", "ica"], default: ["pca", "ica"] });
 * ```
 */
export function names<const C extends string = string, D extends C[] | undefined = undefined>(
  describe: string,
  options: { choices?: readonly C[]; default?: D; empty?: boolean } = {},
) {
  const item = options.choices
    ? v.picklist(options.choices, (i) => `${i.received} is not one of ${options.choices!.join(", ")}`)
    : v.pipe(v.string((i) => `expected a name, got ${i.received}`), v.nonEmpty("a name is empty"));
  const list = v.pipe(
    v.array(item as v.GenericSchema<C, C>, (i) => `expected a list of names, got ${i.received}`),
    v.minLength(options.empty ? 0 : 1, "expected at least one name"),
    v.transform((xs: C[]) => [...new Set(xs)]),
  );
  const fallback = options.default === undefined ? undefined : () => [...options.default!];
  return field(v.optional(list, fallback as unknown as () => D), {
    type: "strings",
    describe,
    choices: options.choices,
  });
}

/**
 * A non-empty string option.
 *
 * @param describe One line of help.
 * @param options The default (omit for an optional value).
 * @returns The schema.
 * @example
 * ```ts
 * import { text } from "./_schema.ts";
 * const corpus = text("sotu, moby-dick, or a folder", { default: "sotu" });
 * ```
 */
export function text<D extends string | undefined = undefined>(describe: string, options: { default?: D } = {}) {
  const s = v.pipe(v.string((i) => `expected text, got ${i.received}`), v.nonEmpty("expected a non-empty value"));
  return field(v.optional(s, options.default as D), { type: "string", describe });
}

/**
 * Numbers by name (`{"tied": 0.01}` in a config file, `--flag tied=0.01,untied=0.003` on the command line),
 * each name one of `keys`, each number > 0 and finite.
 *
 * @param describe One line of help.
 * @param options Allowed names.
 * @returns The schema; its value is an object from name to number, or undefined when not given.
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { numbersByName } from "./_schema.ts";
 * const lr = numbersByName("peak learning rate per kind", { keys: ["untied", "tied"] });
 * if (v.parse(lr, ["tied=0.01"])?.tied !== 0.01) throw new Error("from the command line");
 * ```
 */
export function numbersByName<const K extends string>(describe: string, options: { keys: readonly K[] }) {
  const { keys } = options;
  const parsed = v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const input = dataset.value;
      if (typeof input !== "object" || input === null) {
        addIssue({ message: `expected name=number,… or an object of numbers, got ${JSON.stringify(input)}` });
        return NEVER;
      }
      /** [name, number, as written] for each entry of `name=number` texts or of an object. */
      const entries: [string, unknown, string][] = Array.isArray(input)
        ? input.map((item) => {
          const text = String(item), at = text.indexOf("=");
          if (at < 0) return [text, Number.NaN, text];
          const rate = text.slice(at + 1).trim();
          return [text.slice(0, at).trim(), rate === "" ? Number.NaN : Number(rate), text];
        })
        : Object.entries(input).map(([k, n]) => [k, n, `${k}: ${JSON.stringify(n)}`]);
      const out: Record<string, number> = {};
      for (const [name, n, shown] of entries) {
        if (!(keys as readonly string[]).includes(name)) {
          addIssue({ message: `${shown}: ${JSON.stringify(name)} is not one of ${keys.join(", ")}` });
          return NEVER;
        }
        if (typeof n !== "number" || !(n > 0) || !Number.isFinite(n)) {
          addIssue({ message: `${shown}: expected a finite number > 0` });
          return NEVER;
        }
        out[name] = n;
      }
      return out;
    }),
  );
  return field(v.optional(parsed), { type: "strings", describe, choices: keys }) as unknown as v.GenericSchema<
    unknown,
    Partial<Record<K, number>> | undefined
  >;
}

/**
 * One of some strings.
 *
 * @param describe One line of help.
 * @param choices The allowed values.
 * @param fallback The default.
 * @returns The schema.
 * @example
 * ```ts
 * import { choice } from "./_schema.ts";
 * const dtype = choice("element type", ["f32", "f16"], "f32");
 * ```
 */
export function choice<const C extends string, F extends C | undefined = C>(
  describe: string,
  choices: readonly C[],
  fallback: F,
) {
  const p = v.picklist(choices, (i) => `${i.received} is not one of ${choices.join(", ")}`);
  return field(v.optional(p, fallback), { type: "string", describe, choices });
}

/**
 * A switch, off by default.
 *
 * @param describe One line of help.
 * @returns The schema.
 * @example
 * ```ts
 * import { flag } from "./_schema.ts";
 * const llm = flag("explain with an LLM");
 * ```
 */
export function flag(describe: string) {
  return field(v.optional(v.boolean((i) => `expected true or false, got ${i.received}`), false), {
    type: "boolean",
    describe,
  });
}

/**
 * Positional arguments (`config._`), which are not a flag.
 *
 * @returns The schema.
 * @example
 * ```ts
 * import { positionals } from "./_schema.ts";
 * const _ = positionals();
 * ```
 */
export function positionals() {
  return field(v.optional(v.array(v.string())), { type: "strings", describe: "positional arguments", hidden: true });
}

/**
 * Another stage's option with this stage's default (and, when given, its own line of help and the subset
 * of choices it shows): the same value type, checks and messages, so that a flag means the same in every
 * stage that reads it. Narrowing `choices` changes only the help; add a check for it. Without a new line of
 * help the option's own is kept less the defaults it states ({@linkcode dropStatedDefaults}): the help shows
 * the new one.
 *
 * @param schema The option, e.g. an entry of another stage's schema.
 * @param options The new default, and a line of help and choices to show instead of the option's own.
 * @returns The schema.
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { nums, parseOptions, withDefault } from "./_schema.ts";
 * const ratios = nums("dictionary ratios", { default: [1, 2, 4], positive: true });
 * const s = v.strictObject({ ratios: withDefault(ratios, { default: [2] }) });
 * if (parseOptions(s, {}).ratios[0] !== 2) throw new Error();
 * ```
 */
export function withDefault<S extends Field>(
  schema: S,
  options: { default: NonNullable<v.InferOutput<S>>; describe?: string; choices?: readonly string[] },
): v.GenericSchema<v.InferInput<S>, NonNullable<v.InferOutput<S>>> {
  const info = fieldInfo(schema) ?? { type: "string", describe: "" };
  const fallback = options.default;
  const copy = () => (Array.isArray(fallback) ? [...fallback] : fallback);
  return field(v.optional(schema, copy) as unknown as v.GenericSchema<v.InferInput<S>, NonNullable<v.InferOutput<S>>>, {
    ...info,
    describe: options.describe ?? dropStatedDefaults(info.describe),
    choices: options.choices ?? info.choices,
  });
}

/**
 * A line of help less the defaults it states: a whole `(default: …)` aside, or a leading `default: …;` clause of
 * an aside, with the presets' values that follow it (`default: 1024; --preset paper: 512`).
 *
 * @param describe A line of help.
 * @returns The line without them.
 * @example
 * ```ts
 * import { dropStatedDefaults } from "./_schema.ts";
 * if (dropStatedDefaults("steps (default: 1600; --preset paper: 320)") !== "steps") throw new Error();
 * if (dropStatedDefaults("kinds (default: a; --preset paper: a,b; c need --k)") !== "kinds (c need --k)") {
 *   throw new Error();
 * }
 * ```
 */
export function dropStatedDefaults(describe: string): string {
  const clause = String.raw`default: [^;()]*(?:; --preset [\w-]+: [^;()]*)*`;
  return describe
    .replace(new RegExp(String.raw`\s*\(${clause}\)`, "g"), "")
    .replace(new RegExp(String.raw`\(${clause}; `, "g"), "(");
}

/** `batchSize` → `batch-size`. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One option of a schema, as the CLI sees it. */
export interface OptionField extends FieldInfo {
  /** Config key (camelCase). */
  key: string;
  /** Flag name (kebab-case, without `--`). */
  flag: string;
  /** Default value, when there is one. */
  default?: unknown;
}

/**
 * The options of a schema, in declaration order, with their flag names and defaults.
 *
 * @param schema A stage's option schema.
 * @returns The options (hidden ones included; the CLI leaves those out).
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { int, optionFields } from "./_schema.ts";
 * const [f] = optionFields(v.strictObject({ batchSize: int("rows per step", { default: 8 }) }));
 * if (f.flag !== "batch-size" || f.default !== 8) throw new Error();
 * ```
 */
export function optionFields(schema: OptionsSchema): OptionField[] {
  return Object.entries(schema.entries).map(([key, s]) => {
    const info: FieldInfo = fieldInfo(s) ?? { type: "string", describe: key };
    return { ...info, key, flag: kebab(key), default: v.getDefault(s as never) };
  });
}

/** The field info in a schema's pipe, looking into nested pipes too. */
function fieldInfo(schema: unknown): FieldInfo | undefined {
  const pipe = (schema as { pipe?: unknown[] }).pipe ?? [];
  for (const item of pipe) {
    const meta = item as { type?: string; metadata?: Record<string, unknown> };
    if (meta.type === "metadata" && meta.metadata?.[INFO]) return meta.metadata[INFO] as FieldInfo;
  }
  for (const item of pipe.slice(0, 1)) {
    if (item !== schema) {
      const inner = fieldInfo(item);
      if (inner) return inner;
    }
  }
  return undefined;
}

function issueText(issue: v.BaseIssue<unknown>): string {
  const path = issue.path ?? [];
  const top = path[0]?.key;
  if (issue.type === "strict_object" && path.length === 1) return `unknown option ${String(top)}`;
  const where = typeof top === "string" ? `--${kebab(top)}` : "options";
  const index = path.length > 1 && typeof path[1]?.key === "number" ? ` (item ${(path[1].key as number) + 1})` : "";
  return `Invalid ${where}${index}: ${issue.message}`;
}

/**
 * Check a configuration against a stage's schema and fill in its defaults.
 *
 * @param schema The stage's option schema.
 * @param raw The merged configuration (camelCase keys).
 * @returns The typed configuration.
 * @throws {UsageError} On an unknown key or a bad value; the message names the flag.
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { int, parseOptions } from "./_schema.ts";
 * const s = v.strictObject({ steps: int("steps", { default: 10, min: 1 }) });
 * if (parseOptions(s, {}).steps !== 10) throw new Error();
 * let message = "";
 * try { parseOptions(s, { steps: 0 }); } catch (e) { message = (e as Error).message; }
 * if (message !== "Invalid --steps: 0 is not ≥ 1") throw new Error(message);
 * ```
 */
export function parseOptions<S extends OptionsSchema>(schema: S, raw: Record<string, unknown>): v.InferOutput<S> {
  const out = v.safeParse(schema, raw);
  if (out.success) return out.output;
  const unknown = out.issues.filter((i) => i.type === "strict_object" && (i.path?.length ?? 0) === 1)
    .map((i) => String(i.path![0].key));
  if (unknown.length) throw new UsageError(`Unknown option ${unknown.map((k) => `--${kebab(k)}`).join(", ")}`);
  throw new UsageError(out.issues.map(issueText).join("; "));
}
