/**
 * The PyTorch-CPU side of the matmul benchmark: `torch.matmul` on the same
 * shapes through `bench/torch_peer.py`, and each shape's comparison of our
 * default and fastest kernels with it.
 *
 * @module
 */
import {
  compare,
  type Comparison,
  PEER_NAME,
  type PeerCase,
  type PeerReport,
  peerTiming,
  runTorchPeer,
  timing,
} from "../../../bench/torch_peer.ts";

/** One product: `[m×k]·[k×n]`, each operand read through its transpose where set. */
export interface MatmulShape {
  name: string;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

/** One of our kernels at a shape: its name and the seconds per call of each round. */
export interface KernelTimes {
  kernel: string;
  times: number[];
}

/**
 * Run the PyTorch peer on every shape (`rounds` rounds of `steps` calls), unless skipped.
 *
 * @param shapes The products, in the benchmark's order.
 * @param options `rounds`, `steps`, and `skip` (true: report that the peer was skipped).
 * @returns The peer's report, one result per shape.
 */
export function matmulPeer(
  shapes: MatmulShape[],
  options: { rounds: number; steps: number; skip: boolean },
): Promise<PeerReport> {
  if (options.skip) return Promise.resolve({ available: false, name: PEER_NAME, error: "skipped (--skip torch)" });
  console.error("PyTorch on the CPU…");
  const cases: PeerCase[] = shapes.map(({ m, k, n, transposeA, transposeB }) => ({
    kind: "matmul",
    ...{ m, k, n, transposeA, transposeB },
    rounds: options.rounds,
    steps: options.steps,
  }));
  return runTorchPeer(cases);
}

/**
 * A shape's PyTorch fields: the peer's GFLOP/s, our fastest kernel, and our default and fastest kernels'
 * rates ÷ PyTorch's (`null` when the peer did not run), with the comparisons behind them.
 *
 * @param shape The product.
 * @param options `peer` and `index` (the shape's case in the request), `steps` (calls per round), `ours`
 *   (our kernels' times at this shape) and `defaultKernel`.
 * @returns `fields` for the shape's row and `cases`: the default kernel's comparison, then the fastest
 *   kernel's where it is another one.
 */
export function peerColumns(
  shape: MatmulShape,
  options: { peer: PeerReport; index: number; steps: number; ours: KernelTimes[]; defaultKernel: string },
): { fields: Record<string, unknown>; cases: Comparison[] } {
  const { peer, ours } = options;
  const flops = 2 * shape.m * shape.n * shape.k;
  const p = peerTiming(peer, options.index);
  const pytorch_cpu = p
    ? {
      gflops: +(flops / p.median / 1e9).toFixed(2),
      best: +(flops / Math.min(...p.seconds) / 1e9).toFixed(2),
      ms: +(p.median * 1e3).toFixed(2),
      steps: options.steps,
      rounds: p.seconds.length,
    }
    : { error: peer.available ? "no result" : peer.error };
  const vsTorch = (c: KernelTimes) =>
    compare(`${c.kernel} ${shape.name}`, { unit: "MFLOP/s", work: flops / 1e6, ours: timing(c.times), pytorch: p });
  const time = (c: KernelTimes) => timing(c.times).median;
  const top = ours.reduce<KernelTimes | undefined>((best, c) => (!best || time(c) < time(best) ? c : best), undefined);
  const found = ours.find((c) => c.kernel === options.defaultKernel);
  const [mine, fastest] = [found && vsTorch(found), top && vsTorch(top)];
  return {
    fields: {
      pytorch_cpu,
      fastest: top?.kernel ?? null,
      defaultOverPytorch: mine?.ratio ?? null,
      fastestOverPytorch: fastest?.ratio ?? null,
    },
    cases: [mine, top !== found ? fastest : undefined].filter((c): c is Comparison => c !== undefined),
  };
}
