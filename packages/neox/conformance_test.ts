import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { openSafetensors } from "@saelab/safetensors";
import { hookNames, type Hooks, loadModel, parseConfig, referenceForward } from "./mod.ts";

const DIR = join(import.meta.dirname!, "../../../shared/reference/neox-tiny");
const present = await Deno.stat(join(DIR, "expected.safetensors")).then(() => true, () => false);
if (!present) console.warn(`skipping the neox-tiny conformance tests: ${DIR} is absent`);
const gpu = present ? await createGpu() : undefined;
const TOL = { atol: 1e-4, rtol: 1e-4 }; // |a − b| ≤ 1e-4·(1 + |ref|)

async function expected() {
  using file = await openSafetensors(join(DIR, "expected.safetensors"));
  const ids = await file.getInt32("input_ids");
  const [b, t] = file.info("input_ids").shape;
  const rows = Array.from({ length: b }, (_, i) => [...ids.subarray(i * t, (i + 1) * t)]);
  const acts = new Map<string, Float32Array>();
  for (const name of file.names) if (name !== "input_ids") acts.set(name, await file.getFloat32(name));
  return { rows, acts };
}

/** A test against the stored activations, ignored (with the warning above) when they are absent. */
function conformanceTest(name: string, fn: (want: Awaited<ReturnType<typeof expected>>) => Promise<void>): void {
  Deno.test({ name, ignore: !present, fn: async () => fn(await expected()) });
}

conformanceTest("the CPU reference reproduces neox-tiny's expected activations", async ({ rows, acts }) => {
  const config = parseConfig(JSON.parse(await Deno.readTextFile(join(DIR, "config.json"))));
  using weights = await openSafetensors(join(DIR, "model.safetensors"));
  const w = new Map<string, Float32Array>();
  for (const name of weights.names) w.set(name, await weights.getFloat32(name));
  const out = referenceForward(config, (n) => w.get(n)!, rows);
  for (const [name, want] of acts) {
    const got = name === "logits" ? out.logits! : out.activations.get(name);
    assert.ok(got, `the reference has no ${name}`);
    assertClose(got, want, { atol: 1e-6, rtol: 1e-6 }, `reference ${name}`);
  }
});

conformanceTest(
  "the GPU model matches neox-tiny's expected activations at every hook point and the logits",
  async ({ rows, acts }) => {
    using model = await loadModel(gpu!, DIR);
    const kept = new Map<string, Tensor>();
    const hooks: Hooks = Object.fromEntries(
      hookNames(model.config).map((name) => [name, { keep: true, read: (n: string, t: Tensor) => kept.set(n, t) }]),
    );
    using logits = model.forward(rows, { hooks });
    assert.deepEqual(logits.shape, [2, 16, 512]);
    assert.deepEqual([...kept.keys()].sort(), [...acts.keys()].sort(), "every stored hook point fired once");
    for (const [name, want] of acts) {
      using t = kept.get(name)!;
      assertClose(await t.read(), want, TOL, name);
    }
    assertClose(await logits.read(), acts.get("logits")!, TOL, "returned logits");
  },
);

conformanceTest(
  "stopAtLayer returns the residual stream where it stops, and loss matches the expected logits",
  async ({ rows, acts }) => {
    using model = await loadModel(gpu!, DIR);
    for (
      const [stop, name] of [[0, "blocks.0.hook_resid_pre"], [1, "blocks.1.hook_resid_pre"], [
        2,
        "blocks.1.hook_resid_post",
      ]] as const
    ) {
      using resid = model.forward(rows, { stopAtLayer: stop });
      assert.deepEqual(resid.shape, [2, 16, 64]);
      assertClose(await resid.read(), acts.get(name)!, TOL, `stopAtLayer ${stop}`);
    }
    // next-token loss from the expected logits, in float64
    const logits = acts.get("logits")!;
    const per: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 15; t++) {
        const row = logits.subarray((b * 16 + t) * 512, (b * 16 + t + 1) * 512);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
        per.push(lse - row[rows[b][t + 1]]);
      }
    }
    const loss = await model.loss(rows, { perToken: true });
    assertClose(loss.perToken!, per, TOL, "per-token loss");
    assertClose([loss.mean], [per.reduce((a, b) => a + b) / per.length], TOL, "mean loss");
  },
);

globalThis.addEventListener("unload", () => gpu?.destroy());
