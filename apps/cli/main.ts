/**
 * `deno run -A apps/cli/main.ts <command> [options]`: the one entry point behind the `deno task`
 * names (`train`, `harvest`, `baselines`, `score`, `serve`, `pretrain`, `fetch-model`, `patch`,
 * `circuits`). The only place in the CLI that touches the process (arguments, signals, exit).
 *
 * @module
 */
import { processIo, runCli } from "./cli.ts";

if (import.meta.main) {
  const io = processIo();
  let code: number;
  try {
    code = await runCli(Deno.args, { io });
  } catch (e) {
    const verbose = Deno.args.includes("--verbose") || Deno.args.includes("-v");
    io.stderr(`error: ${verbose && e instanceof Error ? e.stack : (e as Error)?.message ?? e}\n`);
    code = 1;
  }
  Deno.exit(code);
}
