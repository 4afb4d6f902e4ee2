/**
 * Training checkpoints: weights, Adam moments and the loop's state in one
 * folder, replaced atomically (written beside it, then renamed), so a run
 * killed at any moment resumes from the last complete checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { openCheckpoint, type TensorInput, writeCheckpoint } from "@saelab/safetensors";

/** What the loop needs to continue. */
export interface LoopState {
  /** Steps done. */
  step: number;
  /** Training seconds so far (over all sessions). */
  seconds: number;
  /** Wall-clock seconds inside the loop so far (over all sessions: evaluations and checkpoints included). */
  wallSeconds: number;
  /** Tokens trained on so far. */
  tokens: number;
  /** Logged points. */
  history: HistoryPoint[];
}

/** One logged point of a run. */
export interface HistoryPoint {
  step: number;
  tokens: number;
  seconds: number;
  lr: number;
  /** Mean training loss of this step's batch (before its update). */
  trainLoss: number;
  /** Gradient norm before clipping at this step. */
  gradNorm: number;
  /** Held-out loss, on evaluation steps. */
  heldOutLoss?: number;
}

/**
 * Write a checkpoint folder atomically.
 *
 * @param dir The folder (replaced).
 * @param tensors Values and moments by name.
 * @param state The loop state, stored as `state.json`.
 */
export async function saveTrainingState(
  dir: string,
  tensors: Record<string, Float32Array>,
  state: LoopState & Record<string, unknown>,
): Promise<void> {
  const next = `${dir}.next`;
  await Deno.remove(next, { recursive: true }).catch(() => {});
  const inputs: Record<string, TensorInput> = {};
  for (const [name, data] of Object.entries(tensors)) inputs[name] = { dtype: "F32", shape: [data.length], data };
  await writeCheckpoint(next, inputs);
  await Deno.writeTextFile(join(next, "state.json"), JSON.stringify(state) + "\n");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(next, dir);
}

/**
 * Read a checkpoint folder written by {@linkcode saveTrainingState}.
 *
 * @param dir The folder.
 * @returns The tensors and state, or null when there is no complete checkpoint.
 */
export async function loadTrainingState(
  dir: string,
): Promise<{ tensors: Record<string, Float32Array>; state: LoopState & Record<string, unknown> } | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "state.json"));
  } catch {
    return null;
  }
  const state = JSON.parse(text);
  const ckpt = await openCheckpoint(dir);
  try {
    const tensors: Record<string, Float32Array> = {};
    for (const name of ckpt.names) tensors[name] = await ckpt.getFloat32(name);
    return { tensors, state };
  } finally {
    ckpt.close();
  }
}
