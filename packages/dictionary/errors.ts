/**
 * The error of a dictionary or checkpoint file that cannot be used (no file system needed).
 *
 * @module
 */

/** A checkpoint file that cannot be used: truncated, altered (its SHA-256 differs), or holding NaN/Inf. */
export class CheckpointError extends Error {
  override name = "CheckpointError";

  /**
   * @param message What could not be done and why, naming the file.
   * @param file The file.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, readonly file: string, options?: ErrorOptions) {
    super(message, options);
  }
}
