/**
 * The benchmarks' JSON keeps its fields: each bench runs at a tiny shape with
 * the PyTorch peer replaced by a fake interpreter that reports 0.5 s per step,
 * so the printed rates and ratios can be checked against the inputs; the real
 * peer script runs at a tiny shape where torch imports. No timing is asserted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KIND_NAMES } from "@saelab/sae";
import { compare, runTorchPeer, type Timing, timing } from "./torch_peer.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * A stand-in for python3: `-c …` succeeds; `script request` reports 0.5 s per step for every case and keeps the
 * request beside itself in `request.json`.
 */
const FAKE = `#!/usr/bin/env python3
import json, os, sys
if sys.argv[1] == "-c":
    sys.exit(0)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "request.json"), "w") as f:
    f.write(sys.argv[2])
cases = json.loads(sys.argv[2])["cases"]
print(json.dumps({"torch": "fake", "threads": 2, "blas": [],
  "results": [{"seconds": [0.5] * c["rounds"], "median": 0.5, "l0": 1.0} for c in cases]}))
`;

async function fakePython(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "python3");
  await Deno.writeTextFile(path, FAKE);
  await Deno.chmod(path, 0o755);
  return path;
}

async function runBench(script: string, python: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, script), "--tiny", "--rounds", "2", ...extra],
    env: { SAELAB_TORCH_PYTHON: python },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `${script} failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

interface Case {
  name: string;
  unit: string;
  ours: number;
  pytorch: number | null;
  ratio: number | null;
  ratioFastest: number | null;
  seconds: { ours: { seconds: number[]; median: number }; pytorch: { median: number } | null };
}

function checkCases(json: Record<string, unknown>, count: number, work: (c: Case) => number) {
  const load = json.loadAverage as { before: number[] | null; after: number[] | null };
  assert.ok(load.before === null || load.before.length === 3, "load average before");
  assert.ok(load.after === null || load.after.length === 3, "load average after");
  assert.equal(typeof json.date, "string");
  assert.equal((json.peer as { torch: string }).torch, "fake");
  const cases = json.cases as Case[];
  assert.equal(cases.length, count);
  for (const c of cases) {
    assert.equal(typeof c.name, "string");
    assert.equal(c.seconds.ours.seconds.length, 2, `${c.name}: one time per round`);
    assert.ok(c.ours > 0 && Number.isFinite(c.ours), `${c.name}: our rate`);
    assert.equal(c.pytorch, Math.round(work(c) / 0.5), `${c.name}: the peer's rate is its work over 0.5 s`);
    assert.equal(c.ratio, +(0.5 / c.seconds.ours.median).toFixed(2), `${c.name}: ratio`);
    const fastest = Math.min(...c.seconds.ours.seconds);
    assert.equal(c.ratioFastest, +(0.5 / fastest).toFixed(2), `${c.name}: the fastest rounds' ratio`);
  }
}

Deno.test("bench:sae prints both rates and their ratio per case", async () => {
  const json = await runBench("packages/sae/bench/sae_bench.ts", await fakePython());
  checkCases(json, 2, () => 64);
  const [dense, sparse] = json.cases as (Case & { density: { ours: { fraction: number } } })[];
  assert.ok(sparse.density.ours.fraction < dense.density.ours.fraction, "the sparse case fires fewer features");
  const kinds = json.kinds as {
    kind: string;
    unit: string;
    ours: number;
    untied: number;
    vsUntied: number;
    l0: number;
    seconds: { median: number; seconds: number[] };
  }[];
  assert.deepEqual(kinds.map((k) => k.kind), [...KIND_NAMES], "one row per registered kind, in registry order");
  const untied = kinds.find((k) => k.kind === "untied")!;
  assert.equal(untied.ours, dense.ours, "the untied row is the dense untied case");
  for (const k of kinds) {
    assert.equal(k.unit, "vectors/s");
    assert.equal(k.seconds.seconds.length, 2, `${k.kind}: one time per round`);
    assert.equal(k.ours, Math.round(64 / k.seconds.median), `${k.kind}: the batch over the median seconds per step`);
    assert.equal(k.untied, untied.ours, `${k.kind}: compared with the untied kind at the same shape`);
    assert.equal(k.vsUntied, +(k.ours / untied.ours).toFixed(2), `${k.kind}: vsUntied`);
    assert.ok(k.l0 > 0 && k.l0 <= 32, `${k.kind}: L0 within the 32 features`);
    assert.equal((k as { problem?: string }).problem, undefined, `${k.kind}: kept the codes it says`);
  }
});

Deno.test("bench:neox prints both rates and their ratio per case", async () => {
  const json = await runBench("packages/neox/bench/neox_bench.ts", await fakePython());
  checkCases(json, 2, () => 4 * 16);
});

Deno.test("bench:pretrain prints both rates and their ratio", async () => {
  const json = await runBench("packages/pretrain/bench/pretrain_bench.ts", await fakePython());
  checkCases(json, 1, () => 8 * 16);
});

interface MatmulRow {
  m: number;
  k: number;
  n: number;
  default: string;
  fastest: string;
  pytorch_cpu: { gflops: number; best: number; ms: number; steps: number; rounds: number } | { error: string };
  defaultOverPytorch: number | null;
  fastestOverPytorch: number | null;
}

Deno.test("bench:kernels' matmul bench compares our default and fastest kernels with PyTorch per shape", async () => {
  const python = await fakePython();
  const json = await runBench("packages/kernels/bench/matmul_bench.ts", python, ["--skip", "tfjs"]);
  const shapes = json.shapes as Record<string, MatmulRow>;
  assert.equal(Object.keys(shapes).length, 3);
  const request = JSON.parse(await Deno.readTextFile(join(python, "..", "request.json")));
  assert.deepEqual(
    request.cases,
    Object.entries(shapes).map(([name, { m, k, n }]) => ({
      kind: "matmul",
      ...{ m, k, n, transposeA: name.includes("ᵀ"), transposeB: false },
      rounds: 2,
      steps: 2,
    })),
    "the peer multiplies the same shapes with the same transposes, in order",
  );
  const flops = new Map(Object.entries(shapes).map(([name, s]) => [name, 2 * s.m * s.n * s.k]));
  const shapeOf = (c: Case) => Object.keys(shapes).find((name) => c.name.endsWith(` ${name}`))!;
  checkCases(json, (json.cases as Case[]).length, (c) => flops.get(shapeOf(c))! / 1e6);
  const cases = json.cases as Case[];
  for (const [name, s] of Object.entries(shapes)) {
    const rate = +(flops.get(name)! / 0.5 / 1e9).toFixed(2); // every fake round takes 0.5 s
    assert.deepEqual(s.pytorch_cpu, { gflops: rate, best: rate, ms: 500, steps: 2, rounds: 2 }, `${name}: the peer`);
    const row = (kernel: string) => cases.find((c) => c.name === `${kernel} ${name}`);
    assert.ok(row(s.default), `${name}: a case for the default kernel`);
    assert.equal(s.defaultOverPytorch, row(s.default)!.ratio, `${name}: the default kernel's ratio`);
    assert.equal(s.fastestOverPytorch, row(s.fastest)!.ratio, `${name}: the fastest kernel's ratio`);
    const ours = ["naive", "tiled", "texture"].map((k) => (s as unknown as Record<string, { ms: number }>)[k].ms);
    assert.equal((s as unknown as Record<string, { ms: number }>)[s.fastest].ms, Math.min(...ours), `${name}: fastest`);
  }
});

Deno.test("the matmul bench without the peer still prints our figures and says why", async () => {
  const json = await runBench("packages/kernels/bench/matmul_bench.ts", "/nonexistent/python3", [
    "--skip",
    "naive,tfjs,torch",
  ]);
  assert.match((json.peer as { error: string }).error, /--skip torch/);
  for (const s of Object.values(json.shapes as Record<string, MatmulRow & { tiled: { gflops: number } }>)) {
    assert.ok(s.tiled.gflops > 0, "our rate");
    assert.match((s.pytorch_cpu as { error: string }).error, /--skip torch/);
    assert.deepEqual([s.defaultOverPytorch, s.fastestOverPytorch], [null, null]);
  }
  for (const c of json.cases as Case[]) {
    assert.deepEqual([c.ours > 0, c.pytorch, c.ratio, c.ratioFastest], [true, null, null, null]);
  }
});

Deno.test("a peer that cannot run gives null figures and says why", async () => {
  const peer = await runTorchPeer([], { python: "/nonexistent/python3", install: false });
  assert.equal(peer.available, false);
  assert.match(peer.available ? "" : peer.error, /nonexistent.*cannot import torch/);
  const row = compare("x", { unit: "tokens/s", work: 8, ours: timing([0.25, 0.5]), pytorch: null });
  assert.deepEqual([row.ours, row.pytorch, row.ratio, row.ratioFastest], [16, null, null, null]);
});

const torchImports = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch"] }).output()
  .then((o) => o.success, () => false);

Deno.test({
  name: "the PyTorch peer script runs every kind of case at a tiny shape",
  ignore: !torchImports,
  fn: async () => {
    const config = {
      vocab_size: 32,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
      rotary_pct: 0.25,
    };
    const peer = await runTorchPeer([
      { kind: "sae", dIn: 8, ratio: 2, batch: 32, l1: 1e-3, fire: 0.25, rounds: 2, steps: 1 },
      { kind: "neox_forward", config, batch: 2, seq: 8, layers: 1, rounds: 2 },
      { kind: "neox_train", config, batch: 2, seq: 8, rounds: 2, steps: 1 },
    ], { python: "/usr/bin/python3", install: false });
    assert.ok(peer.available, peer.available ? "" : peer.error);
    assert.equal(peer.threads, 2);
    assert.ok(Array.isArray(peer.blas), "the BLAS libraries it loaded");
    for (const r of peer.results) {
      assert.equal(r.seconds.length, 2);
      assert.ok(r.median > 0 && Number.isFinite(r.median));
    }
    assert.ok((peer.results[0].l0 as number) < 16, "fewer than all 16 features fire with the bias set");
  },
});

/** The product of the matmul bench's inputs (element i of a: sin(0.37 i + 1), of b: sin(0.37 i + 2)), in float64. */
function benchProduct(s: { m: number; k: number; n: number; transposeA: boolean; transposeB: boolean }): number[][] {
  const input = (count: number, seed: number) =>
    Array.from({ length: count }, (_, i) => Math.fround(Math.sin(i * 0.37 + seed)));
  const [a, b] = [input(s.m * s.k, 1), input(s.k * s.n, 2)];
  const at = (i: number, p: number) => (s.transposeA ? a[p * s.m + i] : a[i * s.k + p]);
  const bt = (p: number, j: number) => (s.transposeB ? b[j * s.k + p] : b[p * s.n + j]);
  return Array.from({ length: s.m }, (_, i) =>
    Array.from({ length: s.n }, (_, j) => {
      let sum = 0;
      for (let p = 0; p < s.k; p++) sum += at(i, p) * bt(p, j);
      return sum;
    }));
}

Deno.test({
  name: "the PyTorch peer's matmul reads the transposes as views of the bench's storage",
  ignore: !torchImports,
  fn: async () => {
    const shapes = [
      { m: 3, k: 5, n: 4, transposeA: false, transposeB: false },
      { m: 3, k: 5, n: 4, transposeA: true, transposeB: false }, // as [b×f]ᵀ·[b×d]
      { m: 3, k: 5, n: 4, transposeA: false, transposeB: true },
      { m: 6, k: 2, n: 7, transposeA: true, transposeB: true },
    ];
    const peer = await runTorchPeer(shapes.map((s) => ({ kind: "matmul", ...s, rounds: 2, steps: 3 })), {
      python: "/usr/bin/python3",
      install: false,
    });
    if (!peer.available) throw new Error(peer.error);
    for (const [i, s] of shapes.entries()) {
      const r: Timing & Record<string, unknown> = peer.results[i];
      assert.equal(r.seconds.length, 2);
      const gflops = r.gflops as number;
      assert.ok(gflops > 0 && Number.isFinite(gflops), "a positive rate");
      assert.ok(Math.abs(gflops - 2 * s.m * s.n * s.k / r.median / 1e9) <= 1e-9 * gflops, "2·m·n·k over the median");
      const c = benchProduct(s);
      const want = [c[0][0], c[0][s.n - 1], c[s.m - 1][0], c[s.m - 1][s.n - 1]];
      const got = r.corners as number[];
      for (const [j, w] of want.entries()) {
        assert.ok(
          Math.abs(got[j] - w) <= 1e-5 + 1e-5 * Math.abs(w),
          `${JSON.stringify(s)} corner ${j}: ${got[j]} vs ${w}`,
        );
      }
    }
  },
});

Deno.test("the multiply-add ceiling bench prints each unroll's rate and the best of them", async () => {
  const json = await runBench("packages/kernels/bench/ceiling_bench.ts", "/nonexistent/python3");
  const cases = json.cases as { unroll: number; gflops: number; best: number; seconds: number[] }[];
  assert.deepEqual(cases.map((c) => c.unroll), [1, 2, 4, 8, 16, 32]);
  const work = json.work as { flops: number; invocations: number; iterations: number; accumulators: number };
  assert.equal(work.flops, 2 * 4 * work.accumulators * work.iterations * work.invocations);
  for (const c of cases) {
    assert.equal(c.seconds.length, 2, `unroll ${c.unroll}: one time per round`);
    const rate = (s: number) => Math.round(work.flops / s / 1e7) / 100;
    assert.equal(c.best, rate(Math.min(...c.seconds)), `unroll ${c.unroll}: best is the fastest round`);
  }
  assert.equal((json.best as { gflops: number }).gflops, Math.max(...cases.map((c) => c.gflops)));
});
