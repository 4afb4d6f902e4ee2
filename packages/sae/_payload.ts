/**
 * The SHA-256 that checkpoints carry of their payload and the error a checkpoint that fails it raises:
 * `@saelab/dictionary`'s, which every reader of SAELens folders checks.
 *
 * @module
 */
export { CheckpointError, fileSha256, nonFinite, payloadSha256 } from "@saelab/dictionary";
