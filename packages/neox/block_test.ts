import assert from "node:assert/strict";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { geluRef, layerNormRef } from "@saelab/kernels";
import {
  blockWeights,
  type Hooks,
  type NeoxConfig,
  parseConfig,
  randomWeights,
  recordBlock,
  referenceForward,
  type SavedBlock,
  weightSpecs,
} from "./mod.ts";
import { TINY_NEOX } from "./testing.ts";
import { Scope } from "./_scope.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };
const IDS = [[5, 96, 0, 17, 17, 42, 3], [1, 2, 3, 4, 5, 6, 7]];
const B = IDS.length, T = IDS[0].length;

/** The float64 log-sum-exp `[B, H, T]` and output `[B, T, D]` of causal attention on fused `qkv [B, T, H·3·hs]`. */
function attentionF64(config: NeoxConfig, qkv: Float32Array): { lse: Float64Array; z: Float64Array } {
  const H = config.numHeads, hs = config.headSize, D = config.hiddenSize, scale = 1 / Math.sqrt(hs);
  const lse = new Float64Array(B * H * T), z = new Float64Array(B * T * D);
  const at = (b: number, t: number, h: number, part: number, i: number) =>
    qkv[(b * T + t) * 3 * D + h * 3 * hs + part * hs + i];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += at(b, t, h, 0, i) * at(b, j, h, 1, i);
          return dot * scale;
        });
        const max = Math.max(...s);
        const sum = s.reduce((a, v) => a + Math.exp(v - max), 0);
        lse[(b * H + h) * T + t] = max + Math.log(sum);
        for (let i = 0; i < hs; i++) {
          let acc = 0;
          for (let j = 0; j <= t; j++) acc += Math.exp(s[j] - max) / sum * at(b, j, h, 2, i);
          z[(b * T + t) * D + h * hs + i] = acc;
        }
      }
    }
  }
  return { lse, z };
}

/** Every weight on the GPU in its stored shape, owned by `scope`. */
function upload(config: NeoxConfig, host: Record<string, Float32Array>, scope: Scope): Map<string, Tensor<"f32">> {
  return new Map(weightSpecs(config).map(({ name, shape }) => [name, scope.own(gpu.upload(host[name], shape, name))]));
}

for (const parallel of [true, false]) {
  const kind = parallel ? "parallel" : "sequential";
  Deno.test(`recordBlock (${kind} residual) saves what a backward pass needs without changing its output`, async () => {
    const config = parseConfig({ ...TINY_NEOX, rotary_pct: 0.5, use_parallel_residual: parallel });
    const host = randomWeights(config, { seed: 7, std: 0.15 });
    const ref = referenceForward(config, (n) => host[n], IDS).activations;
    const scope = new Scope();
    try {
      const tensors = upload(config, host, scope);
      const weights = blockWeights(1, (name) => tensors.get(name));
      const resid = Float32Array.from(ref.get("blocks.1.hook_resid_pre")!);
      const x = scope.own(gpu.upload(resid, [B, T, config.hiddenSize], "x"));
      const reads = new Map<string, Tensor>();
      const hooks: Hooks = Object.fromEntries(
        ["hook_resid_mid", "mlp.hook_post"].filter((h) => parallel ? h !== "hook_resid_mid" : true)
          .map((h) => [`blocks.1.${h}`, { keep: true, read: (n: string, t: Tensor) => reads.set(n, scope.own(t)) }]),
      );
      const plain = recordBlock(gpu, config, { weights, layer: 1, x, hooks: undefined, scope });
      const saved: SavedBlock[] = [];
      const out = recordBlock(gpu, config, { weights, layer: 1, x, hooks, scope, save: saved });
      assert.deepEqual(await out.read(), await plain.read(), "saving changes nothing in the output");
      assertClose(await out.read(), ref.get("blocks.1.hook_resid_post")!, TOL, "hook_resid_post");

      assert.equal(saved.length, 1);
      const s = saved[0];
      const D = config.hiddenSize, F = config.intermediateSize, H = config.numHeads;
      const shapes = { x: [B, T, D], ln1: [B, T, D], qkv: [B, T, 3 * D], lse: [B, H, T], z: [B, T, D] };
      for (
        const [k, shape] of Object.entries({ ...shapes, mid: [B, T, D], ln2: [B, T, D], h: [B, T, F], g: [B, T, F] })
      ) {
        assert.deepEqual(s[k as keyof SavedBlock].shape, shape, k);
      }
      assert.deepEqual(await s.x.read(), resid, "x is the block input");
      const ln = (v: ArrayLike<number>, which: "input_layernorm" | "post_attention_layernorm") =>
        layerNormRef(v, D, {
          weight: host[`gpt_neox.layers.1.${which}.weight`],
          bias: host[`gpt_neox.layers.1.${which}.bias`],
          eps: config.layerNormEps,
        });
      assertClose(await s.ln1.read(), ln(resid, "input_layernorm"), TOL, "ln1");
      const mid = parallel ? resid : ref.get("blocks.1.hook_resid_mid")!;
      assertClose(await s.mid.read(), mid, TOL, "mid");
      if (!parallel) assert.deepEqual(await s.mid.read(), await reads.get("blocks.1.hook_resid_mid")!.read());
      assertClose(await s.ln2.read(), ln(mid, "post_attention_layernorm"), TOL, "ln2");
      const h = await s.h.read();
      assertClose(await s.g.read(), geluRef(h), TOL, "g = gelu(h): h is kept apart from the in-place GELU");
      assertClose(await s.g.read(), ref.get("blocks.1.mlp.hook_post")!, TOL, "g");
      assert.deepEqual(await s.g.read(), await reads.get("blocks.1.mlp.hook_post")!.read(), "g is what the hook saw");
      const want = attentionF64(config, await s.qkv.read());
      assertClose(await s.lse.read(), want.lse, TOL, "lse");
      assertClose(await s.z.read(), want.z, TOL, "z");
    } finally {
      scope.release();
    }
  });
}

Deno.test("blockWeights names the weight it cannot find", () => {
  const config = parseConfig(TINY_NEOX);
  const host = randomWeights(config);
  const scope = new Scope();
  try {
    const tensors = upload(config, host, scope);
    tensors.delete("gpt_neox.layers.0.mlp.dense_h_to_4h.bias");
    assert.throws(
      () => blockWeights(0, (name) => tensors.get(name)),
      { name: "RangeError", message: /gpt_neox\.layers\.0\.mlp\.dense_h_to_4h\.bias is missing/ },
    );
  } finally {
    scope.release();
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
