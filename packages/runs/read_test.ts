import assert from "node:assert/strict";
import { join } from "node:path";
import {
  listDicts,
  listRuns,
  makeDemoRun,
  parseMetrics,
  readFeature,
  readFeatureIndex,
  readJson,
  readMetrics,
  readRun,
  readToy,
} from "./mod.ts";
import { withTempDir } from "./testing.ts";

Deno.test("parseMetrics skips a torn last line silently and reports bad middle lines", () => {
  const good = '{"member":"a","step":0,"loss":1,"mse":1,"l0":3}';
  const r = parseMetrics(`${good}\nnot json\n{"member":"a","step":"x","loss":1,"mse":1,"l0":3}\n${good}\n{"mem`);
  assert.equal(r.rows.length, 2);
  assert.equal(r.problems.length, 2);
  assert.match(r.problems[0], /line 2: not JSON/);
  assert.match(r.problems[1], /line 3: \$\.step/);
  // A complete but unparsable last line (ends with a newline) is a real problem.
  assert.equal(parseMetrics(`${good}\n{"mem\n`).problems.length, 1);
  assert.deepEqual(parseMetrics(""), { rows: [], problems: [] });
});

Deno.test("readRun tells pending, invalid and missing runs apart", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "fresh"));
    await Deno.mkdir(join(dir, "broken"));
    await Deno.writeTextFile(join(dir, "broken", "run.json"), '{"format": 1, "id": "broken"');
    await Deno.mkdir(join(dir, "wrong"));
    await Deno.writeTextFile(join(dir, "wrong", "run.json"), '{"format": 1}');
    assert.deepEqual(await readRun(dir, "fresh"), {
      id: "fresh",
      readable: "pending",
      run: null,
      problems: [],
      members: 0,
    });
    const broken = await readRun(dir, "broken");
    assert.equal(broken?.readable, "invalid");
    assert.match(broken!.problems[0], /not JSON/);
    const wrong = await readRun(dir, "wrong");
    assert.equal(wrong?.readable, "invalid");
    assert.ok(wrong!.problems.some((p) => p.startsWith("$.id")));
    assert.equal(await readRun(dir, "absent"), null);
    await assert.rejects(() => readRun(dir, ".."), TypeError);
  });
});

Deno.test("listRuns sorts newest first, skips temporary, hidden and escaping entries", async () => {
  const dir = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await makeDemoRun(dir, 1, { id: "old", created: new Date(Date.UTC(2024, 0, 1)), status: "running" });
    await makeDemoRun(dir, 2, { id: "new", created: new Date(Date.UTC(2025, 0, 1)), status: "running" });
    await Deno.mkdir(join(dir, "pending"));
    await Deno.mkdir(join(dir, ".hidden"));
    await Deno.mkdir(join(dir, "x.tmp"));
    await Deno.writeTextFile(join(dir, "file.json"), "{}");
    await makeDemoRun(outside, 3, { id: "elsewhere", status: "running" });
    await Deno.symlink(join(outside, "elsewhere"), join(dir, "linked"));
    const runs = await listRuns(dir);
    assert.deepEqual(runs.map((r) => r.id), ["new", "old", "pending"]);
    assert.equal(runs[0].members, 9);
    assert.deepEqual(await listRuns(join(dir, "nope")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("feature readers validate names and indices and report missing files", async () => {
  await withTempDir(async (dir) => {
    const { id } = await makeDemoRun(dir, 5);
    const idx = await readFeatureIndex(dir, id, "pca");
    assert.equal(idx.status, "ok");
    const f = await readFeature(dir, id, { dict: "pca", index: 3 });
    assert.equal(f.status === "ok" && f.value.index, 3);
    assert.deepEqual(await readFeature(dir, id, { dict: "pca", index: 9999 }), { status: "missing" });
    assert.deepEqual(await readFeatureIndex(dir, id, "r1_a1e-3"), { status: "missing" });
    assert.throws(() => readFeature(dir, id, { dict: "pca", index: -1 }), RangeError);
    assert.throws(() => readFeature(dir, id, { dict: "pca", index: 1.5 }), RangeError);
    assert.throws(() => readFeatureIndex(dir, id, "../pca"), TypeError);
    await Deno.writeTextFile(join(dir, id, "scores.json"), '{"dicts": 3}');
    const s = await readJson(dir, [id, "scores.json"], { kind: "scores" });
    assert.deepEqual(s, { status: "invalid", problems: ["$.dicts: expected an object, got number"] });
    const dicts = await listDicts(dir, id);
    assert.deepEqual(dicts.filter((d) => d.hasFeatures).map((d) => d.name), [
      "r4_a3e-3",
      "ica",
      "neurons",
      "pca",
      "random",
    ]);
  });
});

Deno.test("readers report unreadable files as problems instead of throwing", async () => {
  await withTempDir(async (dir) => {
    const { id } = await makeDemoRun(dir, 8, { status: "running" });
    await Deno.remove(join(dir, id, "metrics.jsonl"));
    await Deno.mkdir(join(dir, id, "metrics.jsonl"));
    await Deno.mkdir(join(dir, id, "scores.json"));
    const m = await readMetrics(dir, id);
    assert.equal(m.rows.length, 0);
    assert.match(m.problems[0], /cannot be read/);
    const s = await readJson(dir, [id, "scores.json"], { kind: "scores" });
    assert.equal(s.status, "invalid");
  });
});

Deno.test("readToy reads toy.json, and reports a missing, torn or non-conforming one without throwing", async () => {
  await withTempDir(async (dir) => {
    const { id } = await makeDemoRun(dir, 6);
    assert.deepEqual(await readToy(dir, id), { status: "missing" });
    const m = { kind: "tied", ratio: 1, l1: 1e-2, l0: 3, deadFraction: 0, mmcsTruth: 0.9, mmcsBetween: null };
    const toy = { members: [{ ...m, name: "tied_r1_a1.0e-2" }], chosen: "tied_r1_a1.0e-2" };
    await Deno.writeTextFile(join(dir, id, "toy.json"), JSON.stringify(toy));
    assert.deepEqual(await readToy(dir, id), { status: "ok", value: toy });
    await Deno.writeTextFile(join(dir, id, "toy.json"), JSON.stringify(toy).slice(0, 20));
    assert.equal((await readToy(dir, id)).status, "invalid");
    await Deno.writeTextFile(join(dir, id, "toy.json"), JSON.stringify({ ...toy, chosen: "other" }));
    const bad = await readToy(dir, id);
    assert.ok(bad.status === "invalid" && bad.problems.some((p) => p.includes("names no member")), JSON.stringify(bad));
    assert.throws(() => readToy(dir, "../x"), TypeError);
  });
});
