/**
 * End-of-training evaluation of the sweep, written as each member's `eval.json`: held-out MSE,
 * FVU, L0, dead fraction and MMCS to the member of twice the size (`@saelab/sae`'s
 * `evaluateSweep`), and the spliced loss — the model's next-token loss on held-out windows with
 * the hook's activation replaced by each member's reconstruction, next to the clean loss and
 * the loss with the activation zeroed.
 *
 * @module
 */
import type { ActivationStore } from "@saelab/activations";
import type { TokenWindows } from "@saelab/corpus";
import type { NeoxModel } from "@saelab/neox";
import { type DictEval, RUN_FILES, type SplicedLoss, writeJsonAtomic } from "@saelab/runs";
import { evaluateSweep, type MemberMetrics, saeDictionary, type SweepTrainer } from "@saelab/sae";
import type { RunHandle } from "./_run.ts";

/** Held-out batches of the store at the training scale, trimmed to a multiple of 4 rows as the trainer needs. */
async function* heldOutBatches(store: ActivationStore, batchSize: number, scale: number): AsyncGenerator<Float32Array> {
  for await (const b of store.sequential({ batchSize, split: "heldout" })) {
    const rows = b.rows - (b.rows % 4);
    if (rows >= 4) yield b.x.subarray(0, rows * store.d).map((v) => v * scale); // [rows, d]
  }
}

/**
 * Clean, zero-ablated and spliced losses on held-out windows.
 *
 * @param model The model.
 * @param trainer The sweep (its current weights are spliced in).
 * @param options Hook, activation scale of the training, windows, windows per pass, progress and abort signal.
 * @returns The losses of each member, in member order.
 * @example
 * ```ts ignore
 * const losses = await splicedLosses(model, trainer, { hook, windows, batch: 8 });
 * ```
 */
export async function splicedLosses(
  model: NeoxModel,
  trainer: SweepTrainer,
  options: {
    hook: string;
    scale: number;
    windows: TokenWindows;
    batch: number;
    progress?: (done: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<SplicedLoss[]> {
  const { hook, windows } = options;
  const gpu = model.gpu;
  const weights = await trainer.weights();
  const dicts = weights.map((w, i) => saeDictionary(w, { name: trainer.names[i], scale: options.scale }).bind(gpu));
  const T = windows.contextLength;
  const n = windows.count;
  let clean = 0, zero = 0;
  const spliced = new Float64Array(dicts.length);
  const passes = Math.ceil(n / options.batch) * (dicts.length + 2);
  let done = 0;
  const tick = () => options.progress?.(++done, passes);
  try {
    for (let w = 0; w < n; w += options.batch) {
      const count = Math.min(options.batch, n - w);
      const flat = windows.batch(w, count); // [count, T]
      const ids = Array.from({ length: count }, (_, b) => flat.subarray(b * T, (b + 1) * T));
      const weight = count / n; // every window has T − 1 predictions
      options.signal?.throwIfAborted();
      clean += weight * (await model.loss(ids)).mean;
      tick();
      zero += weight * (await model.loss(ids, {
        hooks: { [hook]: { replace: (_, act) => gpu.zeros([...act.shape], "f32", "spliced.zero") } },
      })).mean;
      tick();
      for (let i = 0; i < dicts.length; i++) {
        options.signal?.throwIfAborted();
        const dict = dicts[i];
        const replace = (_: string, act: Parameters<typeof dict.encode>[0]) => {
          const x = act.reshape([act.size / dict.dIn, dict.dIn]); // [B·T, d]
          const codes = dict.encode(x); // [B·T, dDict]
          const recon = dict.decode(codes); // [B·T, d]
          codes.dispose();
          const out = gpu.empty([...act.shape], "f32", "spliced.recon"); // [B, T, d]
          gpu.encoder().copyBufferToBuffer(recon.buffer, 0, out.buffer, 0, act.size * 4);
          recon.dispose();
          return out;
        };
        spliced[i] += weight * (await model.loss(ids, { hooks: { [hook]: { replace } } })).mean;
        tick();
      }
    }
  } finally {
    for (const d of dicts) d.dispose();
  }
  return Array.from(spliced, (s) => ({ clean, spliced: s, zeroAblation: zero }));
}

/**
 * Evaluate every member on the store's held-out rows (and the spliced loss when windows are
 * given) and write each `saes/<name>/eval.json`.
 *
 * @param run The run folder.
 * @param trainer The trained sweep.
 * @param options Store, model, hook, activation scale, spliced-loss windows and batch.
 * @returns The metrics and evaluations, in member order.
 * @example
 * ```ts ignore
 * const evals = await evaluateMembers(run, trainer, { store, model, hook, windows, batch: 8 });
 * ```
 */
export async function evaluateMembers(
  run: RunHandle,
  trainer: SweepTrainer,
  options: {
    store: ActivationStore;
    model: NeoxModel;
    hook: string;
    scale: number;
    windows: TokenWindows | null;
    batch: number;
  },
): Promise<{ metrics: MemberMetrics[]; evals: DictEval[] }> {
  const { deps } = run;
  deps.progress({ label: "evaluate", done: 0, total: options.store.rows("heldout"), unit: "row" });
  const metrics = await evaluateSweep(trainer, heldOutBatches(options.store, trainer.batchSize, options.scale));
  deps.progress({ label: "evaluate", done: metrics[0]?.rows ?? 0, total: metrics[0]?.rows ?? 0, unit: "row" });
  let losses: SplicedLoss[] | null = null;
  if (options.windows && options.windows.count > 0) {
    losses = await splicedLosses(options.model, trainer, {
      hook: options.hook,
      scale: options.scale,
      windows: options.windows,
      batch: options.batch,
      signal: deps.signal,
      progress: (done, total) => deps.progress({ label: "spliced loss", done, total, unit: "pass" }),
    });
  }
  const evals = metrics.map((m, i): DictEval & { variant: string; activationScale: number } => ({
    kind: "sae",
    method: "sae",
    variant: m.spec.kind,
    dIn: m.spec.dIn,
    dSae: m.spec.dDict,
    ratio: m.spec.dDict / m.spec.dIn,
    l1Coefficient: m.spec.l1,
    fvu: m.fvu,
    mse: m.mse / options.scale ** 2,
    activationScale: options.scale,
    l0: m.l0,
    deadFraction: m.deadFraction,
    tokens: m.rows,
    ...(losses ? { splicedLoss: losses[i] } : {}),
    ...(m.mmcsToDouble !== null && m.doubleName !== null
      ? { mmcs: { reference: m.doubleName, value: Math.max(-1, Math.min(1, m.mmcsToDouble)) } }
      : {}),
  }));
  for (let i = 0; i < evals.length; i++) {
    await writeJsonAtomic(run.path(RUN_FILES.saes, metrics[i].name, RUN_FILES.eval), evals[i]);
  }
  return { metrics, evals };
}
