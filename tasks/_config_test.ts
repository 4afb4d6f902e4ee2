import assert from "node:assert/strict";
import { PRESETS, resolveConfig } from "./_config.ts";
import { UsageError } from "./_schema.ts";

Deno.test("kindLr: the default preset's per-kind peaks, dropped by an explicit --lr, set from kind=rate lists or objects", () => {
  assert.deepEqual(resolveConfig({}).kindLr, PRESETS.default.kindLr);
  assert.ok(Object.keys(PRESETS.default.kindLr).length > 0);
  assert.deepEqual(resolveConfig({ lr: 2e-3 }).kindLr, {}, "--lr alone sets every member's rate");
  assert.deepEqual(resolveConfig({ lr: 2e-3, kindLr: ["tied=0.02"] }).kindLr, { tied: 0.02 });
  assert.deepEqual(resolveConfig({ kindLr: { untied: 1e-3 } }).kindLr, { untied: 1e-3 });
  assert.deepEqual(resolveConfig({ preset: "paper" }).kindLr, {});
  assert.notEqual(resolveConfig({}).kindLr, PRESETS.default.kindLr, "a copy, not the preset's object");
});

Deno.test("kindLr: a bad entry is a usage error naming --kind-lr", () => {
  for (
    const bad of [["tied=abc"], ["tied"], ["tide=0.01"], ["tied=0"], ["tied=-1"], ["tied=0.1=2"], { tide: 0.1 }, 3]
  ) {
    assert.throws(() => resolveConfig({ kindLr: bad }), (e: Error) => {
      assert.equal(e.name, "UsageError");
      assert.match(e.message, /^Invalid --kind-lr: /);
      return true;
    }, JSON.stringify(bad));
  }
});

Deno.test("the default preset's schedule decays over every step after the warm-up", () => {
  const c = resolveConfig({});
  assert.equal(c.lrSchedule, "warmup-cosine");
  assert.equal(resolveConfig({ preset: "paper" }).lrSchedule, "constant");
});

Deno.test("jumprelu's bandwidth defaults to SAELens', its initial threshold to 0.1, and both refuse values not > 0", () => {
  const c = resolveConfig({});
  assert.equal(c.jumpreluBandwidth, 0.001, "SAELens' jumprelu_bandwidth");
  assert.equal(c.jumpreluInitThreshold, 0.1, "from SAELens' 0.001 the default run's jumprelu members stay dense");
  assert.equal(resolveConfig({ jumpreluInitThreshold: 0.5 }).jumpreluInitThreshold, 0.5);
  for (const bad of [{ jumpreluBandwidth: 0 }, { jumpreluInitThreshold: -1 }]) {
    assert.throws(() => resolveConfig(bad), /not > 0/, JSON.stringify(bad));
  }
});

Deno.test("train refuses --resample with --queue (members trained apart would not share the resampling stream)", () => {
  assert.throws(
    () => resolveConfig({ queue: "redis://127.0.0.1:6379", resample: true }),
    (e) => e instanceof UsageError && /Invalid --resample with --queue/.test(e.message),
  );
  assert.equal(resolveConfig({ queue: "redis://127.0.0.1:6379" }).queue, "redis://127.0.0.1:6379");
  assert.equal(resolveConfig({ resample: true }).resample, true);
});
