/**
 * The toy sweep as queue jobs (`deno task toy --queue …`): one job per member (`<run>:toy:<member>`),
 * followed by `_queue.ts`'s {@linkcode followJobs} and run by `deno task worker`. A worker rebuilds the
 * sweep's settings from the run's stored configuration, makes the toy data from its seed, trains its
 * members (`@saelab/sae` `trainToyMembers`: member i from the weights of seed + i, as in the whole sweep) and
 * measures each on the held-out toy rows, then writes its part in `queue/toy-<member>/`:
 * `train-state.safetensors` (weights and Adam moments at the last step) and, last, `done.json` (the
 * settings hash, the member's L0, dead fraction, MMCS to the truth and which features fired). When every
 * part is done the coordinator computes what needs all members (MMCS to the next-larger dictionary,
 * chance levels, the choice: `assembleToySweep`) and writes `toy.json` as one process does — the same
 * bytes, since each member's arithmetic does not depend on which members train beside it.
 *
 * A member has no checkpoint before its end: a job handed to another worker trains its member again from
 * step 0 (toy members are small). Resampling (`--resample`) is refused on the queue: it draws the rows of
 * every member from one random stream, so members trained apart would not be the sweep's.
 *
 * @module
 */
import { hashJson } from "@saelab/activations";
import { writeTextAtomic } from "@saelab/runs";
import {
  loadTrainState,
  saveTrainState,
  STATE_FILE,
  type ToyMembersTrained,
  type ToySweepOptions,
  toySweepPlan,
  type ToyTrainedMember,
} from "@saelab/sae";
import { followJobs, PART_DONE, PARTS_DIR, type QueuedPart } from "./_queue.ts";
import type { RunHandle } from "./_run.ts";
import type { StageReporter } from "./_runtime.ts";

/** What a toy job carries. */
export interface ToyJobData {
  /** Absolute path of the runs folder (the same path on every worker). */
  runsDir: string;
  /** The run. */
  runId: string;
  /** The part's members, in sweep order (today one per job). */
  members: string[];
  /** The coordinator's {@linkcode toyConfigHash} (a worker that reads other settings refuses the job). */
  configHash: string;
}

/** What a toy job returns. */
export interface ToyJobResult {
  /** Members the part holds. */
  members: number;
}

/** What a toy part's `done.json` holds. */
interface ToyPartDone {
  configHash: string;
  step: number;
  operands: ToyMembersTrained["operands"];
  members: (Omit<ToyTrainedMember, "weights" | "optimizer" | "fired"> & { fired: string })[];
}

/** The folder name of a toy part. */
export function toyPartName(members: readonly string[]): string {
  return `toy-${members.join("+")}`;
}

/** The BullMQ job id of a toy part (unique per run and part, so a second add is a no-op). */
export function toyJobId(runId: string, members: readonly string[]): string {
  return `${runId}:toy:${members.join("+")}`;
}

/**
 * The hash of everything that decides a toy sweep's numbers (its settings with the defaults filled in).
 *
 * @param options The sweep's settings (callbacks are not read).
 * @returns A hex SHA-256.
 * @example
 * ```ts
 * import { toyConfigHash } from "./_queue_toy.ts";
 * if (toyConfigHash({ steps: 10 }) === toyConfigHash({ steps: 11 })) throw new Error("steps count");
 * if (toyConfigHash({ steps: 10 }) !== toyConfigHash({ steps: 10, signal: AbortSignal.abort() })) throw new Error();
 * ```
 */
export function toyConfigHash(options: ToySweepOptions): string {
  return hashJson({ plan: toySweepPlan(options), resample: options.resample ?? null, operands: options.operands });
}

async function readPartDone(dir: string, configHash: string): Promise<ToyPartDone | null> {
  try {
    const done = JSON.parse(await Deno.readTextFile(`${dir}/${PART_DONE}`)) as ToyPartDone;
    return done.configHash === configHash && Array.isArray(done.members) ? done : null;
  } catch {
    return null;
  }
}

/**
 * Whether a toy part is done for these settings (its `done.json` names the same settings hash).
 *
 * @param dir The part's folder.
 * @param configHash {@linkcode toyConfigHash} of the sweep.
 * @returns True when done.
 */
export async function toyPartDone(dir: string, configHash: string): Promise<boolean> {
  return (await readPartDone(dir, configHash)) !== null;
}

/**
 * Write a toy part: the members' training state, then `done.json` (each atomically), so a part with a
 * `done.json` is whole.
 *
 * @param dir The part's folder.
 * @param options The settings hash, the steps trained, and the members trained (with their optimizer state).
 * @returns Nothing.
 */
export async function writeToyPart(
  dir: string,
  options: { configHash: string; steps: number; trained: ToyMembersTrained },
): Promise<void> {
  const { members, operands } = options.trained;
  const missing = members.find((m) => !m.optimizer);
  if (missing) throw new TypeError(`Cannot write the toy part of ${missing.name}: it was trained without optimizer`);
  await saveTrainState(`${dir}/${STATE_FILE}`, {
    step: options.steps,
    scale: 1,
    names: members.map((m) => m.name),
    weights: members.map((m) => m.weights),
    m: members.map((m) => m.optimizer!.m),
    v: members.map((m) => m.optimizer!.v),
    fired: members.map((m) => m.optimizer!.fired),
  });
  const done: ToyPartDone = {
    configHash: options.configHash,
    step: options.steps,
    operands,
    members: members.map(({ weights: _w, optimizer: _o, fired, ...m }) => ({ ...m, fired: fired.join("") })),
  };
  await writeTextAtomic(`${dir}/${PART_DONE}`, JSON.stringify(done) + "\n");
}

/**
 * Read a finished toy part back.
 *
 * @param dir The part's folder.
 * @param options The sweep's settings and their hash.
 * @returns The members with their weights, and where the operands lived.
 * @throws {Error} When the part is not done for these settings or its training state is unreadable.
 */
async function readToyPart(
  dir: string,
  options: { sweep: ToySweepOptions; configHash: string },
): Promise<Pick<ToyMembersTrained, "members" | "operands">> {
  const done = await readPartDone(dir, options.configHash);
  if (!done) throw new Error(`Cannot read the toy part ${dir}: its ${PART_DONE} is missing or of other settings`);
  const plan = toySweepPlan(options.sweep);
  const names = done.members.map((m) => m.name);
  const state = await loadTrainState(`${dir}/${STATE_FILE}`, {
    specs: done.members.map((m) => plan.specs[m.index]),
    names,
  });
  if (!state) throw new Error(`Cannot read the toy part ${dir}: ${STATE_FILE} does not hold ${names.join(", ")}`);
  const members = done.members.map((m, i): ToyTrainedMember => ({
    ...m,
    weights: state.weights[i],
    fired: Uint8Array.from(m.fired, (c) => Number(c)),
  }));
  return { members, operands: done.operands };
}

/**
 * Train the toy sweep on the queue: one job per member, followed until every part is done, then the parts
 * read back as the members trained (see the module doc).
 *
 * @param run The run (its lock held by this process).
 * @param options The sweep's settings (as the in-process sweep gets them), the queue URL, the stage reporter,
 *   and how often to poll (default 500 ms).
 * @returns Every member trained, in sweep order, for `assembleToySweep`.
 * @throws {Error} When a job failed `JOB_ATTEMPTS` times.
 * @example
 * ```ts ignore
 * const trained = await toyOnQueue(run, { sweep, url: "redis://127.0.0.1:6379" });
 * ```
 */
export async function toyOnQueue(
  run: RunHandle,
  options: { sweep: ToySweepOptions; url: string; stage?: StageReporter; pollMs?: number },
): Promise<ToyMembersTrained> {
  const { sweep } = options;
  if (sweep.resample) throw new RangeError("Cannot train a toy sweep with resampling on the queue (see _queue_toy.ts)");
  const plan = toySweepPlan(sweep);
  const configHash = toyConfigHash(sweep);
  const dirOf = (members: string[]) => run.path(PARTS_DIR, toyPartName(members));
  const parts = plan.names.map((name): QueuedPart<ToyJobData> => ({
    name: toyPartName([name]),
    what: `member ${name}`,
    jobId: toyJobId(run.id, [name]),
    data: { runsDir: run.deps.runsDir, runId: run.id, members: [name], configHash },
    total: plan.steps,
    done: () => toyPartDone(dirOf([name]), configHash),
  }));
  run.deps.log.info(`toy: ${parts.length} members as queue jobs on ${options.url}`);
  await followJobs<ToyJobData, ToyJobResult>(run, {
    job: "toy",
    parts,
    url: options.url,
    label: "toy (queue)",
    unit: "step",
    stageUnit: "member steps",
    stage: options.stage,
    pollMs: options.pollMs,
    incomplete: (part) => `toy: the job of ${part.what} completed but its part has no ${PART_DONE}`,
  });
  const read = [];
  for (const p of parts) read.push(await readToyPart(dirOf(p.data.members), { sweep, configHash }));
  const operands = [...new Set(read.map((r) => r.operands))];
  if (operands.length > 1) {
    run.deps.log.warn(
      `toy: the workers kept the matmul operands in ${operands.join(" and ")}: members may differ from one process's`,
    );
  }
  return { members: read.flatMap((r) => r.members), operands: operands[0], events: [] };
}
