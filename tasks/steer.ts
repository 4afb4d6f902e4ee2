/**
 * Command `steer`: continue a prompt with the run's model twice, as it is and with one dictionary
 * feature steered at the dictionary's hook (`@saelab/causal` `steer`), and print both continuations with the
 * feature's mean activation on the generated tokens. It only reads the run (no lock, no record in `run.json`).
 *
 * Config: `run` (default: the newest run with SAEs), `dict` (an SAE member or baseline of the run), `feature`,
 * `strength` (add `s·d_j`) or `clamp` (set `f_j` to `v`), `prompt`, `tokens` (16), `temperature` (0: greedy),
 * `seed` (0), `model` (override the run's model folder), `json` (print only the JSON answer).
 *
 * @module
 */
import { steer, type SteerResult } from "@saelab/causal";
import { listDicts, readRun, type StageResult } from "@saelab/runs";
import * as v from "valibot";
import { entryHook, HAS_SAES, loadEntries, loadRunModel } from "./_causal.ts";
import { findRun } from "./_run.ts";
import { defineStage, type RunContext, UsageError } from "./_runtime.ts";
import { flag, int, num, text } from "./_schema.ts";

/** The options of `steer`. */
export const steerSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with SAEs"),
  dict: text("dictionary of the run to steer with: an SAE member (saes/) or a baseline (baselines/); required"),
  feature: int("feature index j of that dictionary (0 … d_sae − 1); required", { min: 0 }),
  strength: num("add s times the feature's unit decoder row at the hook at every position: x ← x + s·d_j"),
  clamp: num("instead of --strength, set the feature's activation to v: x ← x + (v − f_j(x))·d_j"),
  prompt: text("text the model continues; required"),
  tokens: int("tokens to generate", { default: 16, min: 1 }),
  temperature: num("0 decodes greedily; above 0 samples from softmax(logits / temperature)", { default: 0, min: 0 }),
  seed: int("seed of the sampler (both continuations use it)", { default: 0, min: 0 }),
  model: text("model folder (default: the run's)"),
  json: flag(
    'print only {"unsteered": text, "steered": text, "featureActivation": {"unsteered": x, "steered": y}}',
  ),
});

type SteerConfig = v.InferOutput<typeof steerSchema>;

/** The run named by `--run` (a usage error when there is none), else the newest with SAEs; not locked. */
async function steerRun(ctx: RunContext, requested: string | undefined) {
  if (requested !== undefined) {
    const summary = await readRun(ctx.runsDir, requested).catch((e: Error) => {
      throw new UsageError(`Invalid --run ${JSON.stringify(requested)}: ${e.message}`);
    });
    if (!summary?.run) {
      throw new UsageError(
        `Invalid --run ${JSON.stringify(requested)}: no run with a readable run.json in ${ctx.runsDir}`,
      );
    }
  }
  return await findRun(ctx, { requested, stage: "steer", what: HAS_SAES.what, has: HAS_SAES.has, lock: false });
}

async function runSteer(ctx: RunContext, config: SteerConfig): Promise<StageResult> {
  for (const key of ["dict", "feature", "prompt"] as const) {
    if (config[key] === undefined) throw new UsageError(`Missing --${key}: steer needs --dict, --feature and --prompt`);
  }
  if (config.strength === undefined && config.clamp === undefined) {
    throw new UsageError("Missing --strength or --clamp: give --strength S (add S·d_j) or --clamp V (set f_j to V)");
  }
  if (config.strength !== undefined && config.clamp !== undefined) {
    throw new UsageError("Invalid --clamp: give --strength or --clamp, not both");
  }
  const run = await steerRun(ctx, config.run);
  const entries = await listDicts(ctx.runsDir, run.id);
  const entry = entries.find((e) => e.name === config.dict);
  if (!entry || entry.cfg.status !== "ok") {
    const known = entries.filter((e) => e.cfg.status === "ok").map((e) => e.name);
    throw new UsageError(
      `Invalid --dict ${JSON.stringify(config.dict)}: run ${run.id} has ${
        entry ? "no readable cfg.json for it" : `no such dictionary (it has ${known.join(", ") || "none"})`
      }`,
    );
  }
  const dDict = entry.cfg.value.d_sae;
  const feature = config.feature!;
  if (feature >= dDict) {
    throw new UsageError(`Invalid --feature ${feature}: ${entry.name} has ${dDict} features (0 … ${dDict - 1})`);
  }
  const hook = entryHook(entry) ?? run.json.hook;
  const gpu = await ctx.gpu();
  const { model, tokenizer } = await loadRunModel(gpu, run, config.model);
  const [dict] = await loadEntries(gpu, run, [entry]);
  try {
    const prompt = tokenizer.encode(config.prompt!);
    if (prompt.length === 0 || prompt.length > model.config.maxPositions) {
      throw new UsageError(
        `Invalid --prompt: it is ${prompt.length} tokens; the model reads 1 … ${model.config.maxPositions}`,
      );
    }
    const result = await steer(model, dict, {
      prompt,
      hook,
      feature,
      ...(config.clamp !== undefined ? { clamp: config.clamp } : { strength: config.strength }),
      maxNewTokens: config.tokens,
      temperature: config.temperature,
      seed: config.seed,
      signal: ctx.signal,
    });
    const unsteered = tokenizer.decode(result.unsteered.tokens), steered = tokenizer.decode(result.steered.tokens);
    const answer = {
      unsteered,
      steered,
      featureActivation: { unsteered: result.unsteered.meanActivation, steered: result.steered.meanActivation },
    };
    const what = `feature ${feature} of ${entry.name} at ${hook}`;
    return {
      message: `steer: ${what}, ${editText(result)}, ${result.steered.tokens.length} tokens ` +
        `${config.temperature === 0 ? "greedy" : `sampled at temperature ${config.temperature}, seed ${config.seed}`}`,
      output: config.json ? JSON.stringify(answer) : humanText(answer, { prompt: config.prompt!, feature }),
    };
  } finally {
    dict.dispose();
    model.dispose();
  }
}

function editText(result: SteerResult): string {
  const e = result.edit;
  return e.mode === "add" ? `x ← x + ${e.strength}·d_j` : `clamped: x ← x + (${e.value} − f_j(x))·d_j`;
}

function humanText(
  a: { unsteered: string; steered: string; featureActivation: { unsteered: number; steered: number } },
  o: { prompt: string; feature: number },
): string {
  const f = a.featureActivation, delta = f.steered - f.unsteered;
  return [
    `prompt:    ${JSON.stringify(o.prompt)}`,
    `unsteered: ${JSON.stringify(a.unsteered)}`,
    `steered:   ${JSON.stringify(a.steered)}`,
    `feature ${o.feature}'s mean activation on the generated tokens (after the edit): ${f.steered.toPrecision(4)} ` +
    `steered vs ${f.unsteered.toPrecision(4)} unsteered (the reference), ${delta >= 0 ? "+" : ""}${
      delta.toPrecision(4)
    }`,
  ].join("\n");
}

/** The `steer` stage (`runStage(steerStage, config, { deps, gpu })` runs it as one command). */
export const steerStage = defineStage({ name: "steer", schema: steerSchema, run: runSteer });
