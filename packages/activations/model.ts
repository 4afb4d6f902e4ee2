/**
 * What harvesting needs from a model: `@saelab/neox`'s forward contract. The
 * pass takes `[B][T]` token ids, calls `hooks[name].read(name, act)` at
 * TransformerLens-named points (with `keep: true` the hook owns a GPU copy),
 * runs blocks `0 … stopAtLayer − 1` only when `stopAtLayer` is given, and
 * returns a tensor the caller owns.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";

/** What to do at one hook point (the read half of `@saelab/neox`'s `Hook`). */
export interface ReadHook {
  /** Observe the activation `[B, T, width]`. */
  read: (name: string, act: Tensor<"f32">) => void;
  /** Hand `read` a GPU copy that the hook owns and must dispose. */
  keep?: boolean;
}

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Hooks by TransformerLens name (`blocks.3.hook_resid_post`). */
  hooks?: Readonly<Record<string, ReadHook>>;
  /** Run blocks `0 … stopAtLayer − 1` only. */
  stopAtLayer?: number;
}

/** A model whose activations can be harvested (`@saelab/neox`'s `NeoxModel` is one). */
export interface HookedModel {
  /** The GPU context the model runs on. */
  readonly gpu: Gpu;
  /** Sizes: the residual width and the number of blocks. */
  readonly config: { readonly hiddenSize: number; readonly numLayers: number };
  /** Run the model on `[B][T]` token ids; returns a tensor the caller owns. */
  forward(ids: readonly ArrayLike<number>[], options?: ForwardOptions): { dispose(): void };
}

/**
 * The block a hook point belongs to.
 *
 * @param hook A TransformerLens hook name.
 * @param numLayers Blocks in the model.
 * @returns The block index, or null for points after the last block (`ln_final.hook_normalized`, `logits`).
 * @throws {RangeError} When the name names a block the model does not have.
 * @example
 * ```ts
 * import { hookLayer } from "@saelab/activations";
 * if (hookLayer("blocks.2.hook_resid_post", 4) !== 2) throw new Error();
 * ```
 */
export function hookLayer(hook: string, numLayers: number): number | null {
  const m = /^blocks\.(\d+)\./.exec(hook);
  if (!m) return null;
  const layer = Number(m[1]);
  if (layer >= numLayers) {
    throw new RangeError(`Cannot harvest ${hook}: the model has ${numLayers} blocks (0 … ${numLayers - 1})`);
  }
  return layer;
}

/**
 * Run a model on a batch of windows, stopping after the hook's block, and read the hook's activation.
 *
 * @param model The model.
 * @param ids Token ids `[B, T]`, row-major.
 * @param options Batch shape and hook.
 * @returns The activation `[B, T, width]` and its width.
 * @throws {Error} When the forward pass never reached the hook.
 * @example
 * ```ts ignore
 * import { readHook } from "@saelab/activations";
 * const { data, width } = await readHook(model, ids, { batch: 4, contextLength: 128, hook: "blocks.1.hook_resid_post" });
 * ```
 */
export async function readHook(
  model: HookedModel,
  ids: Int32Array,
  options: { batch: number; contextLength: number; hook: string },
): Promise<{ data: Float32Array; width: number }> {
  const { batch, contextLength: T, hook } = options;
  if (ids.length !== batch * T) {
    throw new RangeError(`Cannot harvest ${hook}: ${ids.length} ids do not make ${batch} windows of ${T}`);
  }
  const layer = hookLayer(hook, model.config.numLayers);
  const rows = Array.from({ length: batch }, (_, b) => ids.subarray(b * T, (b + 1) * T)); // [B][T]
  let kept: Tensor<"f32"> | null = null;
  const read = (_: string, act: Tensor<"f32">) => {
    kept?.dispose();
    kept = act;
  };
  try {
    const out = model.forward(rows, {
      hooks: { [hook]: { read, keep: true } },
      stopAtLayer: layer === null ? undefined : layer + 1,
    });
    out.dispose();
    const act = kept as Tensor<"f32"> | null;
    if (act === null) throw new Error(`Cannot harvest ${hook}: the forward pass never called that hook`);
    const width = act.shape[act.shape.length - 1];
    if (act.size !== batch * T * width) {
      throw new RangeError(
        `Cannot harvest ${hook}: its activation has shape [${act.shape}], not [${batch}, ${T}, width]`,
      );
    }
    return { data: await act.read(), width };
  } finally {
    (kept as Tensor<"f32"> | null)?.dispose();
  }
}
