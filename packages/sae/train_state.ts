/**
 * The one resumable training state of a sweep: every member's weights and Adam moments, the step
 * and the activation scale, in one safetensors file (`train-state.safetensors`) replaced
 * atomically, so it always holds one consistent step. Tensors are `w.<i>.<part>`, `m.<i>.<part>`
 * and `v.<i>.<part>` for member i (parts `encoder`, `encoderBias`, `decoder`, `threshold` for BatchTopK, and the
 * kind's per-feature parameters, Gated: `rMag`, `bMag`, JumpReLU: `logThreshold`), and `f.<i>` (U32
 * `[dDict]`), the step at which each feature last fired; the header holds `format: saelab-train-state`,
 * `step`, `scale`, the member `names` and `sha256`, the SHA-256 of the payload. A state is checked
 * when it is read: a truncated file, a payload whose SHA-256 differs, or NaN/Inf in a weight or moment
 * is a {@linkcode CheckpointError} naming the file, never a silent resume; NaN/Inf is refused on write.
 *
 * @module
 */
import { openSafetensors, type SafetensorsFile, type TensorInput, writeSafetensors } from "@saelab/safetensors";
import { CheckpointError, fileSha256, nonFinite, payloadSha256 } from "./_payload.ts";
import type { FeatureParam } from "./kinds/kind.ts";
import { KINDS } from "./kinds/mod.ts";
import { resolveSpec, type SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

export { CheckpointError } from "./_payload.ts";

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
  /** The step at which each feature last fired, per member (`[dDict]`); absent in states written before them. */
  fired?: Uint32Array[];
}

const PARTS = ["encoder", "encoderBias", "decoder", "decoderBias"] as const;

function put(
  out: Record<string, TensorInput & { data: Float32Array | Uint32Array }>,
  prefix: string,
  w: SaeWeights,
): void {
  const { dIn, dDict } = w.spec;
  const bad = nonFiniteWeight(w);
  if (bad) throw new RangeError(`Cannot save a training state: ${prefix}.${bad} holds NaN or Inf`);
  out[`${prefix}.encoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.encoder };
  out[`${prefix}.encoderBias`] = { dtype: "F32", shape: [dDict], data: w.encoderBias };
  if (w.decoder) out[`${prefix}.decoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.decoder };
  if (w.decoderBias) out[`${prefix}.decoderBias`] = { dtype: "F32", shape: [dIn], data: w.decoderBias };
  for (const [key, data] of Object.entries(featureArrays(w))) {
    out[`${prefix}.${key}`] = { dtype: "F32", shape: [dDict], data };
  }
  if (w.threshold !== undefined) {
    if (!Number.isFinite(w.threshold)) {
      throw new RangeError(`Cannot save a training state: ${prefix}.threshold is ${w.threshold}`);
    }
    out[`${prefix}.threshold`] = { dtype: "F32", shape: [1], data: Float32Array.of(w.threshold) };
  }
}

/** The name of the first of `w`'s arrays (encoder, biases, decoder, the kind's own) holding NaN or Inf, or null. */
function nonFiniteWeight(w: SaeWeights): string | null {
  const { encoder, encoderBias, decoder, decoderBias } = w;
  return nonFinite({ encoder, encoderBias, decoder, decoderBias, ...featureArrays(w) });
}

/** The kind's per-feature parameter arrays of `w` (Gated: `rMag`, `bMag`), by name. */
function featureArrays(w: SaeWeights): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const key of KINDS[w.spec.kind].featureParams ?? []) {
    const v = w[key];
    if (v) out[key] = v;
  }
  return out;
}

/**
 * Write a training state atomically.
 *
 * @param path The file.
 * @param state Step, scale, names, weights and moments.
 * @returns Nothing.
 * @throws {RangeError} When a weight or moment holds NaN or Inf (the file is left as it was).
 * @example
 * ```ts ignore
 * await saveTrainState("runs/r1/train-state.safetensors", { step, scale, names, weights, m, v, fired });
 * ```
 */
export async function saveTrainState(path: string, state: TrainState): Promise<void> {
  const tensors: Record<string, TensorInput & { data: Float32Array | Uint32Array }> = {};
  state.weights.forEach((w, i) => {
    put(tensors, `w.${i}`, w);
    put(tensors, `m.${i}`, state.m[i]);
    put(tensors, `v.${i}`, state.v[i]);
    const f = state.fired?.[i];
    if (f) tensors[`f.${i}`] = { dtype: "U32", shape: [f.length], data: f };
  });
  const sha256 = payloadSha256(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data])));
  await writeSafetensors(path, tensors, {
    metadata: {
      format: "saelab-train-state",
      step: String(state.step),
      scale: String(state.scale),
      names: JSON.stringify(state.names),
      sha256,
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

const REMEDY = "remove it to train these members from step 0, or restore a good copy";

/**
 * Read a training state written for the same members, checking it: its payload's SHA-256 (when the
 * header carries one) and that every weight and moment is finite.
 *
 * @param path The file.
 * @param options The members' specs and names, and what to do with a state for other members.
 * @returns The state, or null when there is none (for these members).
 * @throws {RangeError} When a member's tensors are missing, or (`others: "refuse"`) the state holds other members.
 * @throws {CheckpointError} When the file is truncated or unreadable, its payload's SHA-256 differs from its
 *   header's, or a weight or moment holds NaN or Inf (the file is left as it is).
 * @example
 * ```ts ignore
 * const state = await loadTrainState("runs/r1/train-state.safetensors", { specs, names });
 * ```
 */
export async function loadTrainState(path: string, options: LoadTrainStateOptions): Promise<TrainState | null> {
  const { names } = options;
  let file: SafetensorsFile;
  try {
    file = await openSafetensors(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new CheckpointError(`Cannot resume from ${path}: ${reason(e, path)}; ${REMEDY}`, path, { cause: e });
  }
  try {
    const state = await readState(file, { ...options, path });
    if (!state) return null;
    const want = file.metadata.sha256;
    if (want !== undefined && (await fileSha256(file)) !== want) {
      throw new CheckpointError(
        `Cannot resume from ${path}: the SHA-256 of its tensors differs from the one in its header (the file was ` +
          `altered or damaged); ${REMEDY}`,
        path,
      );
    }
    for (const [which, list] of [["w", state.weights], ["m", state.m], ["v", state.v]] as const) {
      for (let i = 0; i < list.length; i++) {
        const bad = nonFiniteWeight(list[i]);
        if (bad) {
          throw new CheckpointError(
            `Cannot resume from ${path}: ${which}.${i}.${bad} (${names[i]}) holds NaN or Inf; ${REMEDY}`,
            path,
          );
        }
      }
    }
    return state;
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof RangeError) throw e;
    throw new CheckpointError(`Cannot resume from ${path}: ${reason(e, path)}; ${REMEDY}`, path, { cause: e });
  } finally {
    file.close();
  }
}

/** An error's message without a leading "Cannot read <path>: ". */
function reason(e: unknown, path: string): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith(`Cannot read ${path}: `) ? message.slice(`Cannot read ${path}: `.length) : message;
}

async function readState(
  file: SafetensorsFile,
  options: LoadTrainStateOptions & { path: string },
): Promise<TrainState | null> {
  const { specs, names, path } = options;
  if (file.metadata.format !== "saelab-train-state") return null;
  if (file.metadata.names !== JSON.stringify(names)) {
    if (options.others !== "refuse") return null;
    const held = JSON.parse(file.metadata.names ?? "[]") as string[];
    throw new RangeError(`Cannot resume from ${path}: it holds members ${held.join(", ")}, not ${names.join(", ")}`);
  }
  const read = async (prefix: string, spec: Required<SaeSpec>): Promise<SaeWeights> => {
    const [encoder, encoderBias, decoder, decoderBias] = await Promise.all(
      PARTS.map((p) => file.has(`${prefix}.${p}`) ? file.getFloat32(`${prefix}.${p}`) : Promise.resolve(null)),
    );
    const tied = KINDS[spec.kind].tied;
    if (!encoder || !encoderBias || (!tied && !decoder) || (spec.decoderBias && !decoderBias)) {
      throw new RangeError(`Cannot resume training from ${path}: ${prefix} is incomplete`);
    }
    const threshold = file.has(`${prefix}.threshold`)
      ? { threshold: (await file.getFloat32(`${prefix}.threshold`))[0] }
      : {};
    const perFeature: Partial<Record<FeatureParam, Float32Array>> = {};
    for (const key of KINDS[spec.kind].featureParams ?? []) {
      const v = file.has(`${prefix}.${key}`) ? await file.getFloat32(`${prefix}.${key}`) : null;
      if (v?.length !== spec.dDict) {
        throw new RangeError(`Cannot resume training from ${path}: ${prefix}.${key} is not F32 [${spec.dDict}]`);
      }
      perFeature[key] = v;
    }
    return {
      spec,
      encoder,
      encoderBias,
      decoder: tied ? null : decoder,
      decoderBias: spec.decoderBias ? decoderBias : null,
      ...threshold,
      ...perFeature,
    };
  };
  const resolved = specs.map(resolveSpec);
  const all = (which: string) => Promise.all(resolved.map((s, i) => read(`${which}.${i}`, s)));
  const fired = await Promise.all(resolved.map(async (s, i) => {
    if (!file.has(`f.${i}`)) return null;
    const t = await file.get(`f.${i}`);
    if (!(t.data instanceof Uint32Array) || t.data.length !== s.dDict) {
      throw new RangeError(`Cannot resume training from ${path}: f.${i} is not U32 [${s.dDict}]`);
    }
    return t.data;
  }));
  return {
    step: Number(file.metadata.step),
    scale: Number(file.metadata.scale ?? 1),
    names: [...names],
    weights: await all("w"),
    m: await all("m"),
    v: await all("v"),
    ...(fired.every((f) => f !== null) ? { fired: fired as Uint32Array[] } : {}),
  };
}
