import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { type FileKind, loadRun, makeDemoRun, parseMetrics, validate } from "./mod.ts";
import { withTempDir } from "./testing.ts";

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else yield p;
  }
}

function kindOf(rel: string): FileKind | "weights" | "metrics" {
  if (rel === "run.json") return "run";
  if (rel === "metrics.jsonl") return "metrics";
  if (rel === "scores.json") return "scores";
  if (rel === "patch.json") return "patch";
  if (rel === "circuits.json") return "circuits";
  if (rel.endsWith("/cfg.json")) return "saeCfg";
  if (rel.endsWith("/eval.json")) return "dictEval";
  if (rel.endsWith("/sae_weights.safetensors")) return "weights";
  if (/^features\/[^/]+\/index\.json$/.test(rel)) return "featureIndex";
  if (/^features\/[^/]+\/\d+\.json$/.test(rel)) return "featureDetail";
  if (/^features\/[^/]+\/atlas\/\d+\.json$/.test(rel)) return "atlasShard";
  throw new Error(`unexpected file ${rel}`);
}

/** Independent safetensors parse: header, then F32 data at the stated offsets. */
function readSafetensors(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(header) as [string, { shape: number[]; data_offsets: number[] }][]) {
    if (name === "__metadata__") continue;
    const [s, e] = t.data_offsets;
    out[name] = { shape: t.shape, data: new Float32Array(bytes.slice(8 + n + s, 8 + n + e).buffer) };
  }
  return {
    headerLength: n,
    tensors: out,
    end: 8 + n +
      Math.max(...Object.values(header).map((t) => (t as { data_offsets?: number[] }).data_offsets?.[1] ?? 0)),
  };
}

Deno.test("makeDemoRun writes a complete run in which every file conforms", async () => {
  await withTempDir(async (dir) => {
    const { id, path } = await makeDemoRun(dir, 7);
    assert.equal(id, "demo-7");
    const kinds = new Map<string, number>();
    for await (const file of walk(path)) {
      const rel = relative(path, file);
      const kind = kindOf(rel);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (kind === "weights") {
        const bytes = await Deno.readFile(file);
        const st = readSafetensors(bytes);
        assert.equal(st.headerLength % 8, 0);
        assert.equal(st.end, bytes.length);
        const [dSae, dIn] = st.tensors.W_dec.shape;
        assert.deepEqual(st.tensors.W_enc.shape, [dIn, dSae]);
        for (let r = 0; r < dSae; r++) {
          const row = st.tensors.W_dec.data.subarray(r * dIn, (r + 1) * dIn);
          assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5, `${rel} row ${r} is unit norm`);
        }
      } else if (kind === "metrics") {
        const m = parseMetrics(await Deno.readTextFile(file));
        assert.deepEqual(m.problems, []);
        assert.equal(m.rows.length, 9 * 24);
      } else {
        assert.deepEqual(validate(kind, JSON.parse(await Deno.readTextFile(file))), [], rel);
      }
    }
    assert.equal(kinds.get("weights"), 13);
    assert.equal(kinds.get("featureIndex"), 5);
    assert.equal(kinds.get("featureDetail"), 64 + 4 * 16);
    const run = await loadRun(dir, id);
    assert.equal(run?.summary.run?.synthetic, true);
    assert.match(run!.summary.run!.model.note!, /Synthetic/);
  });
});

Deno.test("demo statistics agree with the demo weights and features", async () => {
  await withTempDir(async (dir) => {
    const { id } = await makeDemoRun(dir, 11);
    const dec = async (name: string) =>
      readSafetensors(await Deno.readFile(join(dir, id, "saes", name, "sae_weights.safetensors"))).tensors.W_dec;
    // MMCS recomputed from the saved decoders.
    const ev = JSON.parse(await Deno.readTextFile(join(dir, id, "saes", "r2_a1e-3", "eval.json")));
    assert.equal(ev.mmcs.reference, "r4_a1e-3");
    const a = await dec("r2_a1e-3"), b = await dec("r4_a1e-3");
    const d = a.shape[1];
    let sum = 0;
    for (let i = 0; i < a.shape[0]; i++) {
      let best = -Infinity;
      for (let j = 0; j < b.shape[0]; j++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += a.data[i * d + k] * b.data[j * d + k];
        best = Math.max(best, dot); // rows are unit norm
      }
      sum += best;
    }
    assert.ok(Math.abs(ev.mmcs.value - sum / a.shape[0]) <= 1e-5 + 1e-5 * Math.abs(sum / a.shape[0]));
    // Scores: the mean equals the mean of the index's feature scores and lies inside its interval.
    const scores = JSON.parse(await Deno.readTextFile(join(dir, id, "scores.json")));
    const idx = JSON.parse(await Deno.readTextFile(join(dir, id, "features", "r4_a3e-3", "index.json")));
    const xs = idx.features.map((f: { score: number }) => f.score);
    const mean = xs.reduce((s: number, x: number) => s + x, 0) / xs.length;
    const sc = scores.dicts["r4_a3e-3"];
    assert.ok(Math.abs(sc.mean - mean) < 1e-12);
    assert.equal(sc.n, 64);
    assert.ok(sc.ci95[0] < sc.mean && sc.mean < sc.ci95[1]);
    assert.ok(sc.ci95[0] >= Math.min(...xs) && sc.ci95[1] <= Math.max(...xs));
    // Neighbours are sorted and exclude the feature itself.
    const f = JSON.parse(await Deno.readTextFile(join(dir, id, "features", "pca", "0.json")));
    assert.ok(f.neighbours.every((n: { index: number }) => n.index !== 0));
    for (let i = 1; i < f.neighbours.length; i++) assert.ok(f.neighbours[i - 1].cosine >= f.neighbours[i].cosine);
  });
});

Deno.test("makeDemoRun is reproducible and can stop mid-training", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    await makeDemoRun(a, 3);
    await makeDemoRun(b, 3);
    for (const f of ["scores.json", "metrics.jsonl", "features/pca/2.json"]) {
      assert.equal(await Deno.readTextFile(join(a, "demo-3", f)), await Deno.readTextFile(join(b, "demo-3", f)), f);
    }
    const { id } = await makeDemoRun(a, 4, { id: "live", status: "running" });
    const run = await loadRun(a, id);
    assert.equal(run?.summary.run?.status, "running");
    assert.equal(run?.summary.run?.stages.train.status, "running");
    assert.equal(run?.metrics.rows.length, 9 * 12);
    assert.deepEqual(run?.metrics.problems, []);
    assert.equal(run?.scores.status, "missing");
    assert.ok(run?.dicts.every((d) => d.cfg.status === "ok" && d.eval.status === "missing"));
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});
