import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";
import { startServer } from "@saelab/server";
import { holdInChild } from "./_child_testing.ts";
import { LOCK_FILE } from "./_lock.ts";

const LOCK = new URL("./_lock.ts", import.meta.url).href;

/** Another process that takes run `id`'s lock, prints "held" or its error, and holds it until stdin closes. */
function holder(runsDir: string, id: string) {
  const code = `
    import { acquireRunLock } from ${JSON.stringify(LOCK)};
    try {
      await acquireRunLock(${JSON.stringify(runsDir)}, ${JSON.stringify(id)}, { log: { warn() {} } });
      console.log("held");
    } catch (e) {
      console.log(e.name + ": " + e.message);
    }
  `;
  return holdInChild(code);
}

Deno.test("serve reads a run that a writer holds: every page answers and the lock is left untouched", async () => {
  const runs = await Deno.makeTempDir();
  const writer = holder(runs, "demo");
  try {
    await makeDemoRun(runs, 1, { id: "demo" });
    assert.equal(await writer.ready, "held");
    const path = join(runs, "demo", LOCK_FILE);
    const before = { text: await Deno.readTextFile(path), mtime: (await Deno.stat(path)).mtime?.getTime() };
    const server = await startServer({ runsDir: runs, port: 0 });
    try {
      for (const page of ["/", "/runs/demo", "/api/runs", "/api/runs/demo"]) {
        const res = await fetch(new URL(page, server.url));
        await res.body?.cancel();
        assert.equal(res.status, 200, page);
      }
    } finally {
      await server.shutdown();
    }
    assert.deepEqual(
      { text: await Deno.readTextFile(path), mtime: (await Deno.stat(path)).mtime?.getTime() },
      before,
    );
    // the writer still holds it: a second writer is refused, naming the holder
    const second = holder(runs, "demo");
    const said = await second.ready;
    await second.stop();
    assert.match(said, /^RunLockedError: .*being written by process \d+/);
  } finally {
    await writer.stop();
    await Deno.remove(runs, { recursive: true });
  }
});
