/**
 * The commands of `apps/cli/main.ts`. Pipeline stages live in `tasks/<name>.ts` and export a
 * `Stage` (`tasks/_runtime.ts`) whose schema gives the command's flags and help; adding a command is
 * adding one entry here (and a one-line `deno task` in the root deno.json). A stage whose file is absent from this build is
 * listed but answers "not available in this build" with exit code 2.
 *
 * @module
 */
import type { Stage } from "../../tasks/_runtime.ts";

/** What `load` resolves to: the command's stage (its schema gives the flags and help). */
export interface LoadedStage {
  /** The stage. */
  stage: Stage;
}

/** One command. */
export interface StageEntry {
  /** One line shown in the command list and at the top of its help. */
  describe: string;
  /** Example command lines for `--help`. */
  examples: string[];
  /** The module file, checked for existence before loading. */
  file: URL;
  /** Load the stage; its schema gives the flags (`--config`, `--runs`, `--verbose`, `--help` are common to all). */
  load: () => Promise<LoadedStage>;
  /** Ctrl-C is how this command normally ends (exit 0 rather than 130). */
  endsOnInterrupt?: boolean;
  /** Environment variables the stage may read, handed over as `deps.env` (nothing else is). */
  env?: string[];
  /** Accepts positional arguments, passed as `config._`; the text names them in the usage line. */
  positional?: string;
}

/** The commands, by name. */
export const STAGES: Record<string, StageEntry> = {
  train: {
    describe: "the main job: harvest a hook, train an SAE sweep (R × α), baselines and scores into a run folder",
    examples: [
      "deno task train",
      "deno task train --ratios 1,2,4,8 --l1 1e-4,3e-4,1e-3,3e-3,1e-2 --steps 2000 --train-seconds 3600",
      "deno task train --model models/pythia-70m-deduped --layer 3 --corpus data/texts --tokens 500000",
      "deno task train --config sweep.json --run sweep-1",
      "deno task train --queue redis://127.0.0.1:6379   # harvest shards and members as jobs for `deno task worker`",
    ],
    file: new URL("../../tasks/train.ts", import.meta.url),
    load: () => import("../../tasks/train.ts").then((m) => ({ stage: m.trainStage as Stage })),
  },
  harvest: {
    describe: "run the model over the corpus and store one hook's activations",
    examples: [
      "deno task harvest --hook blocks.1.hook_resid_post --tokens 200000",
      "deno task harvest --model models/pythia-70m-deduped --layer 3 --hook mlp.hook_post --corpus data/texts",
      "deno task harvest --tokens 2000000 --queue redis://127.0.0.1:6379 --shard-rows 250000   # shards as jobs",
    ],
    file: new URL("../../tasks/harvest.ts", import.meta.url),
    load: () => import("../../tasks/harvest.ts").then((m) => ({ stage: m.harvestStage as Stage })),
  },
  baselines: {
    describe: "fit the baseline dictionaries (PCA, ICA, neuron basis, random) on a run's activations",
    examples: ["deno task baselines --run sweep-1", "deno task baselines --run sweep-1 --methods pca,ica"],
    file: new URL("../../tasks/baselines.ts", import.meta.url),
    load: () => import("../../tasks/baselines.ts").then((m) => ({ stage: m.baselinesStage as Stage })),
  },
  score: {
    describe: "explain and score dictionary features with the token-lookup (default) or llm backend, against the " +
      "random-direction and neuron baselines, and write scores.json",
    examples: [
      "deno task score --run sweep-1",
      "deno task score --run sweep-1 --dicts pca,r4_a1e-3 --features 50 --scorer detection",
      "OPENAI_API_KEY=… deno task score --run sweep-1 --backend llm --llm-model gpt-4o-mini --scorer detection,fuzzing",
      "deno task score --run sweep-1 --backend llm --base-url http://127.0.0.1:8000/v1 --top-logprobs 0",
    ],
    file: new URL("../../tasks/score.ts", import.meta.url),
    load: () => import("../../tasks/score.ts").then((m) => ({ stage: m.scoreStage as Stage })),
    env: ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"],
  },
  pretrain: {
    describe: "pretrain the small default GPT-NeoX model on the embedded corpus",
    examples: ["deno task pretrain --steps 2000"],
    file: new URL("../../tasks/pretrain.ts", import.meta.url),
    load: () => import("../../tasks/pretrain.ts").then((m) => ({ stage: m.pretrainStage as Stage })),
  },
  "fetch-model": {
    describe: "download a model (e.g. a Pythia checkpoint) from the Hugging Face Hub into a local folder",
    examples: [
      "deno task fetch-model EleutherAI/pythia-70m-deduped",
      "deno task fetch-model --repo EleutherAI/pythia-70m-deduped --revision step143000 --out models/pythia-70m",
    ],
    file: new URL("../../tasks/fetch_model.ts", import.meta.url),
    load: () => import("../../tasks/fetch_model.ts").then((m) => ({ stage: m.fetchModelStage as Stage })),
    env: ["HF_ENDPOINT", "HF_TOKEN"],
    positional: "[REPO]",
  },
  patch: {
    describe: "feature patching (the paper's Figure 3): KL against edit magnitude as features are patched from a " +
      "counterfactual prompt, for several SAE members and a PCA rotation; writes patch.json",
    examples: [
      "deno task patch",
      "deno task patch --run sweep-1 --task ioi --pairs 60",
      "deno task patch --model models/pythia-70m-deduped --dicts untied_r4_a1.0e-3,untied_r4_a1.0e-2",
    ],
    file: new URL("../../tasks/patch.ts", import.meta.url),
    load: () => import("../../tasks/patch.ts").then((m) => ({ stage: m.patchStage as Stage })),
  },
  circuits: {
    describe:
      "ablation graph (the paper's Figure 4) of one SAE feature down through earlier layers; writes circuits.json",
    examples: [
      "deno task circuits",
      "deno task circuits --run sweep-1 --target 17 --depth 2",
      "deno task circuits --member untied_r4_a1.0e-3 --edges 4 --contexts 12",
    ],
    file: new URL("../../tasks/circuits.ts", import.meta.url),
    load: () => import("../../tasks/circuits.ts").then((m) => ({ stage: m.circuitsStage as Stage })),
  },
  toy: {
    describe: "ground truth: train a sweep on toy activations with known features; MMCS to the truth per member " +
      "and the member chosen without ground truth; writes toy.json",
    examples: [
      "deno task toy",
      "deno task toy --ratios 1,2,4,8 --l1 1e-3,3e-3,1e-2 --correlated",
      "deno task toy --d 64 --features 256 --steps 4000 --run toy-64",
    ],
    file: new URL("../../tasks/toy.ts", import.meta.url),
    load: () => import("../../tasks/toy.ts").then((m) => ({ stage: m.toyStage as Stage })),
  },
  paper: {
    describe: "the paper's run end to end: the 18-member grid (--preset paper), feature patching (Figure 3) and " +
      "the ablation graph (Figure 4) in one run folder",
    examples: [
      "deno task paper",
      "deno task paper --patch-dicts untied_r2_a1.0e-3,tied_r2_a1.0e-3",
      "deno task paper --preset default",
    ],
    file: new URL("../../tasks/paper.ts", import.meta.url),
    load: () => import("../../tasks/paper.ts").then((m) => ({ stage: m.paperStage as Stage })),
  },
  steer: {
    describe: "continue a prompt with and without one dictionary feature steered at its hook (add s·d_j, or " +
      "clamp its activation) and print both continuations with the feature's mean activation",
    examples: [
      'deno task steer --run sweep-1 --dict untied_r4_a1.0e-3 --feature 17 --strength 8 --prompt "The war"',
      'deno task steer --dict pca --feature 0 --clamp 5 --prompt "Congress shall" --tokens 32 --json',
    ],
    file: new URL("../../tasks/steer.ts", import.meta.url),
    load: () => import("../../tasks/steer.ts").then((m) => ({ stage: m.steerStage as Stage })),
  },
  worker: {
    describe:
      "run the jobs `deno task train --queue` and `harvest --queue` put on a BullMQ queue in Redis, until Ctrl-C",
    examples: [
      "deno task worker --queue redis://127.0.0.1:6379",
      "deno task worker --queue redis://gpu-box:6379/1 --concurrency 2 --runs /shared/runs",
    ],
    file: new URL("../../tasks/worker.ts", import.meta.url),
    load: () => import("../../tasks/worker.ts").then((m) => ({ stage: m.workerStage as Stage })),
    endsOnInterrupt: true,
  },
  export: {
    describe: "write a run's results for other tools: feature dashboards for Neuronpedia, or every dictionary " +
      "(SAE members and baselines) as a SAELens v6 folder",
    examples: [
      "deno task export --run sweep-1 --format saelens",
      "deno task export --run sweep-1 --format neuronpedia --out np-upload",
      "deno task export --run sweep-1 --format saelens --dicts pca,untied_r4_a1.0e-3 --out saes",
    ],
    file: new URL("../../tasks/export.ts", import.meta.url),
    load: () => import("../../tasks/export.ts").then((m) => ({ stage: m.exportStage as Stage })),
  },
  serve: {
    describe: "serve the report pages for the runs folder (binds 127.0.0.1 unless --host says otherwise)",
    examples: [
      "deno task serve",
      "deno task serve --runs runs --port 8080",
      "deno task serve --host 0.0.0.0 --port 3000",
    ],
    file: new URL("./stages/serve.ts", import.meta.url),
    load: () => import("./stages/serve.ts").then((m) => ({ stage: m.serveStage as Stage })),
    endsOnInterrupt: true,
  },
};
