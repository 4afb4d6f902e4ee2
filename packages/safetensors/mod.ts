/**
 * Read and write safetensors: lazy reads by byte range (only the header is read on open),
 * F32/F16/BF16/F64 as `Float32Array` and integer dtypes as typed arrays, atomic writes with
 * sorted names and an 8-byte aligned header, sharded checkpoints with an index file, and
 * errors that name the file and the tensor. `@saelab/safetensors/portable` holds the parts
 * that need no file system (for browsers).
 *
 * ```ts ignore
 * import { openCheckpoint, writeSafetensors } from "@saelab/safetensors";
 * using ckpt = await openCheckpoint("models/neox-tiny"); // model.safetensors or its index + shards
 * const w = await ckpt.getFloat32("embed_out.weight"); // [vocab, d_model]
 * const shape = ckpt.info("embed_out.weight").shape;
 * await writeSafetensors("half.safetensors", { w: { dtype: "F16", shape, data: w } }); // rounded to nearest even
 * ```
 *
 * @module
 */
export * from "./portable.ts";
export { fileSource, openSafetensors, writeSafetensors } from "./file.ts";
export { Checkpoint, openCheckpoint, writeCheckpoint } from "./checkpoint.ts";
export type { CheckpointOptions, WriteCheckpointOptions } from "./checkpoint.ts";
