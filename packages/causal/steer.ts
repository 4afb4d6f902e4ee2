/**
 * Steering generation with one dictionary feature: the model continues a
 * prompt twice, once as it is and once with the hook's activation edited at
 * every position of every step,
 *
 * - add: `x ← x + s·d_j`,
 * - clamp: `x ← x + (v − f_j(x))·d_j`, which sets the feature to `v` when its
 *   encoder reads `d_j` with unit gain (exactly for a tied SAE, approximately otherwise),
 *
 * where `d_j` is feature j's unit decoder row (`Dictionary.directions()`) and
 * `f_j(x)` its activation. The edit runs on the GPU inside the forward pass
 * (no host round trip per step); it works for every dictionary through
 * `encode` alone. No file system or runtime APIs, and only types from
 * `@saelab/neox`: the same code bundles for a page and runs on the browser's WebGPU.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import { fill, matmul } from "@saelab/kernels";
import type { Hook, NeoxModel } from "@saelab/neox/portable";
import type { Dictionary } from "./dictionary.ts";
import { hookPlace } from "./_hook.ts";

/** The edit at the hook: add `strength·d_j`, or clamp the feature to `value`. */
export type SteerEdit = { mode: "add"; strength: number } | { mode: "clamp"; value: number };

/** Options of {@linkcode steer}. */
export interface SteerOptions {
  /** Prompt token ids (at least one, at most the model's context). */
  prompt: readonly number[];
  /** Hook point the dictionary reads, e.g. `blocks.3.hook_resid_post`. */
  hook: string;
  /** Feature index `j`. */
  feature: number;
  /** Added multiple of the unit decoder row (`x ← x + s·d_j`). Default 0 unless `clamp` is given. */
  strength?: number;
  /** Set the feature's activation to this value instead (`x ← x + (v − f_j(x))·d_j`); excludes `strength`. */
  clamp?: number;
  /** Tokens to generate (≥ 1). Default 16. */
  maxNewTokens?: number;
  /** 0 for greedy decoding; else sample from `softmax(logits / temperature)`. Default 0. */
  temperature?: number;
  /** Seed of the sampler (both continuations draw from the same seed). Default 0. */
  seed?: number;
  /** Stops generation at the next step (the promise rejects with the signal's reason), e.g. a page's Stop button. */
  signal?: AbortSignal;
}

/** One continuation and the feature on its tokens. */
export interface Continuation {
  /** Generated token ids. */
  tokens: number[];
  /**
   * The feature's activation at the hook on each generated token (as input position), read after the edit:
   * what the rest of the model sees.
   */
  activations: Float32Array;
  /** Mean of `activations`. */
  meanActivation: number;
}

/** What {@linkcode steer} returns. */
export interface SteerResult {
  /** The edit that was applied. */
  edit: SteerEdit;
  /** The model's own continuation. */
  unsteered: Continuation;
  /** The continuation with the edit at every position of every step. */
  steered: Continuation;
}

/**
 * Continue a prompt with and without steering by one feature.
 *
 * @param model The model (on the same GPU as the dictionary).
 * @param dict Any dictionary over the hook's activations.
 * @param options Prompt, hook, feature, `strength` or `clamp`, length, temperature, seed and an abort signal.
 * @returns Both continuations with the feature's activation on their tokens.
 * @throws {RangeError} For an unknown hook or one whose width is not the dictionary's `dIn` (found at the
 *   first step), a feature out of range, a bad length or prompt, or both `strength` and `clamp`.
 * @example
 * ```ts ignore
 * const r = await steer(model, dict, { prompt: [12, 7, 99], hook: "blocks.3.hook_resid_post", feature: 5, strength: 8 });
 * console.log(r.unsteered.tokens, r.steered.tokens, r.steered.meanActivation);
 * ```
 */
export async function steer(model: NeoxModel, dict: Dictionary, options: SteerOptions): Promise<SteerResult> {
  const edit = checkSteer(model, dict, options);
  const d = await direction(dict, options.feature);
  const maxNew = options.maxNewTokens ?? 16;
  const run = async (e: SteerEdit | null): Promise<Continuation> => {
    using hook = new SteeringHook(dict, {
      feature: options.feature,
      direction: d,
      edit: e,
      steps: maxNew + 1,
      signal: options.signal,
    });
    const hooks = { [options.hook]: hook };
    const tokens = (await model.generate([options.prompt], {
      maxNewTokens: maxNew,
      temperature: options.temperature ?? 0,
      seed: options.seed ?? 0,
      hooks,
    }))[0];
    // one more pass puts the last generated token at the last position
    const seq = [...options.prompt, ...tokens].slice(-model.config.maxPositions);
    model.forward([seq], { hooks, stopAtLayer: hookPlace(options.hook).layer + 1 }).dispose();
    const all = await hook.recorded();
    const activations = all.slice(1, tokens.length + 1); // call 0 saw the prompt's last token
    return { tokens, activations, meanActivation: activations.reduce((a, b) => a + b, 0) / activations.length };
  };
  return { edit, unsteered: await run(null), steered: await run(edit) };
}

/** Check the options against the model and dictionary; return the edit. */
function checkSteer(model: NeoxModel, dict: Dictionary, options: SteerOptions): SteerEdit {
  const { prompt, hook, feature, strength, clamp } = options;
  const why = (msg: string) => new RangeError(`Cannot steer with ${dict.name}: ${msg}`);
  hookPlace(hook);
  if (hookPlace(hook).layer >= model.config.numLayers) {
    throw why(`hook ${hook} is past the model's ${model.config.numLayers} layers`);
  }
  if (dict.gpu !== model.gpu) throw why("the dictionary and the model are on different GPU contexts");
  if (!Number.isInteger(feature) || feature < 0 || feature >= dict.dDict) {
    throw why(`feature ${feature} is not one of its ${dict.dDict} features (0 … ${dict.dDict - 1})`);
  }
  if (prompt.length === 0 || prompt.length > model.config.maxPositions) {
    throw why(`the prompt has ${prompt.length} tokens; it needs 1 … ${model.config.maxPositions}`);
  }
  const n = options.maxNewTokens ?? 16;
  if (!Number.isInteger(n) || n < 1) throw why(`maxNewTokens ${n} must be a whole number ≥ 1`);
  if (strength !== undefined && clamp !== undefined) throw why("give strength or clamp, not both");
  if (clamp !== undefined) {
    if (!Number.isFinite(clamp)) throw why(`clamp ${clamp} must be a finite number`);
    return { mode: "clamp", value: clamp };
  }
  const s = strength ?? 0;
  if (!Number.isFinite(s)) throw why(`strength ${s} must be a finite number`);
  return { mode: "add", strength: s };
}

/**
 * Feature `j`'s unit decoder row.
 *
 * @param dict The dictionary.
 * @param feature The feature.
 * @returns `d_j [dIn]`.
 */
async function direction(dict: Dictionary, feature: number): Promise<Float32Array> {
  const all = await dict.directions(); // [dDict, dIn]
  return all.slice(feature * dict.dIn, (feature + 1) * dict.dIn);
}

/** Options of {@linkcode SteeringHook}. */
export interface SteeringHookOptions {
  /** Feature index `j`. */
  feature: number;
  /** Its unit decoder row `d_j [dIn]`. */
  direction: Float32Array;
  /** The edit, or null to only record. */
  edit: SteerEdit | null;
  /** How many calls to record (later calls edit but are not recorded). */
  steps: number;
  /** When aborted, the next call throws its reason (and so stops the forward pass). */
  signal?: AbortSignal;
}

/**
 * A hook that edits a `[B, T, dIn]` activation in place on the GPU and records, per call, the feature's
 * activation on the last position of sequence 0 after the edit. Dispose it to free its tensors.
 *
 * @example
 * ```ts ignore
 * using hook = new SteeringHook(dict, { feature: 5, direction: d, edit: { mode: "add", strength: 4 }, steps: 1 });
 * model.forward([ids], { hooks: { "blocks.1.hook_resid_post": hook } }).dispose();
 * const [last] = await hook.recorded(); // f_5 on the last token, after the edit
 * ```
 */
export class SteeringHook implements Hook {
  #dict: Dictionary;
  #options: SteeringHookOptions;
  #d: Tensor<"f32">; // [1, dIn]
  #onehot: Tensor<"f32">; // [dDict, 1]
  #target: Tensor<"f32">; // [1]
  #record: Tensor<"f32">; // [steps]
  #calls = 0;

  /**
   * @param dict The dictionary.
   * @param options Feature, direction, edit and how many calls to record.
   */
  constructor(dict: Dictionary, options: SteeringHookOptions) {
    const { gpu, dIn, dDict } = dict;
    if (options.direction.length !== dIn) {
      throw new RangeError(
        `Cannot steer with ${dict.name}: the direction has ${options.direction.length} values, not ${dIn}`,
      );
    }
    this.#dict = dict;
    this.#options = options;
    this.#d = gpu.upload(options.direction, [1, dIn], "steer.direction");
    const onehot = new Float32Array(dDict);
    onehot[options.feature] = 1;
    this.#onehot = gpu.upload(onehot, [dDict, 1], "steer.onehot");
    const value = options.edit?.mode === "clamp" ? options.edit.value : 0;
    this.#target = gpu.upload(new Float32Array([value]), [1], "steer.target");
    this.#record = gpu.zeros([Math.max(1, options.steps)], "f32", "steer.record");
  }

  /**
   * Edit the activation in place and record the feature on the last position.
   *
   * @param name The hook name.
   * @param act The activation `[B, T, dIn]`.
   */
  replace(name: string, act: Tensor<"f32">): void {
    this.#options.signal?.throwIfAborted();
    const gpu = this.#dict.gpu;
    const [b, t, w] = act.shape;
    if (w !== this.#dict.dIn) {
      throw new RangeError(
        `Cannot steer with ${this.#dict.name}: it reads ${this.#dict.dIn}-wide activations but ${name} is ${w} wide`,
      );
    }
    const x = act.reshape([b * t, w]); // a view: the edit lands in act
    const edit = this.#options.edit;
    if (edit) {
      using coef = gpu.empty([b * t, 1], "f32", "steer.coef"); // per row: s, or v − f_j(x)
      if (edit.mode === "add") fill(gpu, coef, edit.strength);
      else {
        using codes = this.#dict.encode(x); // [b·t, dDict]
        matmul(gpu, codes, this.#onehot, { alpha: -1, bias: this.#target, out: coef });
      }
      matmul(gpu, coef, this.#d, { out: x, accumulate: true }); // x += coef ⊗ d_j
    }
    if (this.#calls < this.#options.steps) {
      using last = gpu.empty([1, w], "f32", "steer.last");
      gpu.encoder().copyBufferToBuffer(act.buffer, (t - 1) * w * 4, last.buffer, 0, w * 4);
      using codes = this.#dict.encode(last); // [1, dDict]
      gpu.encoder().copyBufferToBuffer(
        codes.buffer,
        this.#options.feature * 4,
        this.#record.buffer,
        this.#calls * 4,
        4,
      );
    }
    this.#calls++;
  }

  /**
   * The recorded activations, one per call so far (at most `steps`).
   *
   * @returns `[calls]`.
   */
  async recorded(): Promise<Float32Array> {
    const all = await this.#record.read();
    return all.slice(0, Math.min(this.#calls, this.#options.steps));
  }

  /** Free the GPU tensors. */
  [Symbol.dispose](): void {
    for (const t of [this.#d, this.#onehot, this.#target, this.#record]) t.dispose();
  }
}
