/**
 * What harvesting needs from a model: a forward pass over token ids that
 * calls hooks with TransformerLens-named activations and can stop early.
 * `@saelab/neox` models fit.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";

/** Called with the activation at a hook point; the tensor is only valid during the call. */
export type HookFn = (activation: Tensor<"f32">) => Tensor<"f32"> | void;

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Hooks by TransformerLens name (`blocks.3.hook_resid_post`). */
  hooks?: Record<string, HookFn>;
  /** Stop after this block; later blocks and the unembedding are not run. */
  stopAtLayer?: number;
}

/** A model whose activations can be harvested. */
export interface HookedModel {
  /** The GPU context the model runs on. */
  readonly gpu: Gpu;
  /** Sizes: the residual width and the number of blocks. */
  readonly config: { readonly hiddenSize: number; readonly numLayers: number };
  /** Run the model on token ids `[B, T]`. */
  forward(ids: Tensor<"i32">, options?: ForwardOptions): unknown;
}

/**
 * The block a hook point belongs to.
 *
 * @param hook A TransformerLens hook name.
 * @param numLayers Blocks in the model.
 * @returns The block index (`numLayers − 1` for hooks after the last block, 0 for `hook_embed`).
 * @throws {RangeError} When the name names a block the model does not have.
 * @example
 * ```ts
 * import { hookLayer } from "@saelab/activations";
 * if (hookLayer("blocks.2.hook_resid_post", 4) !== 2) throw new Error();
 * ```
 */
export function hookLayer(hook: string, numLayers: number): number {
  const m = /^blocks\.(\d+)\./.exec(hook);
  if (!m) {
    if (hook === "hook_embed" || hook === "hook_pos_embed") return 0;
    return numLayers - 1;
  }
  const layer = Number(m[1]);
  if (layer >= numLayers) {
    throw new RangeError(`Cannot harvest ${hook}: the model has ${numLayers} blocks (0 … ${numLayers - 1})`);
  }
  return layer;
}

/**
 * Run a model on a batch of windows and read one hook's activation back to the host.
 *
 * @param model The model.
 * @param ids Token ids `[B, T]`, row-major.
 * @param options Batch shape, hook and layer.
 * @returns The activation `[B, T, width]` and its width.
 * @throws {Error} When the forward pass never reached the hook.
 */
export async function readHook(
  model: HookedModel,
  ids: Int32Array,
  options: { batch: number; contextLength: number; hook: string; layer: number },
): Promise<{ data: Float32Array; width: number }> {
  const gpu = model.gpu;
  const { batch, contextLength: T, hook } = options;
  using input = gpu.upload(ids, [batch, T], "harvest.ids"); // [B, T]
  let copy: Tensor<"f32"> | null = null;
  try {
    await model.forward(input, {
      stopAtLayer: options.layer,
      hooks: {
        [hook]: (t) => {
          copy?.dispose();
          copy = gpu.empty(t.shape, "f32", "harvest.activation");
          if (t.byteLength > 0) gpu.encoder().copyBufferToBuffer(t.buffer, 0, copy.buffer, 0, t.byteLength);
        },
      },
    });
    const captured = copy as Tensor<"f32"> | null;
    if (captured === null) throw new Error(`Cannot harvest ${hook}: the forward pass never called that hook`);
    const width = captured.shape[captured.shape.length - 1];
    if (captured.size !== batch * T * width) {
      throw new RangeError(
        `Cannot harvest ${hook}: its activation has shape [${captured.shape}], not [${batch}, ${T}, width]`,
      );
    }
    return { data: await captured.read(), width };
  } finally {
    (copy as Tensor<"f32"> | null)?.dispose();
  }
}
