import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { type AblationGraph, ablationGraph } from "./mod.ts";
import { plantedModel } from "./_planted.ts";
import { seeded } from "./_random.ts";

const gpu = await createGpu();
const planted = await plantedModel(gpu);
const rand = seeded(11);
// windows of tokens 0–4; the key token 1 appears in most of them
const windows = Array.from({ length: 12 }, () => Array.from({ length: 6 }, () => Math.floor(rand() * 5)));
const dicts = planted.dicts.map((dict, l) => ({
  hook: `blocks.${l}.hook_resid_post`,
  dict,
  label: (f: number) => ["u", "v", "y", "w", "z", "d0", "d1", "d2"][f],
}));

function strongestInto(graph: AblationGraph, target: string) {
  return graph.edges.filter((e) => e.target === target).sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
}

Deno.test("the ablation graph finds the planted edges u → v → y", async () => {
  const graph = await ablationGraph(planted.model, {
    dicts,
    windows,
    target: { hook: "blocks.2.hook_resid_post", feature: 2 },
    depth: 2,
    edges: 2,
    weights: planted.weights,
  });
  assert.equal(graph.target, "L2/planted_l2/2");
  const node = (id: string) => graph.nodes.find((n) => n.id === id)!;
  const y = node("L2/planted_l2/2"), v = node("L1/planted_l1/1"), u = node("L0/planted_l0/0");
  assert.ok(y && v && u, `nodes: ${graph.nodes.map((n) => n.id).join(", ")}`);
  assert.equal(v.label, "v");
  assert.ok(y.activation > 1 && y.positions > 0);
  // ablating v removes y entirely (block 2's neuron reads only v): change = −y's activation
  const intoY = strongestInto(graph, y.id);
  assert.equal(intoY[0].source, v.id);
  assertClose([intoY[0].weight], [-y.activation], { atol: 1e-3, rtol: 1e-3 }, "v → y");
  for (const e of intoY.slice(1)) assert.ok(Math.abs(e.weight) < 0.01 * Math.abs(intoY[0].weight), `${e.source}`);
  // one layer down: ablating u removes v
  const intoV = strongestInto(graph, v.id);
  assert.equal(intoV[0].source, u.id);
  assertClose([intoV[0].weight], [-v.activation], { atol: 1e-3, rtol: 1e-3 }, "u → v");
  // distractors at other positions cannot reach the key position (attention is off): no edge at all
  assert.ok(!graph.edges.some((e) => /\/(5|6|7)$/.test(e.source)));
  assert.ok(graph.ablations > 0);
});

Deno.test("the whole-model path gives the same edges, and depth 1 stops after one layer", async () => {
  const options = { dicts, windows, target: { hook: "blocks.2.hook_resid_post", feature: 2 }, edges: 2 };
  const tail = await ablationGraph(planted.model, { ...options, depth: 1, weights: planted.weights });
  const full = await ablationGraph(planted.model, { ...options, depth: 1 });
  assert.deepEqual(full.edges.map((e) => [e.source, e.target]), tail.edges.map((e) => [e.source, e.target]));
  assertClose(full.edges.map((e) => e.weight), tail.edges.map((e) => e.weight), { atol: 1e-4, rtol: 1e-3 }, "weights");
  assert.ok(tail.nodes.every((n) => n.layer >= 1));
  await assert.rejects(
    () => ablationGraph(planted.model, { ...options, target: { hook: "blocks.1.hook_mlp_out", feature: 0 } }),
    /no dictionary at the target hook/,
  );
  await assert.rejects(
    () => ablationGraph(planted.model, { ...options, dicts: [dicts[2], dicts[0]] }),
    /increasing layer order/,
  );
});

Deno.test("a feature that never fires has no edges", async () => {
  const graph = await ablationGraph(planted.model, {
    dicts,
    windows: windows.map((w) => w.map((t) => (t === 1 ? 0 : t))), // no key token: y never fires
    target: { hook: "blocks.2.hook_resid_post", feature: 2 },
  });
  assert.equal(graph.edges.length, 0);
  assert.equal(graph.nodes[0].positions, 0);
});

globalThis.addEventListener("unload", () => {
  planted.model.dispose();
  for (const d of planted.dicts) d.dispose();
});
