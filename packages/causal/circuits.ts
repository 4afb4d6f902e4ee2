/**
 * Ablation graphs between dictionary features of successive layers
 * (Cunningham et al. 2023, Section 5.1 and Figure 4).
 *
 * For a target feature of the dictionary at layer L: take the token windows
 * where it fires most; at the previous dictionary's hook, subtract one
 * upstream feature's contribution (its activation times its decoder row, at
 * every position) and re-run the model from there to layer L. The edge
 * weight is the mean change of the target's activation over the positions
 * where it fired (negative: the upstream feature drives the target). The
 * strongest edges are kept and the sources are expanded the same way, down
 * a chosen number of layers.
 *
 * The re-runs start at the upstream hook ({@linkcode Downstream}) and stop at
 * the target's block; many ablations run in one batch.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import type { NeoxModel } from "@saelab/neox";
import type { ProgressFn } from "@saelab/runs";
import { hookPlace } from "./_hook.ts";
import { type Dictionary, encodeChunked, featureColumn } from "./dictionary.ts";
import { contextsOf, gather, rankCandidates } from "./_circuit_parts.ts";
import { Downstream, type WeightSource } from "./downstream.ts";
import { cacheHooks } from "./hook_cache.ts";

/** A dictionary and the hook it reads. */
export interface LayerDictionary {
  /** Block hook, e.g. `blocks.1.hook_resid_post`. */
  hook: string;
  /** The dictionary. */
  dict: Dictionary;
  /** Label of a feature (its explanation), when known. */
  label?: (feature: number) => string | undefined;
}

/** Options of {@linkcode ablationGraph}. */
export interface AblationGraphOptions {
  /** Dictionaries in increasing layer order; edges join neighbours in this list. */
  dicts: LayerDictionary[];
  /** Token windows of equal length to look for contexts in. */
  windows: number[][];
  /** The feature to explain: a hook of `dicts` and a feature index. */
  target: { hook: string; feature: number };
  /** Layers to go down from the target. Default 2. */
  depth?: number;
  /** Strongest edges kept per node. Default 3. */
  edges?: number;
  /** Windows (where the node fires most) used per node. Default 8. */
  contexts?: number;
  /** Upstream features ablated per node: those with the largest `Σ|activation|·‖decoder row‖`. Default 64. */
  candidates?: number;
  /** The model's weights, to re-run only the blocks after the upstream hook. */
  weights?: WeightSource;
  /** Most tokens per forward call. Default 8192. */
  maxTokens?: number;
  /** Progress per expanded node. */
  onProgress?: ProgressFn;
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** A feature in the graph. */
export interface GraphNode {
  /** `L{layer}/{dict}/{feature}`. */
  id: string;
  /** Block of the dictionary's hook. */
  layer: number;
  /** The hook. */
  hook: string;
  /** Dictionary name. */
  dict: string;
  /** Feature index. */
  feature: number;
  /** Explanation, when known. */
  label?: string;
  /** Mean activation over the positions where it fires in its contexts (0 when it never fires). */
  activation: number;
  /** Positions where it fires in its contexts. */
  positions: number;
}

/** An edge: ablating `source` changes `target` by `weight` on average. */
export interface GraphEdge {
  source: string;
  target: string;
  /** Mean change of the target's activation when the source is ablated. */
  weight: number;
}

/** The result of {@linkcode ablationGraph}. */
export interface AblationGraph {
  /** What edge weights measure. */
  metric: string;
  /** Id of the target node. */
  target: string;
  /** Nodes, the target first. */
  nodes: GraphNode[];
  /** Edges from earlier to later layers, strongest first per target. */
  edges: GraphEdge[];
  /** Ablations run. */
  ablations: number;
  /** Wall time in seconds. */
  seconds: number;
}

/** What edge weights of an ablation graph measure. */
export const ABLATION_METRIC = "mean change of the target's activation when the source's contribution is removed " +
  "(negative: the source drives the target)";

/**
 * Build the ablation graph of a target feature.
 *
 * @param model The model.
 * @param options Dictionaries by layer, windows, target, depth, edges and contexts per node, candidates.
 * @returns Nodes and weighted edges.
 * @throws {RangeError} For a target hook not among the dictionaries, hooks out of order or unequal windows.
 * @example
 * ```ts ignore
 * const graph = await ablationGraph(model, {
 *   dicts: [{ hook: "blocks.1.hook_resid_post", dict: d1 }, { hook: "blocks.2.hook_resid_post", dict: d2 }],
 *   windows, target: { hook: "blocks.2.hook_resid_post", feature: 17 }, depth: 1,
 * });
 * ```
 */
export async function ablationGraph(model: NeoxModel, options: AblationGraphOptions): Promise<AblationGraph> {
  const started = performance.now();
  const { dicts, windows } = options;
  const ti = dicts.findIndex((d) => d.hook === options.target.hook);
  if (ti < 0) throw new RangeError(`Cannot build the graph: no dictionary at the target hook ${options.target.hook}`);
  const layers = dicts.map((d) => hookPlace(d.hook).layer);
  if (layers.some((l, i) => i > 0 && l <= layers[i - 1])) {
    throw new RangeError(
      `Cannot build the graph: dictionaries must be in increasing layer order, got ${layers.join(", ")}`,
    );
  }
  const gpu = model.gpu;
  const cache = await cacheHooks(model, windows, { hooks: dicts.map((d) => d.hook), maxTokens: options.maxTokens });
  const depth = options.depth ?? 2, keep = options.edges ?? 3;
  const nContexts = options.contexts ?? 8, nCandidates = options.candidates ?? 64;
  const maxTokens = options.maxTokens ?? 8192;
  const T = cache.length;
  const columns = new Map<string, Float32Array>();
  const column = async (i: number, f: number) => {
    const key = `${i}/${f}`;
    if (!columns.has(key)) columns.set(key, await featureColumn(dicts[i].dict, { x: cache.x[i], feature: f }));
    return columns.get(key)!;
  };
  const downs = new Map<number, Downstream>();
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  let ablations = 0, expanded = 0;

  const nodeFor = async (i: number, f: number): Promise<GraphNode> => {
    const { dict, hook } = dicts[i];
    const id = `L${layers[i]}/${dict.name}/${f}`;
    if (!nodes.has(id)) {
      const chosen = contextsOf(await column(i, f), T, nContexts);
      const act = await column(i, f);
      let sum = 0, n = 0;
      for (const w of chosen) for (let t = 0; t < T; t++) if (act[w * T + t] > 0) sum += act[w * T + t], n++;
      const label = dicts[i].label?.(f);
      nodes.set(id, {
        id,
        layer: layers[i],
        hook,
        dict: dict.name,
        feature: f,
        ...(label ? { label } : {}),
        activation: n ? sum / n : 0,
        positions: n,
      });
    }
    return nodes.get(id)!;
  };

  const expand = async (i: number, f: number, left: number, seen: Set<string>): Promise<void> => {
    const node = await nodeFor(i, f);
    if (left === 0 || i === 0 || seen.has(node.id)) return;
    seen.add(node.id);
    options.signal?.throwIfAborted();
    const chosen = contextsOf(await column(i, f), T, nContexts);
    if (chosen.length === 0) return;
    const up = dicts[i - 1];
    let down = downs.get(i - 1);
    if (!down) downs.set(i - 1, down = await Downstream.create(model, up.hook, { weights: options.weights }));
    const w = up.dict.dIn, rowsPer = chosen.length * T;
    const x = gather(cache.x[i - 1], chosen, T * w);
    const pre = cache.residPre[i - 1] ? gather(cache.residPre[i - 1]!, chosen, T * cache.hidden) : undefined;
    const ids = chosen.map((c) => windows[c]);
    const codes = await encodeChunked(up.dict, x); // [rowsPer, F]
    const candidates = await rankCandidates(up.dict, codes, nCandidates);
    // slot −1: the unedited activation, through the same path
    const slot = new Map(candidates.features.map((u, a) => [u, a]));
    const run = async (list: number[]) => {
      const act = new Float32Array(list.length * rowsPer * w);
      list.forEach((u, s) => {
        act.set(x, s * rowsPer * w);
        if (u < 0) return;
        const a = slot.get(u)!;
        const row = candidates.rows.subarray(a * w, (a + 1) * w);
        for (let r = 0; r < rowsPer; r++) {
          const c = codes[r * up.dict.dDict + u];
          if (c !== 0) { for (let k = 0; k < w; k++) act[(s * rowsPer + r) * w + k] -= c * row[k]; }
        }
      });
      const shape = [list.length * chosen.length, T];
      const tensor = gpu.upload(act, [...shape, w], "causal.ablated");
      let preT: Tensor<"f32"> | undefined;
      if (pre) {
        const rep = new Float32Array(list.length * pre.length);
        for (let s = 0; s < list.length; s++) rep.set(pre, s * pre.length);
        preT = gpu.upload(rep, [...shape, cache.hidden], "causal.resid_pre");
      }
      const out = await down!.activationAt(list.flatMap(() => ids), tensor, { at: dicts[i].hook, residPre: preT });
      return await featureColumn(dicts[i].dict, { x: out, feature: f }); // [list·rowsPer]
    };
    const per = Math.max(1, Math.floor(maxTokens / rowsPer));
    const baseline = await run([-1]);
    const firing = [...baseline.keys()].filter((r) => baseline[r] > 0);
    const found: GraphEdge[] = [];
    for (let b = 0; b < candidates.features.length; b += per) {
      options.signal?.throwIfAborted();
      const list = candidates.features.slice(b, b + per);
      const t = await run(list);
      ablations += list.length;
      list.forEach((u, s) => {
        let change = 0;
        for (const r of firing) change += t[s * rowsPer + r] - baseline[r];
        if (firing.length && change !== 0) {
          found.push({
            source: `L${layers[i - 1]}/${up.dict.name}/${u}`,
            target: node.id,
            weight: change / firing.length,
          });
        }
      });
    }
    found.sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    const kept = found.slice(0, keep);
    edges.push(...kept);
    options.onProgress?.({ label: "circuits", done: ++expanded, unit: "node", info: node.id });
    for (const e of kept) {
      const u = Number(e.source.split("/").pop());
      await nodeFor(i - 1, u);
      await expand(i - 1, u, left - 1, seen);
    }
  };

  try {
    await expand(ti, options.target.feature, depth, new Set());
  } finally {
    for (const d of downs.values()) d.dispose();
  }
  const targetId = `L${layers[ti]}/${dicts[ti].dict.name}/${options.target.feature}`;
  return {
    metric: ABLATION_METRIC,
    target: targetId,
    nodes: [...nodes.values()],
    edges,
    ablations,
    seconds: (performance.now() - started) / 1000,
  };
}
