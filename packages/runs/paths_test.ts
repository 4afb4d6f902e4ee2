import assert from "node:assert/strict";
import { join } from "node:path";
import { isValidId, makeRunId, resolveInside, safeJoin, validateId } from "./mod.ts";

Deno.test("isValidId accepts plain names and refuses traversal, separators and oversize", () => {
  for (const ok of ["demo", "demo-1", "r4_a1e-3", "a.b", "A", "0", "x".repeat(128)]) assert.ok(isValidId(ok), ok);
  const bad = [
    "",
    ".",
    "..",
    "...",
    "../x",
    "a/b",
    "a\\b",
    "-a",
    ".hidden",
    "_a",
    "a b",
    "a%2Fb",
    "x".repeat(129),
    "é",
  ];
  for (const b of bad) assert.ok(!isValidId(b), JSON.stringify(b));
  assert.ok(!isValidId(3));
  assert.ok(!isValidId(null));
});

Deno.test("validateId throws TypeError naming what was wrong", () => {
  assert.equal(validateId("ok-1"), "ok-1");
  assert.throws(() => validateId("../etc", "dictionary name"), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /Invalid dictionary name "..\/etc"/);
    return true;
  });
});

Deno.test("safeJoin stays under the root", () => {
  assert.equal(safeJoin("/data/runs", ["demo", "run.json"]), "/data/runs/demo/run.json");
  assert.equal(safeJoin("/data/runs/", []), "/data/runs");
  for (const bad of [[".."], ["a", ".."], ["/etc"], ["a/b"], ["a\\b"], [""], ["."], ["a\0b"]]) {
    assert.throws(() => safeJoin("/data/runs", bad), TypeError, JSON.stringify(bad));
  }
});

Deno.test("resolveInside refuses links that point outside the root", async () => {
  const outside = await Deno.makeTempDir();
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(outside, "secret.json"), "{}");
    await Deno.mkdir(join(root, "run"));
    await Deno.writeTextFile(join(root, "run", "run.json"), "{}");
    await Deno.symlink(outside, join(root, "escape"));
    await Deno.symlink(join(root, "run"), join(root, "alias"));
    assert.equal(await resolveInside(root, ["run", "run.json"]), join(await Deno.realPath(root), "run", "run.json"));
    assert.equal(await resolveInside(root, ["run", "missing.json"]), null);
    assert.ok((await resolveInside(root, ["alias", "run.json"]))?.endsWith("run.json"));
    await assert.rejects(() => resolveInside(root, ["escape", "secret.json"]), TypeError);
  } finally {
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("makeRunId is a valid id made of the UTC time and the suffix", () => {
  const d = new Date(Date.UTC(2025, 4, 6, 7, 8, 9));
  assert.equal(makeRunId(d, { suffix: "beef" }), "20250506-070809-beef");
  const r = makeRunId(d);
  assert.ok(isValidId(r));
  assert.match(r, /^20250506-070809-[0-9a-f]{4}$/);
  assert.throws(() => makeRunId(d, { suffix: "../x" }), TypeError);
});
