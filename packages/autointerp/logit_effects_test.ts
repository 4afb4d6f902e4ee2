import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { writeCheckpoint } from "@saelab/safetensors";
import { isResidualHook, loadUnembedding, logitEffects, type Unembedding } from "./logit_effects.ts";

// W_U [6, 3]: token t's row; γ doubles the first coordinate and zeroes the last.
const HAND: Unembedding = {
  vocab: 6,
  d: 3,
  weight: new Float32Array([
    1,
    0,
    5, // 0
    0,
    1,
    0, // 1
    -1,
    0,
    0, // 2
    2,
    1,
    0, // 3
    0,
    -3,
    9, // 4
    0,
    0,
    -7, // 5
  ]),
  gamma: new Float32Array([2, 1, 0]),
};
const NAMES = ["a", "b", "c", "d", "e", "f"];

Deno.test("logitEffects: hand-built unembedding gives the known top tokens", () => {
  // γ ⊙ d = [2, 1, 0] for d = [1, 1, 4]: logits 2, 1, -2, 5, -3, 0.
  const e = logitEffects(new Float32Array([1, 1, 4]), HAND, { k: 2, decode: (i) => NAMES[i] });
  assert.deepEqual(e.positive, [{ token: "d", value: 5 }, { token: "a", value: 2 }]);
  assert.deepEqual(e.negative, [{ token: "e", value: -3 }, { token: "c", value: -2 }]);
  // k larger than the tokens of a sign keeps only that sign (token f has effect 0 and appears in neither list).
  const all = logitEffects(new Float32Array([1, 1, 4]), HAND, { k: 10, decode: (i) => NAMES[i] });
  assert.deepEqual(all.positive.map((t) => t.token), ["d", "a", "b"]);
  assert.deepEqual(all.negative.map((t) => t.token), ["e", "c"]);
  // Without γ the last coordinate counts: logits 21, 1, -1, 3, 33, -28.
  const plain = logitEffects(new Float32Array([1, 1, 4]), { ...HAND, gamma: undefined }, { k: 1 });
  assert.deepEqual(
    { positive: plain.positive, negative: plain.negative },
    { positive: [{ token: "⟨4⟩", value: 33 }], negative: [{ token: "⟨5⟩", value: -28 }] },
  );
  // the histogram of logits 2, 1, -2, 5, -3, 0 in 4 bins of width 2 over [-3, 5]: [-3,-1) [-1,1) [1,3) [3,5]
  const h = logitEffects(new Float32Array([1, 1, 4]), HAND, { bins: 4 }).histogram!;
  assert.deepEqual(h.edges, [-3, -1, 1, 3, 5]);
  assert.deepEqual(h.counts, [2, 1, 2, 1]);
});

Deno.test("logitEffects: matches a full sort of a float64 reference on random weights", () => {
  const rng = seededRandom(7);
  const vocab = 300, d = 16;
  const u: Unembedding = {
    vocab,
    d,
    weight: Float32Array.from({ length: vocab * d }, () => rng() * 2 - 1),
    gamma: Float32Array.from({ length: d }, () => 0.5 + rng()),
  };
  const dir = Float32Array.from({ length: d }, () => rng() * 2 - 1);
  const ref = Array.from({ length: vocab }, (_, t) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += u.weight[t * d + c] * u.gamma![c] * dir[c];
    return { t, s };
  });
  const desc = [...ref].sort((a, b) => b.s - a.s);
  const e = logitEffects(dir, u, { k: 10, decode: String });
  assert.deepEqual(e.positive.map((x) => Number(x.token)), desc.slice(0, 10).map((r) => r.t));
  assert.deepEqual(e.negative.map((x) => Number(x.token)), desc.slice(-10).reverse().map((r) => r.t));
  for (const x of [...e.positive, ...e.negative]) {
    const s = ref[Number(x.token)].s;
    assert.ok(Math.abs(x.value - s) <= 1e-6 + 1e-4 * Math.abs(s), `token ${x.token}: ${x.value} vs ${s}`);
  }
});

Deno.test("logitEffects: rejects a direction of the wrong width", () => {
  assert.throws(() => logitEffects(new Float32Array(2), HAND), RangeError);
});

Deno.test("isResidualHook: residual-stream hooks only", () => {
  for (const h of ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_mid", "blocks.2.hook_resid_post"]) {
    assert.ok(isResidualHook(h), h);
  }
  assert.ok(isResidualHook("blocks.3.hook_attn_out") && isResidualHook("blocks.3.hook_mlp_out"));
  assert.ok(!isResidualHook("blocks.0.mlp.hook_post") && !isResidualHook("blocks.0.attn.hook_z"));
});

Deno.test("loadUnembedding: reads embed_out and the final LayerNorm weight from a model folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeCheckpoint(dir, {
      "embed_out.weight": { dtype: "F32", shape: [6, 3], data: HAND.weight },
      "gpt_neox.final_layer_norm.weight": { dtype: "F32", shape: [3], data: HAND.gamma! },
    });
    const u = await loadUnembedding(dir);
    assert.equal(u.vocab, 6);
    assert.equal(u.d, 3);
    assert.deepEqual([...u.weight], [...HAND.weight]);
    assert.deepEqual([...u.gamma!], [...HAND.gamma!]);
    await assert.rejects(() => loadUnembedding(join(dir, "missing")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
