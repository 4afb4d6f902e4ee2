/**
 * What the `circuits` stage needs besides the run's own SAEs: token windows
 * rebuilt from the activation store's ids, and companion SAEs at the layers
 * where the run has none — trained here with the chosen member's recipe
 * (kind, ratio, α, activations scaled to mean squared norm `d`, the scale
 * folded into the weights) and kept under `runs/<id>/circuits/<name>/`.
 *
 * @module
 */
import type { ActivationStore } from "@saelab/activations";
import { type GpuLinearDictionary, loadDictionary, saveDictionary } from "@saelab/dictionary";
import { cacheHooks } from "@saelab/causal";
import type { Gpu } from "@saelab/gpu";
import type { NeoxModel } from "@saelab/neox";
import type { SaeCfg, StageDeps } from "@saelab/runs";
import { kindOfCfg, saeDictionary, type SaeSpec, SweepTrainer } from "@saelab/sae";
import type { RunHandle as AnalysisRun } from "./_run.ts";

/**
 * Token windows of `length` consecutive positions of one document, from a split of the store, in stored order.
 *
 * @param store The run's activation store.
 * @param options Window length, how many, which split.
 * @returns Up to `count` windows.
 */
export async function storeWindows(
  store: ActivationStore,
  options: { length: number; count: number; split: "train" | "heldout" },
): Promise<number[][]> {
  const out: number[][] = [];
  let cur: number[] = [], doc = -1, pos = -1;
  for await (const b of store.sequential({ batchSize: 4096, split: options.split })) {
    for (let r = 0; r < b.rows && out.length < options.count; r++) {
      if (b.doc[r] !== doc || b.pos[r] !== pos + 1) cur = [];
      doc = b.doc[r];
      pos = b.pos[r];
      cur.push(b.token[r]);
      if (cur.length === options.length) out.push(cur), cur = [];
    }
    if (out.length >= options.count) break;
  }
  return out;
}

/** The recipe of a member, from its `cfg.json`. */
export function memberSpec(cfg: SaeCfg): SaeSpec {
  const kind = kindOfCfg(cfg);
  if (!kind) {
    throw new TypeError(
      `Cannot read a member recipe: cfg.json architecture ${JSON.stringify(cfg.architecture)} is no SAE kind`,
    );
  }
  return {
    kind: kind.name as SaeSpec["kind"],
    dIn: cfg.d_in,
    dDict: cfg.d_sae,
    l1: Number(cfg.l1_coefficient ?? 1e-3),
    ...kind.saelens.spec(cfg),
  };
}

/**
 * A companion SAE at another hook: reused from `runs/<id>/circuits/<name>/`, else trained on the windows.
 *
 * @param gpu The GPU context.
 * @param o Model, run, hook, spec, name, training windows, steps, seed, deps.
 * @returns The dictionary on the GPU.
 */
export async function companion(
  gpu: Gpu,
  o: {
    model: NeoxModel;
    run: AnalysisRun;
    hook: string;
    spec: SaeSpec;
    name: string;
    windows: number[][];
    steps: number;
    seed: number;
    deps: StageDeps;
  },
): Promise<GpuLinearDictionary> {
  const dir = o.run.path("circuits", o.name);
  try {
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/cfg.json`));
    if (cfg.hook_name === o.hook && cfg.saelab?.steps === o.steps && cfg.saelab?.seed === o.seed) {
      o.deps.log.info(`circuits: reusing companion ${o.name}`);
      return (await loadDictionary(dir, { name: o.name, kind: "sae" })).bind(gpu);
    }
  } catch { /* not there yet */ }
  const cache = await cacheHooks(o.model, o.windows, { hooks: [o.hook] });
  const x = cache.x[0], d = o.spec.dIn, rows = x.length / d;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = ss > 0 ? Math.sqrt((d * rows) / ss) : 1;
  const batchSize = Math.min(512, rows - (rows % 4));
  const trainer = new SweepTrainer(gpu, [o.spec], { batchSize, seed: o.seed, logEvery: 0 });
  let state = (o.seed * 2654435761 + 1) >>> 0;
  const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const batch = new Float32Array(batchSize * d);
  for (let step = 0; step < o.steps; step++) {
    o.deps.signal.throwIfAborted();
    for (let b = 0; b < batchSize; b++) {
      const r = Math.floor(rand() * rows);
      for (let i = 0; i < d; i++) batch[b * d + i] = x[r * d + i] * scale;
    }
    trainer.step(batch);
    if (step % 50 === 49) {
      await trainer.settle();
      o.deps.progress({ label: `circuits: companion ${o.name}`, done: step + 1, total: o.steps, unit: "step" });
    }
  }
  await trainer.settle();
  const [w] = await trainer.weights();
  trainer.dispose();
  const host = saeDictionary(w, {
    name: o.name,
    scale,
    info: { companion: true, steps: o.steps, seed: o.seed, rows, scale },
  });
  await saveDictionary(dir, host, { hookName: o.hook });
  o.deps.log.info(`circuits: trained companion ${o.name} at ${o.hook} (${o.steps} steps on ${rows} rows)`);
  return host.bind(gpu);
}
