import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { toyChoiceRuleText } from "@saelab/report";
import { readToy } from "@saelab/runs";
import { runStage, UsageError } from "./_runtime.ts";
import { formatToy, TOY_MODEL, toyStage } from "./toy.ts";
import { readRunJson, type TestDeps, testDeps, withTempDir } from "@saelab/runs/testing";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

function deps(runsDir: string): TestDeps & { progressed: number[] } {
  const progressed: number[] = [];
  return { ...testDeps(runsDir, { progress: (e) => progressed.push(e.done) }), progressed };
}

const tiny = { d: 8, ratios: [1, 2], l1: [1e-3, 1e-2], steps: 60, batchSize: 32, seed: 1 };

Deno.test("toy: a tiny sweep writes toy.json with every member, a chosen member and chance levels", async () => {
  await withTempDir(async (runsDir) => {
    const d = deps(runsDir);
    const result = await runStage(toyStage, { ...tiny, run: "toy-1" }, { deps: d, gpu });
    assert.equal(result?.runId, "toy-1");

    const file = await readToy(runsDir, "toy-1");
    assert.equal(file.status, "ok", JSON.stringify(file));
    const toy = file.value;
    assert.deepEqual(
      toy.members.map((m) => [m.kind, m.ratio, m.l1]),
      [["untied", 1, 1e-3], ["untied", 1, 1e-2], ["untied", 2, 1e-3], ["untied", 2, 1e-2]],
    );
    for (const m of toy.members) {
      assert.deepEqual(
        Object.keys(m).sort(),
        [
          "deadFraction",
          "kind",
          "l0",
          "l1",
          "largerAlive",
          "mmcsBetween",
          "mmcsBetweenAlive",
          "mmcsTruth",
          "name",
          "ratio",
        ],
      );
      assert.ok(m.mmcsTruth > 0 && m.mmcsTruth <= 1 + 1e-6, `${m.name} mmcsTruth ${m.mmcsTruth}`);
      assert.ok(m.deadFraction >= 0 && m.deadFraction <= 1);
      // R 2 is compared with the comparison-only partner at R 4 (twice the largest), which is no member
      assert.ok(m.mmcsBetween !== null && m.mmcsBetweenAlive !== null, m.name);
      assert.ok(m.largerAlive! >= 0 && m.largerAlive! <= 2 * m.ratio * 8, `${m.name} largerAlive ${m.largerAlive}`);
    }
    const partner = toy.training?.partner as { ratio: number; members: { name: string; ratio: number }[] };
    assert.equal(partner.ratio, 4);
    assert.deepEqual(partner.members.map((m) => m.ratio), [4, 4]);
    assert.ok(partner.members.every((m) => !toy.members.some((n) => n.name === m.name)));
    assert.deepEqual(toy.kinds?.map((k) => [k.kind, k.chosen]), [["untied", toy.chosen]], "one kind: the same choice");
    assert.ok(toy.members.some((m) => m.name === toy.chosen), toy.chosen);
    assert.deepEqual(toy.truthChance?.map((c) => c.ratio), [1, 2]);
    assert.deepEqual(toy.betweenChance?.map((c) => c.ratio), [1, 2]);
    assert.equal(toy.toy?.d, 8);
    assert.equal(toy.toy?.features, 16);
    assert.equal(toy.training?.steps, 60);

    const run = await readRunJson(runsDir, "toy-1");
    assert.equal(run.status, "done");
    assert.equal(run.model.name, TOY_MODEL.name);
    assert.equal(run.model.name, "toy data (no model)");
    assert.equal(run.stages.toy?.status, "done");
    assert.equal(d.progressed.at(-1), 60);
    const table = d.messages.join("\n");
    assert.match(table, /MMCS-truth \(chance\)/);
    assert.ok(table.includes(`chosen: ${toy.chosen} (MMCS to truth `), table);
    assert.match(table, /of 1 kinds recovered the features by the per-kind choice/);

    // The same command again reuses toy.json rather than training anew.
    const again = deps(runsDir);
    await runStage(toyStage, { ...tiny, run: "toy-1" }, { deps: again, gpu });
    assert.equal(again.progressed.length, 0);
    assert.deepEqual(await readToy(runsDir, "toy-1"), file);
  });
});

Deno.test("toy: sizes that cannot be trained are usage errors naming the flag, before any run is made", async () => {
  await withTempDir(async (runsDir) => {
    const d = deps(runsDir);
    const refuse = (config: Record<string, unknown>, flag: RegExp) =>
      assert.rejects(() => runStage(toyStage, config, { deps: d, gpu }), (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, flag);
        return true;
      });
    await refuse({ ratios: [0] }, /--ratios/);
    await refuse({ d: 6, ratios: [1] }, /--ratios: R 1 × --d 6 = 6 features/);
    await refuse({ d: 4, features: 3, meanActive: 5 }, /--mean-active/);
    await refuse({ kinds: ["sparse"] }, /--kinds/);
    await refuse({ batchSize: 30 }, /--batch-size/);
    await refuse({ decay: 1.5 }, /--decay/);
    await refuse({ ratios: [1, 2], partnerRatio: 2 }, /--partner-ratio: 2 must be above the largest --ratios \(2\)/);
    await refuse({ d: 8, ratios: [1], partnerRatio: 1.25 }, /--partner-ratio: 1.25 .* = 10 a whole multiple of 4/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
  });
});

Deno.test("toy: the table says plainly when the chosen member did not recover the features", () => {
  const m = { kind: "untied", l1: 3e-3, l0: 5, deadFraction: 0 };
  const members = [
    { ...m, name: "a", ratio: 1, mmcsTruth: 0.6, mmcsBetween: 0.8 },
    { ...m, name: "b", ratio: 2, mmcsTruth: 0.97, mmcsBetween: null },
  ];
  const low = formatToy({ members, chosen: "a", truthChance: [{ ratio: 1, value: 0.36 }] });
  assert.match(low, /chosen: a \(MMCS to truth 0\.60\)/);
  assert.match(low, /did not recover the features/);
  assert.match(low, /0\.600 \(0\.360\)/);
  const high = formatToy({ members, chosen: "b" });
  assert.match(high, /chosen: b \(MMCS to truth 0\.97\)/);
  assert.doesNotMatch(high, /did not recover/);
});

Deno.test("toy: the table's larger live / size and rule sentence are the ground-truth page's", () => {
  const m = { kind: "untied", l1: 3e-3, l0: 5, deadFraction: 0.45 };
  const choose = { maxDead: 0.1, minL0: 1, maxL0Fraction: 0.5 };
  const members = [
    { ...m, name: "a", ratio: 1, mmcsTruth: 0.6, mmcsBetween: 0.8, mmcsBetweenAlive: 0.85, largerAlive: 41 },
    { ...m, name: "b", ratio: 2, mmcsTruth: 0.97, mmcsBetween: 0.7, mmcsBetweenAlive: 0.9, largerAlive: 57 },
  ];
  const text = formatToy({ members, chosen: "b", toy: { d: 32 }, choose });
  assert.match(text, /larger live \/ size/);
  assert.match(text, /0\.850\s+41\/32\n/);
  assert.match(text, /0\.900\s+57\/64\n/);
  assert.ok(text.includes(toyChoiceRuleText(choose, { spareRecorded: true })!), text);
  const older = formatToy({ members: members.map(({ largerAlive: _, ...rest }) => rest), chosen: "b" });
  assert.doesNotMatch(older, /Choice:/);
});

Deno.test("toy: `deno task toy --ratios 0` exits 2 naming the flag", async () => {
  const main = new URL("../apps/cli/main.ts", import.meta.url).pathname;
  await withTempDir(async (runsDir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "toy", "--ratios", "0", "--runs", runsDir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, err);
    assert.match(err, /--ratios/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
  });
});
