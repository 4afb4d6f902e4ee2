/**
 * Command-line parsing for stage commands: flags generated from the stage's schema, a JSON config
 * file, and their merge (schema defaults, then the config file, then flags: flags win), checked by
 * the schema. Flag `--dict-ratio` is config key `dictRatio`. A value may start with a dash
 * (`--l1 -1`), so that the schema, not the parser, says what is wrong with it.
 *
 * @module
 */
import { type FieldInfo, optionFields, type OptionsSchema, parseOptions, UsageError } from "../../tasks/_schema.ts";

export { UsageError };

/** Flags every command accepts. */
export const COMMON_OPTIONS: Record<string, FieldInfo & { default?: unknown }> = {
  config: { type: "string", describe: "JSON file with options (flags given on the command line win)" },
  runs: { type: "string", describe: "runs folder", default: "runs" },
  verbose: { type: "boolean", describe: "more messages, and stack traces on errors", short: "v" },
  help: { type: "boolean", describe: "show this help", short: "h" },
};

/** `dict-ratio` → `dictRatio`. */
export const camel = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** What a command line says. */
export interface ParsedArgs {
  /** Checked stage configuration (camelCase keys, defaults filled in). */
  config: Record<string, unknown>;
  /** Runs folder. */
  runs: string;
  /** `--verbose`. */
  verbose: boolean;
  /** `--help`. */
  help: boolean;
}

function convert(flag: string, type: FieldInfo["type"], text: string): unknown {
  const num = (s: string) => {
    const n = Number(s);
    if (s.trim() === "" || Number.isNaN(n)) {
      throw new UsageError(`Invalid --${flag}: expected a number, got ${JSON.stringify(s)}`);
    }
    return n;
  };
  if (type === "number") return num(text);
  if (type === "numbers") return text.split(",").map((s) => num(s.trim()));
  if (type === "strings") return text.split(",").map((s) => s.trim()).filter(Boolean);
  return text;
}

/**
 * Read a JSON config file: an object whose keys are camelCase or kebab-case option names.
 *
 * @param path File path.
 * @returns The object with camelCase keys.
 * @throws {UsageError} When the file cannot be read or is not a JSON object.
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

/** Split a command line into flag values (as text, or `true` for switches) and positional arguments. */
function tokenize(
  argv: readonly string[],
  flags: Map<string, FieldInfo>,
): { values: Map<string, string | true>; positionals: string[] } {
  const shorts = new Map([...flags].flatMap(([name, f]) => f.short ? [[f.short, name] as const] : []));
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const short = /^-([A-Za-z])$/.exec(arg);
    if (!long && !short) {
      positionals.push(arg);
      continue;
    }
    const name = long ? long[1] : shorts.get(short![1]);
    const info = name === undefined ? undefined : flags.get(name);
    if (name === undefined || !info) throw new UsageError(`Unknown option ${arg.replace(/=.*$/s, "")}`);
    if (info.type === "boolean") {
      const inline = long?.[2];
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        throw new UsageError(`Invalid --${name}: a switch takes no value (got ${JSON.stringify(inline)})`);
      }
      values.set(name, inline === "false" ? "false" : true);
      continue;
    }
    let value = long?.[2];
    if (value === undefined) {
      const next = argv[i + 1];
      // The next word is the value unless it is another flag; a negative number is a value.
      if (next === undefined || (next.startsWith("-") && !/^-[\d.]/.test(next))) {
        throw new UsageError(`Invalid --${name}: argument missing`);
      }
      value = next;
      i++;
    }
    values.set(name, value);
  }
  return { values, positionals };
}

/**
 * Parse a command's arguments against its stage's schema, merge them with the config file, and check
 * the result with the schema.
 *
 * @param argv Arguments after the command name.
 * @param schema The stage's option schema.
 * @param settings Whether positional arguments are accepted (they become `config._`).
 * @returns Checked configuration and common flags (with `--help`, the configuration is not checked).
 * @throws {UsageError} On unknown flags or keys, missing or malformed values, stray positional arguments or a bad
 *   config file; the message names the flag.
 * @example
 * ```ts ignore
 * const parsed = await parseCommand(["--steps", "100"], trainSchema);
 * parsed.config.steps; // 100
 * ```
 */
export async function parseCommand(
  argv: readonly string[],
  schema: OptionsSchema,
  settings: { positionals?: boolean } = {},
): Promise<ParsedArgs> {
  const fields = optionFields(schema).filter((f) => !f.hidden);
  const flags = new Map<string, FieldInfo>([
    ...fields.map((f) => [f.flag, f] as const),
    ...Object.entries(COMMON_OPTIONS),
  ]);
  const { values, positionals } = tokenize(argv, flags);
  if (positionals.length && !settings.positionals) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const help = values.get("help") === true;
  const config = typeof values.get("config") === "string" && !help
    ? await readConfigFile(values.get("config") as string)
    : {};
  const runsFromFile = typeof config.runs === "string" ? config.runs : undefined;
  const verboseFromFile = config.verbose === true;
  delete config.runs;
  delete config.verbose;
  for (const f of fields) {
    const value = values.get(f.flag);
    if (value === undefined) continue;
    config[f.key] = f.type === "boolean" ? value === true : convert(f.flag, f.type, value as string);
  }
  if (positionals.length) config._ = positionals;
  return {
    config: help ? config : parseOptions(schema, config),
    runs: (values.get("runs") as string | undefined) ?? runsFromFile ?? "runs",
    verbose: values.get("verbose") === true || verboseFromFile,
    help,
  };
}
