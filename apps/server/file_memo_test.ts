import assert from "node:assert/strict";
import { join } from "node:path";
import { writeTextAtomic } from "@saelab/runs";
import { fileMemo } from "./file_memo.ts";

Deno.test("a file's value is read once while it is unchanged, again after a write, and never for a missing file", async () => {
  const runs = await Deno.makeTempDir({ prefix: "saelab-memo-" });
  try {
    await Deno.mkdir(join(runs, "r"));
    const file = join(runs, "r", "a.json");
    await writeTextAtomic(file, "1");
    const memo = fileMemo(runs, { maxEntries: 2 });
    let reads = 0;
    const read = async () => (reads++, Number(await Deno.readTextFile(file)));
    assert.equal(await memo.get(["r", "a.json"], read), 1);
    assert.equal(await memo.get(["r", "a.json"], read), 1);
    assert.equal(reads, 1, "served from memory");
    await writeTextAtomic(file, "22"); // a new inode and size
    assert.equal(await memo.get(["r", "a.json"], read), 22);
    assert.equal(reads, 2, "read again after the write");
    let missing = 0;
    const none = () => Promise.resolve(++missing);
    await memo.get(["r", "b.json"], none);
    await memo.get(["r", "b.json"], none);
    assert.equal(missing, 2, "a missing file is never remembered");
    // the bound: two other files push the first out
    for (const n of ["c", "d"]) {
      await writeTextAtomic(join(runs, "r", `${n}.json`), "0");
      await memo.get(["r", `${n}.json`], () => Promise.resolve(0));
    }
    await memo.get(["r", "a.json"], read);
    assert.equal(reads, 3, "evicted, so read again");
    // a failed read is not remembered
    let fails = 0;
    const bad = () => Promise.reject(new Error(`failure ${++fails}`));
    await assert.rejects(() => memo.get(["r", "c.json"], bad));
    await assert.rejects(() => memo.get(["r", "c.json"], bad), /failure 2/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
