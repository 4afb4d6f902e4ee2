/**
 * Help texts of the CLI.
 *
 * @module
 */
import { type FieldInfo, optionFields, type OptionsSchema } from "../../tasks/_schema.ts";
import { COMMON_OPTIONS } from "./args.ts";
import type { StageEntry } from "./registry.ts";

function optionLines(options: Record<string, FieldInfo & { default?: unknown }>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const value = o.type === "boolean"
      ? ""
      : o.type === "numbers"
      ? " N,N,…"
      : o.type === "strings"
      ? " A,B,…"
      : o.type === "number"
      ? " N"
      : " VALUE";
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${value}`;
    const choices = o.choices ? `: ${o.choices.join(", ")}` : "";
    const shown = Array.isArray(o.default) ? (o.default.length ? o.default.join(",") : "none") : o.default;
    const def = o.default !== undefined && o.type !== "boolean" ? ` (default: ${shown})` : "";
    return [flag, `${o.describe}${choices}${def}`];
  });
  const w = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
}

/**
 * Help of one command, its options generated from the stage's schema.
 *
 * @param name Command name.
 * @param entry Its registry entry.
 * @param schema Its stage's schema (absent when the stage is not in this build).
 * @returns The help text.
 */
export function commandHelp(name: string, entry: StageEntry, schema?: OptionsSchema): string {
  const fields = schema ? optionFields(schema).filter((f) => !f.hidden) : [];
  const own = Object.fromEntries(fields.map((f) => [f.flag, f]));
  return [
    `${name}: ${entry.describe}`,
    "",
    `Usage: deno task ${name} [options]${entry.positional ? ` ${entry.positional}` : ""}`,
    "",
    "Options:",
    ...(fields.length ? optionLines(own) : ["  (none)"]),
    "",
    "Common options:",
    ...optionLines(COMMON_OPTIONS),
    "",
    "Examples:",
    ...entry.examples.map((e) => `  ${e}`),
    "",
    "Options come from their defaults, then the --config JSON file (camelCase or kebab-case keys), then flags.",
    ...(entry.env ? [`Environment variables read: ${entry.env.join(", ")}.`] : []),
  ].join("\n");
}

/** The command list. */
export function mainHelp(stages: Record<string, StageEntry>, available: Set<string>): string {
  const w = Math.max(...Object.keys(stages).map((n) => n.length));
  return [
    "SAE Lab: sparse autoencoders on language-model activations, with WebGPU kernels.",
    "",
    "Usage: deno task <command> [options]      (or: deno run -A apps/cli/main.ts <command> [options])",
    "",
    "Commands:",
    ...Object.entries(stages).map(([n, e]) =>
      `  ${n.padEnd(w)}  ${e.describe}${available.has(n) ? "" : "  [not available in this build]"}`
    ),
    "",
    "Run `deno task <command> --help` for its options and examples.",
    "Exit codes: 0 done, 1 failed (also: another process is writing the run), 2 usage error or command not " +
    "available, 130 interrupted (Ctrl-C; rerun to resume).",
  ].join("\n");
}
