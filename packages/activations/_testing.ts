/**
 * A stand-in model for tests: activations are a fixed function of the token
 * ids, the position in the window and the layer, computed on the CPU and
 * handed to hooks as GPU tensors.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import type { ForwardOptions, HookedModel } from "./model.ts";

/**
 * The fake activation: element `k` of the row at window position `t`, block `layer`.
 *
 * @param ids The window's token ids.
 * @param t Position in the window.
 * @param k Element.
 * @param layer Block.
 * @returns The value (before rounding to f32).
 */
export function fakeActivation(ids: ArrayLike<number>, t: number, k: number, layer: number): number {
  const prev = t > 0 ? ids[t - 1] : -1;
  return Math.sin(0.37 * (k + 1) * ids[t] + 0.5 * layer) + 0.25 * Math.cos(0.11 * k * prev) + 0.01 * t;
}

/** A fake model of width `d`; `forwards` counts forward passes, `rows` counts windows run. */
export function fakeModel(gpu: Gpu, options: { d: number; numLayers: number }): HookedModel & {
  forwards: number;
  windows: number;
} {
  const { d, numLayers } = options;
  const model = {
    gpu,
    config: { hiddenSize: d, numLayers },
    forwards: 0,
    windows: 0,
    async forward(ids: Tensor<"i32">, opts: ForwardOptions = {}) {
      const [B, T] = ids.shape;
      const host = await ids.read(); // [B, T]
      model.forwards++;
      model.windows += B;
      const last = Math.min(opts.stopAtLayer ?? numLayers - 1, numLayers - 1);
      for (let layer = 0; layer <= last; layer++) {
        const hook = opts.hooks?.[`blocks.${layer}.hook_resid_post`];
        if (!hook) continue;
        const x = new Float32Array(B * T * d); // [B, T, d]
        for (let b = 0; b < B; b++) {
          const w = host.subarray(b * T, (b + 1) * T);
          for (let t = 0; t < T; t++) {
            for (let k = 0; k < d; k++) x[(b * T + t) * d + k] = fakeActivation(w, t, k, layer);
          }
        }
        using tensor = gpu.upload(x, [B, T, d], `fake.blocks.${layer}`);
        hook(tensor);
      }
      return null;
    },
  };
  return model;
}
