/**
 * Hook names split into their block and point, and renamed for a model that
 * starts at a later block.
 *
 * @module
 */

/** A TransformerLens block hook: `blocks.{layer}.{point}`. */
export interface HookPlace {
  /** Block index. */
  layer: number;
  /** Point inside the block, e.g. `hook_resid_post` or `mlp.hook_post`. */
  point: string;
}

/**
 * Split a block hook name.
 *
 * @param hook A name such as `blocks.2.hook_resid_post`.
 * @returns Its block and point.
 * @throws {RangeError} For a name that is not a block hook.
 */
export function hookPlace(hook: string): HookPlace {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(hook);
  if (!m) {
    throw new RangeError(
      `Cannot use hook ${JSON.stringify(hook)}: causal analyses need a block hook such as blocks.2.hook_resid_post`,
    );
  }
  return { layer: Number(m[1]), point: m[2] };
}

/**
 * The same hook on a model whose block 0 is block `from` of the original.
 *
 * @param hook A block hook name.
 * @param from First block kept.
 * @returns The renamed hook.
 */
export function shiftHook(hook: string, from: number): string {
  const { layer, point } = hookPlace(hook);
  return `blocks.${layer - from}.${point}`;
}
