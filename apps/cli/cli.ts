/**
 * The command runner behind `apps/cli/main.ts`: pick the command, parse options, load the stage,
 * run it with progress, logging and Ctrl-C handling, and turn the outcome into an exit code.
 *
 * @module
 */
import { resolve } from "node:path";
import type { Logger, StageDeps } from "@saelab/runs";
import { runStage, type Stage } from "../../tasks/_runtime.ts";
import { parseCommand, UsageError } from "./args.ts";
import { commandHelp, mainHelp } from "./help.ts";
import { createProgressBar } from "./progress.ts";
import { type StageEntry, STAGES } from "./registry.ts";

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Operating-system hooks, injectable for tests. */
export interface CliIo {
  /** Write to standard output. */
  stdout: (text: string) => void;
  /** Write to standard error. */
  stderr: (text: string) => void;
  /** Whether standard error is a terminal (progress redraws in place). */
  isTTY: boolean;
  /** Register a listener for SIGINT/SIGTERM; returns a function that removes it. */
  onSignal: (signal: "SIGINT" | "SIGTERM", listener: () => void) => () => void;
  /** Leave immediately (second Ctrl-C). */
  exit: (code: number) => never;
  /** Current directory, to resolve `--runs`. */
  cwd: string;
  /** Read an environment variable (only those a registry entry lists are read). */
  env: (name: string) => string | undefined;
}

/** The real process. */
export function processIo(): CliIo {
  const enc = new TextEncoder();
  // Output is best effort: a closed pipe (`deno task serve | head`) must not turn into a crash.
  const writer = (stream: { writeSync(p: Uint8Array): number }) => (text: string) => {
    try {
      const bytes = enc.encode(text);
      for (let off = 0; off < bytes.length;) off += stream.writeSync(bytes.subarray(off));
    } catch { /* the reader went away */ }
  };
  return {
    stdout: writer(Deno.stdout),
    stderr: writer(Deno.stderr),
    isTTY: Deno.stderr.isTerminal(),
    onSignal: (signal, listener) => {
      try {
        Deno.addSignalListener(signal, listener);
      } catch {
        return () => {}; // SIGTERM listeners are not supported everywhere
      }
      return () => Deno.removeSignalListener(signal, listener);
    },
    exit: (code) => Deno.exit(code),
    cwd: Deno.cwd(),
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env for it
      }
    },
  };
}

/** Whether a command's module exists in this build. */
export async function isAvailable(entry: StageEntry): Promise<boolean> {
  try {
    return (await Deno.stat(entry.file)).isFile;
  } catch {
    return false;
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function describeError(e: unknown, verbose: boolean): string {
  if (!(e instanceof Error)) return String(e);
  if (verbose && e.stack) return e.stack;
  return e.message || e.name;
}

/**
 * Run one command line.
 *
 * @param argv Arguments after `main.ts`.
 * @param options Process hooks and the command registry (both replaceable in tests).
 * @returns The exit code.
 * @example
 * ```ts ignore
 * Deno.exit(await runCli(Deno.args, { io: processIo() }));
 * ```
 */
export async function runCli(
  argv: readonly string[],
  options: { io: CliIo; stages?: Record<string, StageEntry> },
): Promise<number> {
  const { io } = options;
  const stages = options.stages ?? STAGES;
  const [name, ...rest] = argv;
  const available = async () => {
    const names = await Promise.all(Object.entries(stages).map(async ([n, e]) => ((await isAvailable(e)) ? n : null)));
    return new Set(names.filter((n): n is string => n !== null));
  };
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(mainHelp(stages, await available()) + "\n");
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = Object.hasOwn(stages, name) ? stages[name] : undefined;
  if (!entry) {
    const near = Object.keys(stages).find((n) => editDistance(n, name) <= 2);
    io.stderr(
      `error: unknown command ${JSON.stringify(name)}${
        near ? ` (did you mean ${near}?)` : ""
      }\nRun with --help for the list of commands.\n`,
    );
    return EXIT.usage;
  }
  const usage = (e: unknown) => {
    if (!(e instanceof UsageError)) return false;
    io.stderr(`error: ${e.message}\nRun \`deno task ${name} --help\` for the options.\n`);
    return true;
  };
  if (!(await isAvailable(entry))) {
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(commandHelp(name, entry) + "\n\nNote: this command is not available in this build.\n");
      return EXIT.ok;
    }
    io.stderr(
      `error: \`${name}\` is not available in this build (${
        entry.file.pathname.split("/").slice(-2).join("/")
      } is missing).\n`,
    );
    return EXIT.usage;
  }
  const stage: Stage | undefined = (await entry.load())?.stage;
  if (typeof stage?.run !== "function" || stage.schema === undefined) {
    io.stderr(`error: the module of \`${name}\` does not export its stage (name, schema, run)\n`);
    return EXIT.failed;
  }
  let parsed;
  try {
    parsed = await parseCommand(rest, stage.schema, { positionals: entry.positional !== undefined });
  } catch (e) {
    if (usage(e)) return EXIT.usage;
    throw e;
  }
  if (parsed.help) {
    io.stdout(commandHelp(name, entry, stage.schema) + "\n");
    return EXIT.ok;
  }

  const bar = createProgressBar({ write: io.stderr, isTTY: io.isTTY });
  const say = (prefix: string) => (m: string) => {
    bar.clear();
    io.stderr(`${prefix}${m}\n`);
  };
  const log: Logger = { info: say(""), warn: say("warning: "), debug: parsed.verbose ? say("debug: ") : () => {} };
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      bar.clear();
      io.stderr(
        entry.endsOnInterrupt
          ? "\nStopping…\n"
          : "\nInterrupting: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)…\n",
      );
      controller.abort(new DOMException("Interrupted by the user", "AbortError"));
    } else {
      io.stderr("\nQuit without a checkpoint; a rerun resumes from the last one.\n");
      io.exit(EXIT.interrupted);
    }
  };
  const removers = [io.onSignal("SIGINT", onInterrupt), io.onSignal("SIGTERM", onInterrupt)];
  const deps: StageDeps = {
    runsDir: resolve(io.cwd, parsed.runs),
    progress: bar,
    signal: controller.signal,
    log,
    verbose: parsed.verbose,
    ...(entry.env ? { env: Object.fromEntries(entry.env.map((name) => [name, io.env(name)])) } : {}),
  };
  try {
    const result = await runStage(stage, parsed.config, { deps });
    bar.finish();
    if (result?.message) io.stderr(`${result.message}\n`);
    if (result?.output !== undefined) io.stdout(result.output.endsWith("\n") ? result.output : `${result.output}\n`);
    else if (result?.runId) io.stdout(`${result.runId}\n`);
    if (controller.signal.aborted && !entry.endsOnInterrupt) {
      io.stderr("Interrupted; rerun the same command to resume.\n");
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } catch (e) {
    bar.finish();
    if (controller.signal.aborted) {
      if (entry.endsOnInterrupt) return EXIT.ok;
      io.stderr(
        `Interrupted; rerun the same command to resume.${parsed.verbose ? `\n${describeError(e, true)}` : ""}\n`,
      );
      return EXIT.interrupted;
    }
    if (usage(e)) return EXIT.usage;
    io.stderr(
      `error: ${describeError(e, parsed.verbose)}\n${parsed.verbose ? "" : "(run with --verbose for details)\n"}`,
    );
    return EXIT.failed;
  } finally {
    for (const remove of removers) remove();
  }
}
