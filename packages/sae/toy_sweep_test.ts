import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { TOY_RECOVERED } from "@saelab/runs";
import { chooseToyMember, KIND_NAMES, mmcsChance, runToySweep, TOY_SWEEP_DEFAULTS, type ToyMember } from "./mod.ts";

const gpu = await createGpu();

const member = (name: string, ratio: number, l1: number, rest: Partial<ToyMember>): ToyMember => ({
  name,
  kind: "untied",
  ratio,
  l1,
  l0: 5,
  deadFraction: 0,
  mmcsTruth: 0,
  mmcsBetween: 0.5,
  ...rest,
});

Deno.test("the choice without ground truth: best MMCS between sizes among healthy members, deterministic ties", () => {
  const d = 32;
  const members = [
    member("dead", 1, 1e-3, { mmcsBetween: 0.99, deadFraction: 0.2 }), // too many dead features
    member("dense", 1, 1e-4, { mmcsBetween: 0.98, l0: 17 }), // L0 above d/2
    member("silent", 1, 1e-1, { mmcsBetween: 0.97, l0: 0.5 }), // L0 below 1
    member("largest", 4, 1e-2, { mmcsBetween: null }), // no larger partner
    member("b", 2, 1e-2, { mmcsBetween: 0.9 }),
    member("a", 2, 3e-2, { mmcsBetween: 0.9 }),
    member("c", 1, 1e-2, { mmcsBetween: 0.9 }),
  ];
  assert.equal(chooseToyMember(members, d), "c", "tie: the smaller R");
  assert.equal(chooseToyMember(members.filter((m) => m.name !== "c"), d), "a", "tie at one R: the larger α");
  assert.equal(chooseToyMember([...members].reverse(), d), "c", "order of the input does not matter");
  assert.equal(chooseToyMember(members, d, { maxDead: 0.5 }), "dead", "thresholds are options");
  const unhealthy = members.slice(0, 4);
  assert.equal(chooseToyMember(unhealthy, d), "dead", "no healthy member: best MMCS between sizes");
  assert.equal(chooseToyMember([members[3]], d), "largest", "no pair at all: the first member");
  assert.throws(() => chooseToyMember([], d), /no members/);
  const live = [
    member("r1", 1, 1e-2, { mmcsBetween: 0.73, mmcsBetweenAlive: 0.74 }),
    member("r2", 2, 1e-2, { mmcsBetween: 0.72, mmcsBetweenAlive: 0.93 }), // its partner's dead latents cost it
  ];
  assert.equal(chooseToyMember(live, d), "r2", "ranked by MMCS over the larger dictionary's live latents");
  assert.equal(chooseToyMember(live.map(({ mmcsBetweenAlive: _, ...m }) => m), d), "r1", "older files: all latents");
  const spare = [
    member("r2", 2, 0, { mmcsBetween: 0.6, mmcsBetweenAlive: 0.84, deadFraction: 0.2, largerAlive: 69 }),
    member("r4", 4, 0, { mmcsBetween: 0.6, mmcsBetweenAlive: 0.89, deadFraction: 0.46, largerAlive: 85 }),
    member("r1", 1, 0, { mmcsBetween: 0.6, mmcsBetweenAlive: 0.71, deadFraction: 0.06, largerAlive: 51 }),
  ];
  assert.equal(chooseToyMember(spare, d), "r4", "dead latents are spare where the larger one has no more live ones");
  assert.equal(
    chooseToyMember(spare.map((m) => m.name === "r4" ? { ...m, largerAlive: 129 } : m), d),
    "r1",
    "R 2's 20% dead are not spare (its larger partner uses 69 > 64 latents), nor R 4's when 129 > 128",
  );
});

Deno.test({
  name: "toy sweep: members recover the known features and the choice without ground truth picks one that does",
  sanitizeResources: false,
  fn: async () => {
    const progress: number[] = [];
    const result = await runToySweep(gpu, {
      toy: { d: 16, features: 32, meanActive: 3, seed: 2 },
      kinds: ["untied"],
      ratios: [2, 4],
      l1: [3e-3, 1e-2],
      steps: 600,
      batchSize: 128,
      lr: 1e-2,
      heldOutRows: 2048,
      chanceTrials: 2,
      partnerRatio: 0,
      onProgress: (done, total) => {
        assert.equal(total, 600);
        progress.push(done);
      },
    });
    console.log(
      result.members.map((m) => `${m.name}: truth ${m.mmcsTruth.toFixed(3)}, between ${m.mmcsBetween?.toFixed(3)}`),
    );
    assert.deepEqual(result.members.map((m) => m.name), [
      "untied_r2_a3.0e-3",
      "untied_r2_a1.0e-2",
      "untied_r4_a3.0e-3",
      "untied_r4_a1.0e-2",
    ]);
    assert.equal(progress.at(-1), 600);
    assert.ok(progress.every((p, i) => i === 0 || p > progress[i - 1]));
    const best = Math.max(...result.members.map((m) => m.mmcsTruth));
    assert.ok(best >= 0.9, `best MMCS with the truth ${best} < 0.9`);
    const chosen = result.members.find((m) => m.name === result.chosen)!;
    assert.equal(chosen.ratio, 2, "only R = 2 has a larger partner (no comparison-only partner here)");
    assert.ok(chosen.mmcsTruth >= 0.9, `chosen ${chosen.name} has MMCS with the truth ${chosen.mmcsTruth}`);
    for (const m of result.members) {
      assert.equal(m.mmcsBetween === null, m.ratio === 4);
      assert.ok(m.l0 > 0 && m.deadFraction >= 0 && m.deadFraction <= 1);
    }
    // chance levels are the computed statistic at the sizes of each comparison, far below recovery
    assert.deepEqual(result.truthChance.map((c) => c.ratio), [2, 4]);
    assert.equal(result.truthChance[0].value, mmcsChance({ dIn: 16, nSmall: 32, nLarge: 32, seed: 0, trials: 2 }));
    assert.equal(result.betweenChance[0].value, mmcsChance({ dIn: 16, nSmall: 32, nLarge: 64, seed: 2, trials: 2 }));
    assert.ok(result.truthChance[1].value < 0.75 && result.truthChance[1].value > result.truthChance[0].value);
    assert.equal(result.training.vectors, 600 * 128);
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result, "plain JSON (toy.json)");
  },
});

Deno.test("toy sweep: an aborted signal stops it; bad grids are refused", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stopped by the user"));
  await assert.rejects(() => runToySweep(gpu, { signal: controller.signal }), /stopped by the user/);
  let calls = 0;
  const running = new AbortController();
  await assert.rejects(
    () =>
      runToySweep(gpu, {
        toy: { d: 8 },
        ratios: [1],
        l1: [1e-3],
        steps: 10_000,
        batchSize: 16,
        onProgress: () => {
          if (++calls === 2) running.abort(new Error("interrupted"));
        },
        signal: running.signal,
      }),
    /interrupted/,
  );
  assert.equal(calls, 2, "stops at the next check after the abort");
  await assert.rejects(() => runToySweep(gpu, { toy: { d: 6 }, ratios: [1] }), /not a multiple of 4/);
  await assert.rejects(
    () => runToySweep(gpu, { toy: { d: 8 }, ratios: [1, 2], partnerRatio: 2 }),
    /partner ratio 2 is not above the largest ratio 2/,
  );
  await assert.rejects(
    () => runToySweep(gpu, { kinds: ["sparse" as "untied"] }),
    /"sparse" is not one of untied, tied/,
  );
});

Deno.test({
  name:
    "toy sweep: the report per kind names the member the rule picks among the kind's own, its best member and chance (k from the mean active features, the toy's prefixes)",
  sanitizeResources: false,
  fn: async () => {
    const d = 16, meanActive = 3;
    const result = await runToySweep(gpu, {
      toy: { d, features: 32, meanActive, seed: 3 },
      kinds: KIND_NAMES,
      ratios: [2, 4],
      l1: [1e-2],
      steps: 150,
      batchSize: 128,
      lr: 1e-2,
      heldOutRows: 1024,
      chanceTrials: 2,
    });
    assert.equal(result.training.k, meanActive, "the fixed-k kinds keep --mean-active codes by default");
    assert.deepEqual(result.training.prefixes, [...TOY_SWEEP_DEFAULTS.prefixes]);
    assert.deepEqual(result.kinds.map((k) => k.kind), [...KIND_NAMES], "one entry per kind, in sweep order");
    const margins = result.kinds.map((k) => {
      const own = result.members.filter((m) => m.kind === k.kind);
      const chosen = own.find((m) => m.name === k.chosen)!;
      assert.ok(chosen, `${k.kind}: chosen ${k.chosen} is one of its own members`);
      assert.equal(chooseToyMember(own, d), k.chosen, `${k.kind}: the rule over the kind's members only`);
      assert.equal(k.bestMmcsTruth, Math.max(...own.map((m) => m.mmcsTruth)));
      const chance = result.truthChance.find((c) => c.ratio === chosen.ratio)!.value;
      assert.equal(k.chance, chance);
      return { kind: k.kind, chosen: k.chosenMmcsTruth, best: k.bestMmcsTruth, chance };
    });
    console.log(
      margins.map((m) =>
        `${m.kind}: chosen ${m.chosen.toFixed(3)}, best ${m.best.toFixed(3)}, chance ${m.chance.toFixed(3)}`
      ),
    );
  },
});

Deno.test({
  name:
    "toy sweep: per kind, the member chosen without ground truth recovers the truth (MMCS ≥ 0.9) for untied, tied, topk and jumprelu, R 4 compared with the comparison-only partner at R 8",
  sanitizeResources: false,
  fn: async () => {
    const d = 16;
    const result = await runToySweep(gpu, {
      toy: { d, features: 32, meanActive: 3, seed: 3 },
      kinds: ["untied", "tied", "topk", "jumprelu"],
      ratios: [2, 4],
      l1: [1e-2],
      steps: 600,
      batchSize: 128,
      lr: 1e-2,
      heldOutRows: 1024,
      chanceTrials: 2,
    });
    const partner = result.training.partner!;
    assert.equal(partner.ratio, 8, "twice the largest ratio");
    assert.equal(
      partner.truthChance,
      mmcsChance({ dIn: d, nSmall: 8 * d, nLarge: 32, seed: 2 * 2, trials: 2 }),
      "the partners' MMCS with the truth has its chance level, as the members' (the sweep seed 0, after their seeds)",
    );
    assert.deepEqual(partner.members.map((m) => m.kind), ["untied", "tied", "topk", "jumprelu"]);
    assert.ok(!result.members.some((m) => m.ratio === 8), "the partners are no members");
    for (const m of result.members) assert.ok(m.mmcsBetween !== null && m.largerAlive !== null, m.name);
    console.log(result.kinds.map((k) => `${k.kind}: chosen ${k.chosen} ${k.chosenMmcsTruth.toFixed(3)}`));
    for (const k of result.kinds) {
      assert.ok(k.recovered && k.chosenMmcsTruth >= TOY_RECOVERED, `${k.kind}: ${k.chosen} ${k.chosenMmcsTruth}`);
    }
    const topk = result.members.find((m) => m.name === result.kinds.find((k) => k.kind === "topk")!.chosen)!;
    assert.equal(topk.ratio, 4, "topk recovers only at R 4, whose only comparison is the partner");
  },
});

globalThis.addEventListener("unload", () => gpu.destroy());

Deno.test("toy sweep: jumprelu members start from the toy's initial threshold unless one is given", async () => {
  const run = (thresholds?: { initThreshold: number }) =>
    runToySweep(gpu, {
      toy: { d: 8, seed: 1 },
      kinds: ["jumprelu"],
      ratios: [1],
      l1: [1e-3],
      steps: 4,
      batchSize: 32,
      heldOutRows: 256,
      chanceTrials: 1,
      ...(thresholds ? { thresholds } : {}),
    });
  assert.equal(TOY_SWEEP_DEFAULTS.thresholds.initThreshold, 0.1);
  const fresh = await run();
  assert.ok(fresh.members[0].l0 > 0, `from θ = 0.1 some codes fire (L0 ${fresh.members[0].l0})`);
  const high = await run({ initThreshold: 50 });
  assert.equal(high.members[0].l0, 0, "from θ = 50 none of the toy's codes (|x| < 3) fires");
});
