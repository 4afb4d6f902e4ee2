/**
 * A stand-in model for tests, with `@saelab/neox`'s forward contract:
 * activations are a fixed function of the token ids, the position in the
 * window and the block, computed on the CPU and handed to hooks as GPU tensors.
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

/** A fake model of width `d`; `forwards` counts forward passes, `windows` the sequences run. */
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
    forward(ids: readonly ArrayLike<number>[], opts: ForwardOptions = {}): Tensor<"f32"> {
      const B = ids.length, T = ids[0].length;
      const stop = opts.stopAtLayer ?? numLayers;
      for (const name of Object.keys(opts.hooks ?? {})) {
        const m = /^blocks\.(\d+)\.hook_resid_post$/.exec(name);
        if (!m || Number(m[1]) >= stop) throw new RangeError(`Cannot hook ${name} (stopAtLayer ${stop})`);
      }
      model.forwards++;
      model.windows += B;
      let x = new Float32Array(B * T * d); // [B, T, d]
      for (let layer = 0; layer < stop; layer++) {
        x = new Float32Array(B * T * d);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            for (let k = 0; k < d; k++) x[(b * T + t) * d + k] = fakeActivation(ids[b], t, k, layer);
          }
        }
        const hook = opts.hooks?.[`blocks.${layer}.hook_resid_post`];
        if (!hook) continue;
        const t = gpu.upload(x, [B, T, d], `fake.blocks.${layer}`);
        if (hook.keep) hook.read(`blocks.${layer}.hook_resid_post`, t);
        else {
          hook.read(`blocks.${layer}.hook_resid_post`, t);
          t.dispose();
        }
      }
      return gpu.upload(x, [B, T, d], "fake.resid"); // the caller owns it
    },
  };
  return model;
}
