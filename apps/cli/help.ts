/**
 * Help texts of the CLI.
 *
 * @module
 */
import { COMMON_OPTIONS, type OptionSpec } from "./args.ts";
import type { StageEntry } from "./registry.ts";

function optionLines(options: Record<string, OptionSpec>): string[] {
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
    const def = o.default !== undefined && o.type !== "boolean"
      ? ` (default: ${Array.isArray(o.default) ? o.default.join(",") : o.default})`
      : "";
    return [flag, `${o.describe}${def}`];
  });
  const w = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
}

/** Help of one command. */
export function commandHelp(name: string, entry: StageEntry): string {
  return [
    `${name}: ${entry.describe}`,
    "",
    `Usage: deno task ${name} [options]${entry.positional ? ` ${entry.positional}` : ""}`,
    "",
    "Options:",
    ...optionLines(entry.options),
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
    "Exit codes: 0 done, 1 failed, 2 usage error or command not available, 130 interrupted (Ctrl-C; rerun to resume).",
  ].join("\n");
}
