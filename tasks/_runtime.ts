/**
 * The stage runtime. A stage is `{ name, schema, run(ctx, config) }`: its valibot schema gives its
 * options (type, defaults, limits, CLI flags and help) and `run` does the work with a
 * {@linkcode RunContext} (run folder, log, progress, GPU, abort signal). The runtime checks the
 * configuration, finds the run a stage works on, shares one GPU context, and is the only writer of
 * stage records in `run.json` ({@linkcode recordStage}); the main job is a fixed list of steps run by
 * {@linkcode runPipeline}. A command holds the lock of every run it opens until it ends (`_lock.ts`), and
 * a command that fails leaves none of them `running`: each is marked failed with the error (or
 * interrupted on Ctrl-C).
 *
 * @module
 */
import type * as v from "valibot";
import { createGpu, type Gpu } from "@saelab/gpu";
import type { StageDeps, StageResult } from "@saelab/runs";
import { releaseRunLocks } from "./_lock.ts";
import { findRun, reharvestHint, type RunHandle } from "./_run.ts";
import { recordFailure, recordStage, settleRuns, type StageReporter } from "./_record.ts";
import { type OptionsSchema, parseOptions } from "./_schema.ts";

export { UsageError } from "./_schema.ts";
export { recordStage } from "./_record.ts";
export type { StageReporter } from "./_record.ts";

/** Commands running in this process; run locks are released when the last one ends. */
let commands = 0;

/** What every stage works with. */
export interface RunContext extends StageDeps {
  /** The run the stage works on; set by the runtime for stages with a `target`, by `harvest`/`train` once opened. */
  run: RunHandle | null;
  /** The GPU context, created on first use and shared by every stage of one command. */
  gpu(): Promise<Gpu>;
}

/** Which run a stage works on when `--run` is not given: the newest real run that `has` what it needs. */
export interface StageTarget {
  /** What the run must have, for messages ("activations", "SAEs"). */
  what: string;
  /** Whether a run has it. */
  has(runsDir: string, id: string): Promise<boolean>;
}

/** One stage. */
export interface Stage<S extends OptionsSchema = OptionsSchema> {
  /** Its name: the CLI command and its record in `run.json`. */
  name: string;
  /** Its options. */
  schema: S;
  /**
   * The run it works on, found by the runtime (from `config.run`, else the newest run that qualifies), which
   * then keeps its record in `run.json`. Absent for stages that open their own run (`harvest`, `train`) or
   * none (`serve`, `pretrain`, `fetch-model`).
   */
  target?: StageTarget;
  /** Do the work. */
  run(ctx: RunContext, config: v.InferOutput<S>): Promise<StageResult | void>;
}

/**
 * Declare a stage (the identity function, so that `config` is typed from the schema).
 *
 * @param stage The stage.
 * @returns The same stage.
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { defineStage } from "./_runtime.ts";
 * import { int } from "./_schema.ts";
 * const toy = defineStage({
 *   name: "toy",
 *   schema: v.strictObject({ steps: int("steps", { default: 10, min: 1 }) }),
 *   run: (ctx, config) => Promise.resolve({ message: `${config.steps} steps` }),
 * });
 * ```
 */
export function defineStage<S extends OptionsSchema>(stage: Stage<S>): Stage<S> {
  return stage;
}

/**
 * A context for one command: the CLI's deps, no run yet, and a GPU context made on first use
 * (or the one given, which stays open).
 *
 * @param deps The CLI's deps.
 * @param options A GPU context to share.
 * @returns The context and a function that frees what it created.
 * @example
 * ```ts ignore
 * const { ctx, close } = createContext(deps);
 * try { ... } finally { close(); }
 * ```
 */
export function createContext(deps: StageDeps, options: { gpu?: Gpu } = {}): { ctx: RunContext; close(): void } {
  let own: Promise<Gpu> | null = null;
  const ctx: RunContext = {
    ...deps,
    run: null,
    gpu: () => options.gpu ? Promise.resolve(options.gpu) : (own ??= createGpu()),
  };
  return {
    ctx,
    close() {
      own?.then((g) => g.destroy(), () => {});
    },
  };
}

/**
 * Run a stage as one command: check its configuration, find its run (for stages with a `target`), and
 * run it under its record in `run.json`. The locks of the runs it opened are released when it ends; when
 * it throws, each of those runs still `running` is marked failed (interrupted on Ctrl-C).
 *
 * @param stage The stage.
 * @param raw Its configuration (defaults are filled in; unknown keys are refused).
 * @param options The CLI's deps, and a GPU context to use (left open; default: one made when the stage
 *   asks, destroyed after).
 * @returns What the stage returns.
 * @throws {UsageError} When the configuration does not fit the schema.
 * @example
 * ```ts ignore
 * await runStage(baselinesStage, { run: "sweep-1" }, { deps, gpu });
 * ```
 */
export async function runStage<S extends OptionsSchema>(
  stage: Stage<S>,
  raw: Record<string, unknown>,
  options: { deps: StageDeps; gpu?: Gpu },
): Promise<StageResult | void> {
  const config = parseOptions(stage.schema, raw);
  const { ctx, close } = createContext(options.deps, options);
  commands++;
  try {
    return await runIn(ctx, stage, { config });
  } catch (e) {
    await settleRuns(options.deps, stage.name, e);
    // a bad activation chunk met while training or later: say how to repair it where the stage can
    if (
      e instanceof Error && e.name === "StoreError" && "reharvest" in stage.schema.entries && ctx.run &&
      !e.message.includes("--reharvest")
    ) e.message += `; ${reharvestHint(ctx.run.id)}`;
    throw e;
  } finally {
    close();
    if (--commands === 0) await releaseRunLocks();
  }
}

/** A stage as a function of its raw configuration, on a given GPU context (left open) when one is passed. */
export type StageFunction = (
  config: Record<string, unknown>,
  deps: StageDeps,
  options?: { gpu?: Gpu },
) => Promise<StageResult>;

/**
 * {@linkcode runStage} as a function, so that callers and tests run a stage as one command and reuse one device.
 *
 * @param stage The stage.
 * @returns `(config, deps, { gpu }) => result`.
 * @example
 * ```ts ignore
 * const baselines = stageFunction(baselinesStage);
 * await baselines({ run: "sweep-1" }, deps, { gpu });
 * ```
 */
export function stageFunction<S extends OptionsSchema>(stage: Stage<S>): StageFunction {
  return async (config, deps, options = {}) => (await runStage(stage, config, { ...options, deps }))!;
}

/**
 * Run a stage inside a command that is already running (the main job runs `baselines` and `score` this
 * way): on `ctx.run` when set, else on the run its target finds; the record is kept here.
 *
 * @param ctx The context.
 * @param stage The stage.
 * @param options Its checked configuration.
 * @returns What the stage returns.
 * @example
 * ```ts ignore
 * await runIn(ctx, scoreStage, { config: parseOptions(scoreStage.schema, { run: ctx.run!.id }) });
 * ```
 */
export async function runIn<S extends OptionsSchema>(
  ctx: RunContext,
  stage: Stage<S>,
  options: { config: v.InferOutput<S> },
): Promise<StageResult | void> {
  const { config } = options;
  if (!stage.target) return await stage.run(ctx, config);
  const requested = (config as { run?: string }).run;
  const run = ctx.run && (requested === undefined || requested === ctx.run.id) ? ctx.run : await findRun(ctx, {
    requested,
    stage: stage.name,
    what: stage.target.what,
    has: stage.target.has,
  });
  const inner: RunContext = { ...ctx, run };
  return await recordStage(run, stage.name, () => stage.run(inner, config));
}

/** One step of a pipeline over a shared state `S`. */
export interface Step<S> {
  /** Record name in `run.json`. */
  name: string;
  /** Left out altogether (e.g. `--skip baselines`). */
  skip?(state: S): boolean;
  /** Take what is on disk instead of running (filling `state`); true when nothing is left to do. */
  reuse?(state: S): Promise<boolean>;
  /** Do the work. */
  run(state: S, stage: StageReporter): Promise<void>;
  /** A failure is recorded and reported, and the pipeline goes on (the earlier results are saved). */
  optional?: boolean;
}

/**
 * Run steps in order on one run, each under its record in `run.json`. A failing `optional` step is
 * recorded and its message returned; any other failure, and Ctrl-C, stops the pipeline. A step whose
 * `reuse` throws (e.g. on a corrupt file) is recorded as failed like one whose `run` throws.
 *
 * @param ctx The context (with its run open).
 * @param options What the steps share (`state`) and the steps.
 * @returns The messages of failed optional steps (`"<name> failed: …"`).
 * @example
 * ```ts ignore
 * const failed = await runPipeline(ctx, { state, steps: [harvestStep, trainStep] });
 * ```
 */
export async function runPipeline<S>(
  ctx: RunContext,
  options: { state: S; steps: readonly Step<S>[] },
): Promise<string[]> {
  const { state, steps } = options;
  const run = ctx.run;
  if (!run) throw new Error("Cannot run the pipeline: no run is open");
  const failed: string[] = [];
  for (const step of steps) {
    if (step.skip?.(state)) continue;
    ctx.signal.throwIfAborted();
    try {
      let reused: boolean;
      try {
        reused = (await step.reuse?.(state)) ?? false;
      } catch (e) {
        await recordFailure(run, step.name, { error: e });
        throw e;
      }
      if (reused) continue;
      await recordStage(run, step.name, (stage) => step.run(state, stage));
    } catch (e) {
      if (!step.optional || ctx.signal.aborted) throw e;
      failed.push(`${step.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      ctx.log.warn(failed.at(-1)!);
    }
  }
  return failed;
}
