/**
 * Ownership of the tensors one forward pass creates, and the hook calls.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { copy } from "@saelab/kernels";
import type { NeoxConfig } from "./config.ts";
import { hookNames, type Hooks } from "./hooks.ts";

/** Takes ownership of tensors to dispose later (a {@linkcode Scope}, or any list its caller frees). */
export interface TensorOwner {
  /** Register a tensor to dispose later; returns it. */
  own<T extends Tensor>(t: T): T;
}

/** Tensors created while recording part of a pass; released together. */
export class Scope implements TensorOwner {
  #items = new Set<Tensor>();

  /** Register a tensor this scope must dispose. */
  own<T extends Tensor>(t: T): T {
    this.#items.add(t);
    return t;
  }

  /** Hand a tensor over to another scope (or to the caller, with no scope). */
  move<T extends Tensor>(t: T, to?: Scope): T {
    this.#items.delete(t);
    to?.own(t);
    return t;
  }

  /** Dispose every tensor still registered. */
  release(): void {
    for (const t of this.#items) t.dispose();
    this.#items.clear();
  }
}

/**
 * Run the hooks of one point on an activation.
 *
 * @param gpu The GPU context.
 * @param hooks The pass's hooks.
 * @param name The hook point.
 * @param act The activation, owned by `scope`.
 * @param scope Takes ownership of a replacement.
 * @returns The activation to continue with.
 */
export function runHook(
  gpu: Gpu,
  hooks: Hooks | undefined,
  name: string,
  act: Tensor<"f32">,
  scope: TensorOwner,
): Tensor<"f32"> {
  const hook = hooks?.[name];
  if (hook === undefined) return act;
  if (hook.read) hook.read(name, hook.keep ? copy(gpu, act) : act);
  if (!hook.replace) return act;
  const r = hook.replace(name, act);
  if (r === undefined || r === act) return act;
  const same = r.shape.length === act.shape.length && r.shape.every((d, i) => d === act.shape[i]);
  if (r.dtype !== "f32" || !same || r.gpu !== gpu || r.disposed) {
    throw new RangeError(
      `Cannot use the replacement at ${name}: expected a live f32 tensor [${act.shape.join(", ")}] of this GPU ` +
        `context, got ${r.disposed ? "a disposed tensor" : `${r.dtype} [${r.shape.join(", ")}]`}`,
    );
  }
  return scope.own(r);
}

/** Check hook names against a model and a stopping layer. */
export function checkHooks(
  config: NeoxConfig,
  hooks: Hooks | undefined,
  stopAtLayer: number,
  unembed = stopAtLayer === config.numLayers,
): void {
  if (hooks === undefined) return;
  if (typeof hooks !== "object" || hooks === null) throw new TypeError("Cannot run the model: hooks must be an object");
  const known = new Set(hookNames(config));
  for (const [name, hook] of Object.entries(hooks)) {
    if (!known.has(name)) {
      const why = name.endsWith("hook_resid_mid") && config.parallelResidual
        ? "this model uses the parallel residual, which has no resid_mid"
        : `known names look like blocks.0.hook_resid_pre … blocks.${config.numLayers - 1}.hook_resid_post, ` +
          "ln_final.hook_normalized, logits";
      throw new RangeError(`Cannot hook ${JSON.stringify(name)}: no such hook point (${why})`);
    }
    const layer = /^blocks\.(\d+)\./.exec(name);
    const reached = layer ? Number(layer[1]) < stopAtLayer : unembed;
    if (!reached) {
      throw new RangeError(
        `Cannot hook ${JSON.stringify(name)}: the pass stops before it (stopAtLayer ${stopAtLayer})`,
      );
    }
    if (typeof hook !== "object" || hook === null || (hook.read === undefined && hook.replace === undefined)) {
      throw new TypeError(`Cannot hook ${JSON.stringify(name)}: a hook needs a read or a replace function`);
    }
  }
}
