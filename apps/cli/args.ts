/**
 * Command-line parsing for stage commands: typed flags declared by each registry entry, a JSON
 * config file, and their merge (option defaults, then the config file, then flags: flags win).
 * Flag `--dict-ratio` is config key `dictRatio`.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A declared flag. */
export interface OptionSpec {
  /** Value type; `numbers`/`strings` take comma-separated lists (`--ratios 1,2,4`). */
  type: "string" | "number" | "boolean" | "numbers" | "strings";
  /** One line of help. */
  describe: string;
  /** Default value (shown in help). */
  default?: string | number | boolean | number[] | string[];
  /** One-letter alias. */
  short?: string;
}

/** A usage mistake: unknown flag, bad value, unreadable config file. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Flags every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  config: { type: "string", describe: "JSON file with options (flags given on the command line win)" },
  runs: { type: "string", describe: "runs folder", default: "runs" },
  verbose: { type: "boolean", describe: "more messages, and stack traces on errors", short: "v" },
  help: { type: "boolean", describe: "show this help", short: "h" },
};

/** `dict-ratio` → `dictRatio`. */
export const camel = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** What a command line says. */
export interface ParsedArgs {
  /** Merged stage configuration (camelCase keys). */
  config: Record<string, unknown>;
  /** Runs folder. */
  runs: string;
  /** `--verbose`. */
  verbose: boolean;
  /** `--help`. */
  help: boolean;
}

function convert(flag: string, spec: OptionSpec, raw: unknown): unknown {
  if (spec.type === "boolean") return raw === true;
  const text = String(raw);
  const num = (s: string) => {
    const n = Number(s);
    if (s.trim() === "" || !Number.isFinite(n)) {
      throw new UsageError(`Invalid --${flag}: expected a number, got ${JSON.stringify(s)}`);
    }
    return n;
  };
  if (spec.type === "number") return num(text);
  if (spec.type === "numbers") return text.split(",").map((s) => num(s.trim()));
  if (spec.type === "strings") return text.split(",").map((s) => s.trim()).filter(Boolean);
  return text;
}

/**
 * Read a JSON config file: an object whose keys are camelCase or kebab-case option names.
 *
 * @param path File path.
 * @returns The object with camelCase keys.
 * @example
 * ```ts ignore
 * const cfg = await readConfigFile("train.json");
 * ```
 */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new UsageError(`Cannot read config file ${path}: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`Cannot read config file ${path}: not JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`Cannot read config file ${path}: expected a JSON object`);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), v]));
}

/**
 * Parse a command's arguments against its declared options and merge with the config file.
 *
 * @param argv Arguments after the command name.
 * @param options The command's own flags.
 * @param settings Whether positional arguments are accepted (they become `config._`).
 * @returns Merged configuration and common flags.
 * @throws {UsageError} On unknown flags, missing or malformed values, stray positional arguments or a bad config file.
 * @example
 * ```ts ignore
 * const parsed = await parseCommand(["--steps", "100"], { steps: { type: "number", describe: "steps", default: 10 } });
 * parsed.config.steps; // 100
 * ```
 */
export async function parseCommand(
  argv: readonly string[],
  options: Record<string, OptionSpec>,
  settings: { positionals?: boolean } = {},
): Promise<ParsedArgs> {
  const all = { ...options, ...COMMON_OPTIONS };
  const specs = Object.fromEntries(
    Object.entries(all).map((
      [name, o],
    ) => [name, { type: o.type === "boolean" ? "boolean" : "string", ...(o.short ? { short: o.short } : {}) }]),
  ) as Record<string, { type: "string" | "boolean"; short?: string }>;
  let values: Record<string, unknown>, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: specs, strict: true, allowPositionals: true }));
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^Unknown option '(.+?)'.*$/s, "Unknown option $1"));
  }
  if (positionals.length && !settings.positionals) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const help = values.help === true;
  const fromFile = typeof values.config === "string" && !help ? await readConfigFile(values.config) : {};
  const config: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(options)) {
    if (spec.default !== undefined) config[camel(flag)] = spec.default;
  }
  Object.assign(config, fromFile);
  for (const [flag, spec] of Object.entries(options)) {
    if (values[flag] !== undefined) config[camel(flag)] = convert(flag, spec, values[flag]);
  }
  if (positionals.length) config._ = positionals;
  const runsFromFile = typeof fromFile.runs === "string" ? fromFile.runs : undefined;
  delete config.runs;
  return {
    config,
    runs: (values.runs as string | undefined) ?? runsFromFile ?? "runs",
    verbose: values.verbose === true || fromFile.verbose === true,
    help,
  };
}
