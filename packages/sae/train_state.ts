/**
 * The one resumable training state of a sweep: every member's weights and Adam moments, the step
 * and the activation scale, in one safetensors file (`train-state.safetensors`) replaced
 * atomically, so it always holds one consistent step. Tensors are `w.<i>.<part>`, `m.<i>.<part>`
 * and `v.<i>.<part>` for member i (parts `encoder`, `encoderBias`, `decoder`); the header holds
 * `format: saelab-train-state`, `step`, `scale` and the member `names`.
 *
 * @module
 */
import { openSafetensors, type TensorInput, writeSafetensors } from "@saelab/safetensors";
import { KINDS } from "./kinds/mod.ts";
import { resolveSpec, type SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

/** File name of the training state inside a run or checkpoint folder. */
export const STATE_FILE = "train-state.safetensors";

/** A resumable training state. */
export interface TrainState {
  /** Optimiser steps taken. */
  step: number;
  /** The constant the activations are multiplied by before they reach the SAEs (1: none). */
  scale: number;
  /** Member names, in member order. */
  names: string[];
  /** Weights per member. */
  weights: SaeWeights[];
  /** Adam first moments per member (in the layout of the weights). */
  m: SaeWeights[];
  /** Adam second moments per member. */
  v: SaeWeights[];
}

const PARTS = ["encoder", "encoderBias", "decoder"] as const;

function put(out: Record<string, TensorInput>, prefix: string, w: SaeWeights): void {
  const { dIn, dDict } = w.spec;
  out[`${prefix}.encoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.encoder };
  out[`${prefix}.encoderBias`] = { dtype: "F32", shape: [dDict], data: w.encoderBias };
  if (w.decoder) out[`${prefix}.decoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.decoder };
}

/**
 * Write a training state atomically.
 *
 * @param path The file.
 * @param state Step, scale, names, weights and moments.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await saveTrainState("runs/r1/train-state.safetensors", { step, scale, names, weights, m, v });
 * ```
 */
export async function saveTrainState(path: string, state: TrainState): Promise<void> {
  const tensors: Record<string, TensorInput> = {};
  state.weights.forEach((w, i) => {
    put(tensors, `w.${i}`, w);
    put(tensors, `m.${i}`, state.m[i]);
    put(tensors, `v.${i}`, state.v[i]);
  });
  await writeSafetensors(path, tensors, {
    metadata: {
      format: "saelab-train-state",
      step: String(state.step),
      scale: String(state.scale),
      names: JSON.stringify(state.names),
    },
  });
}

/** Options of {@linkcode loadTrainState}. */
export interface LoadTrainStateOptions {
  /** The members' specs, in order. */
  specs: readonly SaeSpec[];
  /** Their names. */
  names: readonly string[];
  /** A state for other members: `"ignore"` it (null, the default) or `"refuse"` it (throw). */
  others?: "ignore" | "refuse";
}

/**
 * Read a training state written for the same members.
 *
 * @param path The file.
 * @param options The members' specs and names, and what to do with a state for other members.
 * @returns The state, or null when there is none (for these members).
 * @throws {RangeError} When a member's tensors are missing, or (`others: "refuse"`) the state holds other members.
 * @example
 * ```ts ignore
 * const state = await loadTrainState("runs/r1/train-state.safetensors", { specs, names });
 * ```
 */
export async function loadTrainState(path: string, options: LoadTrainStateOptions): Promise<TrainState | null> {
  const { specs, names } = options;
  let file;
  try {
    file = await openSafetensors(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    if (file.metadata.format !== "saelab-train-state") return null;
    if (file.metadata.names !== JSON.stringify(names)) {
      if (options.others !== "refuse") return null;
      const held = JSON.parse(file.metadata.names ?? "[]") as string[];
      throw new RangeError(`Cannot resume from ${path}: it holds members ${held.join(", ")}, not ${names.join(", ")}`);
    }
    const read = async (prefix: string, spec: Required<SaeSpec>): Promise<SaeWeights> => {
      const [encoder, encoderBias, decoder] = await Promise.all(
        PARTS.map((p) => file.has(`${prefix}.${p}`) ? file.getFloat32(`${prefix}.${p}`) : Promise.resolve(null)),
      );
      const tied = KINDS[spec.kind].tied;
      if (!encoder || !encoderBias || (!tied && !decoder)) {
        throw new RangeError(`Cannot resume training from ${path}: ${prefix} is incomplete`);
      }
      return { spec, encoder, encoderBias, decoder: tied ? null : decoder, decoderBias: null };
    };
    const resolved = specs.map(resolveSpec);
    const all = (which: string) => Promise.all(resolved.map((s, i) => read(`${which}.${i}`, s)));
    return {
      step: Number(file.metadata.step),
      scale: Number(file.metadata.scale ?? 1),
      names: [...names],
      weights: await all("w"),
      m: await all("m"),
      v: await all("v"),
    };
  } finally {
    file.close();
  }
}
