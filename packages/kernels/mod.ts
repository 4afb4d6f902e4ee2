/**
 * WGSL compute kernels for SAE Lab, each with a CPU reference.
 *
 * @module
 */
export {};
