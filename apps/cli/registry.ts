/**
 * The commands of `apps/cli/main.ts`. Pipeline stages live in `tasks/<name>.ts` and export
 * `run(config, deps)` ({@linkcode StageModule}); adding a stage is adding one entry here (and a
 * one-line `deno task` in the root deno.json). A stage whose file is absent from this build is
 * listed but answers "not available in this build" with exit code 2.
 *
 * @module
 */
import type { StageDeps, StageResult } from "@saelab/runs";
import type { OptionSpec } from "./args.ts";

/**
 * What `load` must resolve to: a module with `run(config, deps)`. The config parameter is typed
 * loosely here so that a stage may declare its own config type; the CLI passes the merged
 * configuration object (see `StageModule` in `@saelab/runs`), which the stage validates.
 */
export interface LoadedStage {
  /** Run the stage. */
  run: (config: never, deps: StageDeps) => Promise<StageResult | void>;
}

/** One command. */
export interface StageEntry {
  /** One line shown in the command list and at the top of its help. */
  describe: string;
  /** Its own flags (kebab-case names); `--config`, `--runs`, `--verbose`, `--help` are common to all. */
  options: Record<string, OptionSpec>;
  /** Example command lines for `--help`. */
  examples: string[];
  /** The module file, checked for existence before loading. */
  file: URL;
  /** Load the module. */
  load: () => Promise<LoadedStage>;
  /** Ctrl-C is how this command normally ends (exit 0 rather than 130). */
  endsOnInterrupt?: boolean;
  /** Environment variables the stage may read, handed over as `deps.env` (nothing else is). */
  env?: string[];
  /** Accepts positional arguments, passed as `config._`; the text names them in the usage line. */
  positional?: string;
}

const run: OptionSpec = {
  type: "string",
  describe: "run id (folder under --runs); default: a new id, or the latest run",
};
const model: OptionSpec = { type: "string", describe: "Hugging Face model folder (default: the embedded model)" };
const seed: OptionSpec = { type: "number", describe: "random seed", default: 0 };

/** The commands, by name. */
export const STAGES: Record<string, StageEntry> = {
  train: {
    describe: "the main job: harvest a hook, train an SAE sweep (R × α), baselines and scores into a run folder",
    options: {
      run,
      model,
      corpus: { type: "string", describe: "sotu, moby-dick, or a folder of .txt/.jsonl files (default: sotu)" },
      hook: {
        type: "string",
        describe: "TransformerLens hook: a full name (blocks.2.hook_resid_post) or a block suffix used with --layer",
      },
      layer: { type: "number", describe: "block of the hook (default: the middle block)" },
      tokens: { type: "number", describe: "activation rows to harvest, held-out rows included" },
      kinds: { type: "strings", describe: "SAE variants, comma-separated (default: untied,tied)" },
      ratios: { type: "numbers", describe: "dictionary ratios R = d_sae / d_in, comma-separated (default: 1,2,4)" },
      l1: { type: "numbers", describe: "L1 coefficients α, comma-separated (default: 1e-4,1e-3,1e-2)" },
      steps: { type: "number", describe: "optimiser steps per member" },
      "batch-size": { type: "number", describe: "activation vectors per step" },
      lr: { type: "number", describe: "learning rate (default: 1e-3, the paper's)" },
      "train-seconds": { type: "number", describe: "stop training after this many seconds (default: 300)" },
      skip: { type: "strings", describe: "stages to leave out, comma-separated: baselines, score, spliced" },
      seed,
    },
    examples: [
      "deno task train",
      "deno task train --ratios 1,2,4,8 --l1 1e-4,3e-4,1e-3,3e-3,1e-2 --steps 2000 --train-seconds 3600",
      "deno task train --model models/pythia-70m-deduped --layer 3 --corpus data/texts --tokens 500000",
      "deno task train --config sweep.json --run sweep-1",
    ],
    file: new URL("../../tasks/train.ts", import.meta.url),
    load: () => import("../../tasks/train.ts"),
  },
  harvest: {
    describe: "run the model over the corpus and store one hook's activations",
    options: {
      run,
      model,
      corpus: { type: "string", describe: "sotu, moby-dick, or a folder of .txt/.jsonl files (default: sotu)" },
      hook: { type: "string", describe: "TransformerLens hook: a full name or a block suffix used with --layer" },
      layer: { type: "number", describe: "block of the hook (default: the middle block)" },
      tokens: { type: "number", describe: "activation rows to harvest, held-out rows included" },
      seed,
    },
    examples: [
      "deno task harvest --hook blocks.1.hook_resid_post --tokens 200000",
      "deno task harvest --model models/pythia-70m-deduped --layer 3 --hook mlp.hook_post --corpus data/texts",
    ],
    file: new URL("../../tasks/harvest.ts", import.meta.url),
    load: () => import("../../tasks/harvest.ts"),
  },
  baselines: {
    describe: "fit the baseline dictionaries (PCA, ICA, neuron basis, random) on a run's activations",
    options: {
      run,
      methods: {
        type: "strings",
        describe: "baselines to fit, comma-separated",
        default: ["pca", "ica", "neurons", "random"],
      },
      "top-k": { type: "number", describe: "k of PCA/ICA top-k (default: the median L0 of the run's SAEs)" },
      seed,
    },
    examples: ["deno task baselines --run sweep-1", "deno task baselines --run sweep-1 --methods pca,ica"],
    file: new URL("../../tasks/baselines.ts", import.meta.url),
    load: () => import("../../tasks/baselines.ts"),
  },
  score: {
    describe: "explain and score dictionary features (autointerpretability) and write scores.json",
    options: {
      run,
      dicts: { type: "strings", describe: "dictionaries to score, comma-separated (default: all)" },
      features: { type: "number", describe: "features scored per dictionary" },
      backend: { type: "string", describe: "explainer/simulator backend: offline (default) or llm" },
      llm: {
        type: "boolean",
        describe: "explain and simulate with an OpenAI-compatible endpoint (same as --backend llm)",
      },
      "llm-model": { type: "string", describe: "model name for the endpoint (default: $OPENAI_MODEL or gpt-4o-mini)" },
      "base-url": {
        type: "string",
        describe: "endpoint root, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL)",
      },
      fragments: { type: "number", describe: "most 64-token held-out fragments to draw from (default 1024)" },
      seed,
    },
    examples: [
      "deno task score --run sweep-1",
      "deno task score --run sweep-1 --dicts pca,r4_a1e-3 --features 50",
      "OPENAI_API_KEY=… deno task score --run sweep-1 --llm --llm-model gpt-4o-mini",
    ],
    file: new URL("../../tasks/score.ts", import.meta.url),
    load: () => import("../../tasks/score.ts"),
    env: ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"],
  },
  pretrain: {
    describe: "pretrain the small default GPT-NeoX model on the embedded corpus",
    options: {
      out: { type: "string", describe: "output model folder" },
      steps: { type: "number", describe: "optimiser steps" },
      seed,
    },
    examples: ["deno task pretrain --steps 2000"],
    file: new URL("../../tasks/pretrain.ts", import.meta.url),
    load: () => import("../../tasks/pretrain.ts"),
  },
  "fetch-model": {
    describe: "download a model (e.g. a Pythia checkpoint) from the Hugging Face Hub into a local folder",
    options: {
      repo: {
        type: "string",
        describe: "Hub repository, e.g. EleutherAI/pythia-70m-deduped (or give it as the argument)",
      },
      revision: { type: "string", describe: "branch, tag or commit", default: "main" },
      out: { type: "string", describe: "destination folder (default: models/<name>)" },
      endpoint: {
        type: "string",
        describe: "Hub mirror URL (default: $HF_ENDPOINT or huggingface.co); a token is read from $HF_TOKEN",
      },
    },
    examples: [
      "deno task fetch-model EleutherAI/pythia-70m-deduped",
      "deno task fetch-model --repo EleutherAI/pythia-70m-deduped --revision step143000 --out models/pythia-70m",
    ],
    file: new URL("../../tasks/fetch_model.ts", import.meta.url),
    load: () => import("../../tasks/fetch_model.ts"),
    env: ["HF_ENDPOINT", "HF_TOKEN"],
    positional: "[REPO]",
  },
  patch: {
    describe: "feature patching (the paper's Figure 3): KL against edit magnitude as features are patched from a " +
      "counterfactual prompt, for several SAE members and a PCA rotation; writes patch.json",
    options: {
      run,
      model,
      task: {
        type: "string",
        describe: "auto (the first task the model performs), ioi, repeat or phrase",
        default: "auto",
      },
      pairs: { type: "number", describe: "prompt pairs (default 60 for ioi, 16 otherwise)" },
      dicts: { type: "strings", describe: "dictionaries to patch (default: SAE members at the run's hook)" },
      "no-pca": { type: "boolean", describe: "leave out the PCA rotation fitted on the run's activations" },
      positions: { type: "string", describe: "edit all positions up to the read position, or only it: all | read" },
      "max-tokens": { type: "number", describe: "most tokens per forward call" },
      seed,
    },
    examples: [
      "deno task patch",
      "deno task patch --run sweep-1 --task ioi --pairs 60",
      "deno task patch --model models/pythia-70m-deduped --dicts untied_r4_a1.0e-3,untied_r4_a1.0e-2",
    ],
    file: new URL("../../tasks/patch.ts", import.meta.url),
    load: () => import("../../tasks/patch.ts"),
  },
  circuits: {
    describe:
      "ablation graph (the paper's Figure 4) of one SAE feature down through earlier layers; writes circuits.json",
    options: {
      run,
      model,
      member: { type: "string", describe: "SAE at the run's hook (default: an untied member of the largest ratio)" },
      target: { type: "number", describe: "feature index (default: the best-scored explained feature)" },
      depth: { type: "number", describe: "layers to go down", default: 2 },
      edges: { type: "number", describe: "strongest edges kept per feature", default: 3 },
      contexts: { type: "number", describe: "windows where a feature fires most, per feature", default: 8 },
      candidates: { type: "number", describe: "upstream features ablated per feature", default: 32 },
      windows: { type: "number", describe: "token windows taken from the run's activation store", default: 64 },
      "companion-steps": {
        type: "number",
        describe: "training steps of SAEs at layers the run has none",
        default: 400,
      },
      seed,
    },
    examples: [
      "deno task circuits",
      "deno task circuits --run sweep-1 --target 17 --depth 2",
      "deno task circuits --member untied_r4_a1.0e-3 --edges 4 --contexts 12",
    ],
    file: new URL("../../tasks/circuits.ts", import.meta.url),
    load: () => import("../../tasks/circuits.ts"),
  },
  serve: {
    describe: "serve the report pages for the runs folder (binds 127.0.0.1 unless --host says otherwise)",
    options: {
      port: { type: "number", describe: "port (0 picks a free one)", default: 8080 },
      host: {
        type: "string",
        describe: "interface to bind; 0.0.0.0 exposes the pages on the network",
        default: "127.0.0.1",
      },
    },
    examples: [
      "deno task serve",
      "deno task serve --runs runs --port 8080",
      "deno task serve --host 0.0.0.0 --port 3000",
    ],
    file: new URL("./stages/serve.ts", import.meta.url),
    load: () => import("./stages/serve.ts"),
    endsOnInterrupt: true,
  },
};
