/**
 * A test helper: TypeScript run in another Deno process that prints one line, then holds what it
 * took (a run lock, an open run) until its stdin closes.
 *
 * @module
 */

/** A child process started by {@linkcode holdInChild}. */
export interface HeldChild {
  /** The first line the child printed. */
  ready: Promise<string>;
  /** Close the child's stdin (it then exits) and resolve with its exit code. */
  stop(): Promise<number>;
}

/**
 * Run `code` in another process; after it, the child waits until its stdin closes.
 *
 * @param code TypeScript (module code; imports by absolute URL) that prints one line.
 * @returns The first line printed, and a way to let the child go.
 * @example
 * ```ts ignore
 * const child = holdInChild(`console.log("held");`);
 * if ((await child.ready) !== "held") throw new Error();
 * await child.stop();
 * ```
 */
export function holdInChild(code: string): HeldChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", `${code}\nfor await (const _ of Deno.stdin.readable) { /* hold */ }`],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = (async () => {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    return text.split("\n")[0];
  })();
  return {
    ready,
    async stop() {
      await child.stdin.close();
      await reader.cancel();
      return (await child.status).code;
    },
  };
}
