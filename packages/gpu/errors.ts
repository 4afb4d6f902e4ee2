/** An error raised by WebGPU: a missing adapter, a lost device, or a failed command. */
export class GpuError extends Error {
  /**
   * @param message What could not be done and why.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuError";
  }
}
