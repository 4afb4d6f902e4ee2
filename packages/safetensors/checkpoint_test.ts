import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { TensorInput } from "./encode.ts";
import { SafetensorsError } from "./errors.ts";
import { writeSafetensors } from "./file.ts";
import { list, withDir } from "./_test_util.ts";

/** Five tensors of 400, 400, 400, 16 and 8 bytes. */
function tensors(): Record<string, TensorInput> {
  const ramp = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => i * k);
  return {
    "layers.0.w": { dtype: "F32", shape: [10, 10], data: ramp(100, 1) },
    "layers.1.w": { dtype: "F32", shape: [10, 10], data: ramp(100, 2) },
    "layers.2.w": { dtype: "F16", shape: [200], data: ramp(200, 0.5) },
    "ln.b": { dtype: "F32", shape: [4], data: ramp(4, -1) },
    step: { dtype: "I64", shape: [1], data: [1234n] },
  };
}

Deno.test("writeCheckpoint shards by size, writes a Hugging Face index; openCheckpoint reads it back", async () => {
  await withDir(async (dir) => {
    const written = await writeCheckpoint(dir, tensors(), { maxShardBytes: 820, metadata: { format: "pt" } });
    const names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    assert.deepEqual(written, [...names.map((n) => join(dir, n)), join(dir, "model.safetensors.index.json")]);
    assert.deepEqual(await list(dir), [...names, "model.safetensors.index.json"]);
    const index = JSON.parse(await Deno.readTextFile(join(dir, "model.safetensors.index.json")));
    assert.deepEqual(index, {
      metadata: { total_size: 1224 },
      weight_map: {
        "layers.0.w": names[0],
        "layers.1.w": names[0],
        "layers.2.w": names[1],
        "ln.b": names[1],
        step: names[1],
      },
    });
    using ckpt = await openCheckpoint(dir);
    assert.deepEqual(ckpt.names, Object.keys(tensors()).sort());
    assert.deepEqual(ckpt.metadata, { format: "pt" });
    assert.deepEqual(ckpt.indexMetadata, { total_size: 1224 });
    assert.equal(ckpt.info("ln.b").file, join(dir, names[1]));
    for (const [name, t] of Object.entries(tensors())) {
      const got = await ckpt.get(name);
      assert.deepEqual([got.dtype, got.shape], [t.dtype, t.shape], name);
      if ("data" in t && got.data instanceof Float32Array) {
        assert.deepEqual(got.data, Float32Array.from(t.data as number[]));
      }
    }
    assert.deepEqual(await ckpt.getInt32("step"), new Int32Array([1234]));
  });
});

Deno.test("a tensor larger than the shard limit gets a shard of its own; a single file when it fits", async () => {
  await withDir(async (dir) => {
    await writeCheckpoint(dir, tensors(), { maxShardBytes: 100 });
    const index = JSON.parse(await Deno.readTextFile(join(dir, "model.safetensors.index.json")));
    assert.deepEqual(Object.values(index.weight_map), [
      "model-00001-of-00004.safetensors",
      "model-00002-of-00004.safetensors",
      "model-00003-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
    ]);
    // Rewriting as one file removes the index and the shards; rewriting sharded removes the single file.
    await writeCheckpoint(dir, tensors());
    assert.deepEqual(await list(dir), ["model.safetensors"]);
    await writeCheckpoint(dir, tensors(), { maxShardBytes: 820 });
    assert.deepEqual(await list(dir), [
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    using ckpt = await openCheckpoint(dir);
    assert.equal(ckpt.files.length, 2);
  });
});

Deno.test("openCheckpoint: single file, custom file name, hand-written index with any shard names", async () => {
  await withDir(async (dir) => {
    await writeSafetensors(join(dir, "sae_weights.safetensors"), { b_dec: { dtype: "F32", shape: [2], data: [1, 2] } });
    using sae = await openCheckpoint(dir, { filename: "sae_weights.safetensors" });
    assert.deepEqual(await sae.getFloat32("b_dec"), new Float32Array([1, 2]));
    assert.deepEqual(sae.indexMetadata, {});

    await writeSafetensors(join(dir, "part-a.safetensors"), {
      x: { dtype: "F32", shape: [1], data: [5] },
      unlisted: { dtype: "F32", shape: [1], data: [6] },
    });
    await writeSafetensors(join(dir, "part-b.safetensors"), { y: { dtype: "BF16", shape: [1], data: [7] } });
    await Deno.writeTextFile(
      join(dir, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { y: "part-b.safetensors", x: "part-a.safetensors" } }),
    );
    using ckpt = await openCheckpoint(dir);
    assert.deepEqual(ckpt.names, ["x", "y"]);
    assert.deepEqual(await ckpt.getFloat32("y"), new Float32Array([7]));
    assert.equal(ckpt.has("unlisted"), false);
  });
});

Deno.test("openCheckpoint: bad folders and indexes are refused naming the file and the tensor", async () => {
  await withDir(async (dir) => {
    await assert.rejects(openCheckpoint(dir), /found neither model.safetensors nor model.safetensors.index.json/);
    const indexPath = join(dir, "model.safetensors.index.json");
    const refuse = async (index: string, pattern: RegExp, tensor?: string) => {
      await Deno.writeTextFile(indexPath, index);
      await assert.rejects(openCheckpoint(dir), (e) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.match(e.message, pattern);
        assert.equal(e.tensor, tensor);
        return true;
      });
    };
    await refuse("{", /Cannot read .*model.safetensors.index.json: not valid JSON/);
    await refuse("{}", /expected an object with a "weight_map" object/);
    await refuse(
      '{"weight_map":{"w":"../outside.safetensors"}}',
      /tensor "w" maps to "..\/outside.safetensors", not a file name/,
      "w",
    );
    await refuse('{"weight_map":{"w":"/abs.safetensors"}}', /not a file name in the same folder/, "w");
    await refuse('{"weight_map":{"w":3}}', /tensor "w" maps to 3/, "w");
    await refuse('{"weight_map":{"w":"gone.safetensors"}}', /names shard gone.safetensors, which is missing/, "w");
    await writeSafetensors(join(dir, "s.safetensors"), { v: { dtype: "U8", shape: [1], data: [1] } });
    await refuse(
      '{"weight_map":{"v":"s.safetensors","w":"s.safetensors"}}',
      /puts tensor "w" in s.safetensors, which lacks it/,
      "w",
    );
    await Deno.writeFile(join(dir, "bad.safetensors"), new Uint8Array(3));
    await refuse('{"weight_map":{"w":"bad.safetensors"}}', /bad.safetensors: the file is truncated/);
    using ckpt = await (async () => {
      await Deno.writeTextFile(indexPath, '{"weight_map":{"v":"s.safetensors"}}');
      return await openCheckpoint(dir);
    })();
    await assert.rejects(ckpt.get("w"), (e) => e instanceof SafetensorsError && e.tensor === "w");
  });
});

const reference = "../shared/reference/neox-tiny";
const haveReference = await Deno.stat(`${reference}/model.safetensors`).then(() => true, () => false);
if (!haveReference) console.warn(`Skipping the neox-tiny checkpoint test: ${reference} is absent`);

Deno.test({
  name: "openCheckpoint reads the reference neox-tiny folder; resharding it keeps every byte",
  ignore: !haveReference,
  fn: async () => {
    using ckpt = await openCheckpoint(reference);
    assert.equal(ckpt.names.length, 28);
    const tensors: Record<string, TensorInput> = {};
    for (const name of ckpt.names) {
      const info = ckpt.info(name);
      tensors[name] = { dtype: info.dtype, shape: info.shape, bytes: await ckpt.getRaw(name) };
    }
    await withDir(async (dir) => {
      await writeCheckpoint(dir, tensors, { maxShardBytes: 200_000, metadata: { ...ckpt.metadata } });
      using again = await openCheckpoint(dir);
      assert.ok(again.files.length >= 3, `${again.files.length} shards`);
      assert.deepEqual(again.names, ckpt.names);
      for (const name of ckpt.names) assert.deepEqual(await again.getRaw(name), await ckpt.getRaw(name), name);
    });
  },
});
