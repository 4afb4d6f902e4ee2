/**
 * Pipeline stage `fetch-model`: download a GPT-NeoX model folder from the
 * Hugging Face Hub (or a mirror) with `@saelab/neox`'s `downloadModel`.
 *
 * Config: `repo` (or the first positional argument), `revision` (default
 * `main`), `out` (default `models/<name>`), `endpoint` and `token`
 * (else `HF_ENDPOINT` / `HF_TOKEN` from `deps.env`, when the CLI passes it).
 *
 * @module
 */
import { downloadModel } from "@saelab/neox";
import * as v from "valibot";
import type { StageDeps, StageResult } from "@saelab/runs";
import { defineStage, runStage } from "./_runtime.ts";
import { positionals, text } from "./_schema.ts";

/** The options of `fetch-model`. */
export const fetchModelSchema = v.strictObject({
  repo: text("Hub repository, e.g. EleutherAI/pythia-70m-deduped (or give it as the argument)"),
  revision: text("branch, tag or commit", { default: "main" }),
  out: text("destination folder (default: models/<name>)"),
  endpoint: text("Hub mirror URL (default: $HF_ENDPOINT or huggingface.co); a token is read from $HF_TOKEN"),
  token: text("Hub token (default: $HF_TOKEN)"),
  _: positionals(),
});

/** What this stage needs from the CLI: the common deps, plus the environment when it may be read. */
export type FetchModelDeps = StageDeps & { env?: Readonly<Record<string, string | undefined>> };

type FetchModelConfig = v.InferOutput<typeof fetchModelSchema>;

/**
 * Download the model named by `config.repo`.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Progress, abort signal, logger and, optionally, the environment.
 * @returns A one-line summary.
 * @example
 * ```ts ignore
 * await run({ repo: "EleutherAI/pythia-70m-deduped", out: "models/pythia-70m-deduped" }, deps);
 * ```
 */
export function run(config: Record<string, unknown>, deps: FetchModelDeps): Promise<StageResult> {
  return runStage(fetchModelStage, config, { deps }) as Promise<StageResult>;
}

/** The `fetch-model` stage. */
export const fetchModelStage = defineStage({
  name: "fetch-model",
  schema: fetchModelSchema,
  run: (ctx, config) => fetchModel(config, ctx),
});

async function fetchModel(config: FetchModelConfig, deps: FetchModelDeps): Promise<StageResult> {
  // the schema refuses empty options; an empty argument names no repository either
  const repo = config.repo ?? (config._?.[0] || undefined);
  if (!repo) {
    throw new TypeError("Cannot fetch a model: name a Hub repository, e.g. --repo EleutherAI/pythia-70m-deduped");
  }
  const result = await downloadModel(repo, {
    revision: config.revision,
    dir: config.out ?? `models/${repo.split("/").pop()}`,
    endpoint: config.endpoint ?? deps.env?.HF_ENDPOINT,
    token: config.token ?? deps.env?.HF_TOKEN,
    signal: deps.signal,
    onProgress: (p) => deps.progress({ label: "fetch-model", done: p.bytes, total: p.total, unit: "B", info: p.file }),
  });
  for (const f of result.files) deps.log.debug(`${f.name}: ${f.size} bytes, ${f.status}, checked by ${f.verified}`);
  const mb = (result.files.reduce((n, f) => n + f.size, 0) / 2 ** 20).toFixed(1);
  const at = result.commit ? ` at ${result.commit.slice(0, 10)}` : "";
  return { message: `${repo}${at}: ${result.files.length} files (${mb} MiB) in ${result.dir}` };
}
