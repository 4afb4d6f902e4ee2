/**
 * Reads the reference neox-tiny checkpoint and its float64-computed activations (written by
 * Python tools, not by this package) and checks them against facts that tie the two files
 * together: embeddings, the parallel residual, the unembedding.
 */
import assert from "node:assert/strict";
import type { TensorInput } from "./encode.ts";
import { openSafetensors } from "./file.ts";
import { float16Bits, float16Value } from "./half.ts";
import { parseSafetensors, type SafetensorsFile } from "./reader.ts";
import { serializeSafetensors } from "./serialize.ts";

const dir = "../shared/reference/neox-tiny";
const present = await Deno.stat(`${dir}/expected.safetensors`).then(() => true, () => false);
if (!present) console.warn(`Skipping the reference safetensors tests: ${dir} is absent`);

/** Header invariants read straight from the bytes, compared with what the reader reports. */
async function checkHeader(path: string, f: SafetensorsFile): Promise<void> {
  const bytes = await Deno.readFile(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "the data section is 8-byte aligned");
  assert.equal(f.dataStart, 8 + n);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const { __metadata__: metadata = {}, ...entries } = header;
  assert.deepEqual({ ...f.metadata }, metadata);
  assert.deepEqual([...f.names].sort(), Object.keys(entries).sort());
  let end = 0;
  for (const name of f.names) {
    const e = entries[name];
    const info = f.info(name);
    assert.deepEqual([info.dtype, info.shape, info.dataOffsets], [e.dtype, e.shape, e.data_offsets], name);
    assert.equal(info.dataOffsets[0], end, `${name} follows the previous tensor in name order`);
    end = info.dataOffsets[1];
    // Independent decoding of one element per tensor: the first.
    const t = await f.get(name);
    if (info.byteLength === 0) continue;
    const dv = new DataView(bytes.buffer, 8 + n + info.dataOffsets[0]);
    const first = info.dtype === "I64" ? dv.getBigInt64(0, true) : dv.getFloat32(0, true);
    assert.equal(t.data[0], first, `${name}[0]`);
  }
  assert.equal(8 + n + end, bytes.length, "the tensors cover the data section");
}

Deno.test({
  name: "reference neox-tiny: headers and values of model.safetensors and expected.safetensors",
  ignore: !present,
  fn: async () => {
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    const { vocab_size: V, hidden_size: D, intermediate_size: F, layer_norm_eps: eps } = config;
    using model = await openSafetensors(`${dir}/model.safetensors`);
    using expected = await openSafetensors(`${dir}/expected.safetensors`);
    await checkHeader(`${dir}/model.safetensors`, model);
    await checkHeader(`${dir}/expected.safetensors`, expected);
    assert.deepEqual(model.info("gpt_neox.embed_in.weight").shape, [V, D]);
    assert.deepEqual(model.info("gpt_neox.layers.1.mlp.dense_h_to_4h.weight").shape, [F, D]);

    const ids = await expected.getInt32("input_ids"); // [2, 16]
    const [B, T] = expected.info("input_ids").shape;
    assert.ok(ids.every((id) => id >= 0 && id < V), "token ids are inside the vocabulary");
    const embed = await model.getFloat32("gpt_neox.embed_in.weight"); // [V, D]
    const resid0 = await expected.getFloat32("blocks.0.hook_resid_pre"); // [B, T, D]
    for (let r = 0; r < B * T; r++) {
      for (let d = 0; d < D; d++) assert.equal(resid0[r * D + d], embed[ids[r] * D + d], `embedding of token ${r}`);
    }
    // Parallel residual: resid_post = resid_pre + attn_out + mlp_out (each stored rounded to F32).
    for (const L of [0, 1]) {
      const [pre, attn, mlp, post] = await Promise.all(
        ["hook_resid_pre", "hook_attn_out", "hook_mlp_out", "hook_resid_post"].map((h) =>
          expected.getFloat32(`blocks.${L}.${h}`)
        ),
      );
      for (let i = 0; i < post.length; i++) {
        const ref = pre[i] + attn[i] + mlp[i];
        assert.ok(Math.abs(post[i] - ref) <= 1e-6 + 1e-6 * Math.abs(ref), `block ${L} residual [${i}]`);
      }
    }
    // ln_final then the unembedding: logits = LN(resid_post) · embed_outᵀ, computed here in float64.
    const resid = await expected.getFloat32("blocks.1.hook_resid_post");
    const normalized = await expected.getFloat32("ln_final.hook_normalized");
    const logits = await expected.getFloat32("logits"); // [B, T, V]
    const lnW = await model.getFloat32("gpt_neox.final_layer_norm.weight");
    const lnB = await model.getFloat32("gpt_neox.final_layer_norm.bias");
    const unembed = await model.getFloat32("embed_out.weight"); // [V, D]
    for (let r = 0; r < B * T; r++) {
      const x = resid.subarray(r * D, (r + 1) * D);
      const mean = x.reduce((a, b) => a + b, 0) / D;
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
      for (let d = 0; d < D; d++) {
        const ref = (x[d] - mean) / Math.sqrt(variance + eps) * lnW[d] + lnB[d];
        assert.ok(Math.abs(normalized[r * D + d] - ref) <= 1e-5 + 1e-5 * Math.abs(ref), `ln_final [${r}, ${d}]`);
      }
      for (let v = 0; v < V; v++) {
        let ref = 0;
        for (let d = 0; d < D; d++) ref += normalized[r * D + d] * unembed[v * D + d];
        assert.ok(Math.abs(logits[r * V + v] - ref) <= 1e-5 + 1e-5 * Math.abs(ref), `logits [${r}, ${v}]`);
      }
    }
  },
});

Deno.test({
  name: "reference neox-tiny: an F16 copy holds each weight rounded to the nearest binary16",
  ignore: !present,
  fn: async () => {
    using model = await openSafetensors(`${dir}/model.safetensors`);
    const tensors: Record<string, TensorInput> = {};
    for (const name of model.names) {
      tensors[name] = { dtype: "F16", shape: model.info(name).shape, data: await model.getFloat32(name) };
    }
    const half = parseSafetensors(serializeSafetensors(tensors, { metadata: { ...model.metadata } }));
    for (const name of model.names) {
      const w = await model.getFloat32(name), h = await half.getFloat32(name);
      for (let i = 0; i < w.length; i++) {
        // Within half an ulp (relative 2^-11) in the normal range, 2^-25 absolute below it.
        assert.ok(Math.abs(h[i] - w[i]) <= Math.max(2 ** -11 * Math.abs(w[i]), 2 ** -25), `${name}[${i}]`);
        assert.equal(h[i], float16Value(float16Bits(w[i])), `${name}[${i}]`);
      }
    }
  },
});
