/**
 * The live page's script: `live/page.ts` and the packages it imports, bundled for browsers by
 * `deno bundle --platform browser` and named by its content hash (`live.<sha256 prefix>.js`), so it
 * can be cached for good. Built once per process on first use; `deno task bundle:live` builds it
 * into a file (default `.cache/live/live.js`) to look at or to ship.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

/** The entry point that is bundled. */
export const LIVE_ENTRY: string = fileURLToPath(new URL("./live/page.ts", import.meta.url));

/** A built bundle. */
export interface LiveBundle {
  /** File name to serve it under, with its content hash. */
  name: string;
  /** The script. */
  body: Uint8Array;
}

/**
 * Bundle the live page's script with the running Deno.
 *
 * @param options `output`: where to write it (default: a temporary file, removed after reading).
 * @returns The bundle.
 * @throws {Error} When `deno bundle` fails (its messages quoted).
 * @example
 * ```ts ignore
 * const { name } = await buildLiveBundle();
 * ```
 */
export async function buildLiveBundle(options: { output?: string } = {}): Promise<LiveBundle> {
  const output = options.output ?? await Deno.makeTempFile({ prefix: "saelab-live-", suffix: ".js" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "--output", output, LIVE_ENTRY],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim() || new TextDecoder().decode(out.stdout).trim();
      throw new Error(`Cannot bundle the live page (${LIVE_ENTRY}): deno bundle failed: ${why}`);
    }
    const body = await Deno.readFile(output);
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
    return { name: `live.${hash}.js`, body };
  } finally {
    if (!options.output) await Deno.remove(output).catch(() => {});
  }
}

let shared: Promise<LiveBundle> | null = null;

/**
 * The bundle of this process, built on the first call (a failed build is retried on the next call).
 *
 * @returns The bundle.
 * @example
 * ```ts ignore
 * const { name, body } = await liveBundle();
 * ```
 */
export function liveBundle(): Promise<LiveBundle> {
  shared ??= buildLiveBundle().catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}

if (import.meta.main) {
  const output = Deno.args[0] ?? ".cache/live/live.js";
  await Deno.mkdir(output.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  const { name, body } = await buildLiveBundle({ output });
  console.log(`live page script: ${output}, ${body.length} bytes, served as /live/${name}`);
}
