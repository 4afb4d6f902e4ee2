/** Where a {@linkcode SafetensorsError} happened. */
export interface SafetensorsErrorOptions extends ErrorOptions {
  /** The file (or the name given to in-memory bytes). */
  file: string;
  /** The tensor concerned, when there is one. */
  tensor?: string;
}

/**
 * A safetensors file (or checkpoint index) that cannot be read: truncated, malformed header,
 * unknown dtype, inconsistent offsets, a missing tensor. The message names the file and,
 * where it applies, the tensor.
 */
export class SafetensorsError extends Error {
  /** The file (or the name given to in-memory bytes). */
  readonly file: string;
  /** The tensor concerned, if any. */
  readonly tensor?: string;

  /**
   * @param message What could not be done and why.
   * @param options The file, the tensor, and standard error options (`cause`).
   */
  constructor(message: string, options: SafetensorsErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SafetensorsError";
    this.file = options.file;
    if (options.tensor !== undefined) this.tensor = options.tensor;
  }
}
