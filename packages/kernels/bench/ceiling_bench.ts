/**
 * The adapter's multiply-add ceiling (`_fma_ceiling.ts`): GFLOP/s of a WGSL
 * kernel that only multiplies and adds values held in registers, at several
 * unroll factors of its loop. No matmul on the adapter can beat the best of
 * them; `bench:kernels`' matmul bench gives the matmuls' rates and PyTorch's
 * on the same machine.
 *
 * Each case is compiled and warmed up first, then timed in `--rounds` rounds
 * (round-robin over the cases, one wait per measurement); the median and the
 * fastest round are reported.
 *
 * Run: `deno run -A packages/kernels/bench/ceiling_bench.ts [--rounds R] [--tiny]`. Prints one JSON object.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createGpu } from "@saelab/gpu";
import { loadAverage } from "../../../bench/torch_peer.ts";
import { ACCUMULATORS, FMA_WORKGROUP, fmaDispatch, fmaFlops } from "./_fma_ceiling.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, tiny: { type: "boolean" } },
});
const ROUNDS = Number(args.rounds ?? 3);
const UNROLLS = [1, 2, 4, 8, 16, 32];
const ITERATIONS = args.tiny ? 64 : 2048;
const WORKGROUPS = args.tiny ? 2 : 512;

async function main(): Promise<void> {
  const before = loadAverage();
  const gpu = await createGpu();
  const out = gpu.device.createBuffer({ size: WORKGROUPS * FMA_WORKGROUP * 4, usage: GPUBufferUsage.STORAGE });
  const shape = { iterations: ITERATIONS, workgroups: WORKGROUPS };
  const times = new Map<number, number[]>(UNROLLS.map((u) => [u, []]));
  const once = async (unroll: number) => {
    const t0 = performance.now();
    fmaDispatch(gpu, out, { unroll, ...shape });
    await gpu.sync();
    return (performance.now() - t0) / 1e3;
  };
  for (const u of UNROLLS) await once(u); // compile and warm up
  for (let r = 0; r < ROUNDS; r++) {
    for (const u of UNROLLS) times.get(u)!.push(await once(u));
    console.error(`round ${r + 1} of ${ROUNDS} done`);
  }
  const info = gpu.adapter.info;
  out.destroy();
  gpu.destroy();
  const flops = fmaFlops(shape);
  const rate = (s: number) => Math.round(flops / s / 1e7) / 100;
  const cases = UNROLLS.map((unroll) => {
    const ts = [...times.get(unroll)!].sort((a, b) => a - b);
    return { unroll, gflops: rate(ts[Math.floor(ts.length / 2)]), best: rate(ts[0]), seconds: times.get(unroll)! };
  });
  console.log(JSON.stringify(
    {
      bench: "multiply-add ceiling",
      date: new Date().toISOString(),
      backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
      adapter: { software: gpu.isSoftware, description: info?.description ?? "" },
      loadAverage: { before, after: loadAverage() },
      cores: navigator.hardwareConcurrency,
      unit: "GFLOP/s",
      work: { accumulators: ACCUMULATORS, iterations: ITERATIONS, invocations: WORKGROUPS * FMA_WORKGROUP, flops },
      notes: "gflops: median round, best: fastest round, of a kernel that only runs vec4 multiply-adds on " +
        `${ACCUMULATORS} accumulators held in registers, its loop body unrolled \`unroll\` times; the best ` +
        "case bounds what any matmul reaches on this adapter (compare bench:kernels' matmul rates and " +
        "PyTorch's on the same machine)",
      best: cases.reduce((a, b) => (b.gflops > a.gflops ? b : a)),
      cases,
    },
    null,
    2,
  ));
}

if (import.meta.main) await main();
