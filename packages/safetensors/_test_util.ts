/**
 * Fixtures shared by this package's file tests.
 *
 * @module
 */

/** Run `fn` in a fresh temporary folder, removed afterwards whatever happens. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "saelab-st-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names of the entries of a folder, sorted. */
export const list = async (dir: string): Promise<string[]> =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
