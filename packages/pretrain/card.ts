/**
 * The model card written beside a pretrained model: what it is (and that it is
 * not Pythia), its data, its training, and its held-out loss next to the
 * n-gram baselines scored on the same predictions.
 *
 * @module
 */
import type { NeoxConfig } from "@saelab/neox";

/** Everything the card states. */
export interface CardFacts {
  /** Folder name of the model. */
  name: string;
  config: NeoxConfig;
  /** Parameter count. */
  parameters: number;
  data: {
    source: string;
    trainDocuments: number;
    heldOutDocuments: number;
    trainTokens: number;
    heldOutTokens: number;
    contextLength: number;
  };
  training: {
    steps: number;
    batch: number;
    tokensSeen: number;
    lr: number;
    warmup: number;
    minLrRatio: number;
    weightDecay: number;
    maxGradNorm: number;
    seed: number;
    /** Wall-clock seconds of the whole run (data, training, evaluation, writing). */
    wallSeconds: number;
    /** Seconds spent in training steps. */
    trainSeconds: number;
    hardware: string;
    dtype: string;
  };
  evaluation: {
    /** Held-out windows scored. */
    windows: number;
    /** Predictions scored. */
    predictions: number;
    model: number;
    unigram: number;
    bigram: number;
  };
}

const f3 = (v: number) => v.toFixed(3);

/** The model's margin over the bigram baseline in words: the reference level the pipeline's ΔCE is read against. */
function marginText(e: CardFacts["evaluation"]): string {
  const margin = e.bigram - e.model;
  const perplexity = (1 - Math.exp(-margin)) * 100;
  return margin > 0
    ? `The model is ${f3(margin)} nats per token below the bigram baseline (${perplexity.toFixed(1)}% lower ` +
      "perplexity): a reconstruction whose ΔCE exceeds that margin leaves the model no better than a bigram table."
    : `The model is not better than the bigram baseline: ${f3(-margin)} nats per token above it.`;
}

/**
 * The card as Markdown.
 *
 * @param facts The numbers.
 * @returns `MODEL_CARD.md` contents.
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("fixtures/models/sotu-neox/MODEL_CARD.md", modelCard(facts));
 * ```
 */
export function modelCard(facts: CardFacts): string {
  const { config: c, data: d, training: t, evaluation: e } = facts;
  const ppl = (v: number) => Math.exp(v).toFixed(1);
  return `# ${facts.name}: a small GPT-NeoX trained on State of the Union speeches

**This is not Pythia.** It is a ${
    (facts.parameters / 1e6).toFixed(2)
  }M-parameter model with Pythia's architecture (GPT-NeoX: parallel residual,
rotary embeddings on ${c.rotaryPct * 100}% of each head, untied embeddings, exact GELU), trained from scratch by
\`deno task pretrain\` so that the pipeline has a language model to interpret on a machine without downloads.
To run the same commands on a real Pythia model, download it (\`deno task fetch-model EleutherAI/pythia-70m-deduped\`)
and pass its folder with \`--model models/pythia-70m-deduped\`.

## Architecture

| field | value |
|---|---|
| d_model | ${c.hiddenSize} |
| layers | ${c.numLayers} |
| heads | ${c.numHeads} (head size ${c.headSize}, ${c.rotaryDims} rotary dimensions) |
| MLP width | ${c.intermediateSize} |
| vocabulary | ${c.vocabSize} (byte-level BPE trained on the training split, \`tokenizer.json\`) |
| context | ${d.contextLength} tokens (max_position_embeddings ${c.maxPositions}) |
| weights on disk | ${t.dtype} safetensors |

## Data

${d.source}: documents are split by a hash of their id into ${d.trainDocuments} training and ${d.heldOutDocuments}
held-out speeches (no speech is on both sides). Each document starts with \`<|endoftext|>\` (id 0) and is cut
into non-overlapping windows of ${d.contextLength} tokens (a short tail is dropped): ${d.trainTokens} training
tokens and ${d.heldOutTokens} held-out tokens.

## Training

AdamW (β 0.9/0.95, weight decay ${t.weightDecay} on matrices), peak learning rate ${t.lr} with ${t.warmup} warm-up
steps and cosine decay to ${t.minLrRatio}× the peak, global gradient-norm clipping at ${t.maxGradNorm}, ${t.batch}
windows per step, ${t.steps} steps: **${t.tokensSeen} tokens seen**
(${(t.tokensSeen / d.trainTokens).toFixed(2)} epochs). Seed ${t.seed}; everything is deterministic given the seed.

- Hardware: ${t.hardware}
- Wall time: ${(t.wallSeconds / 60).toFixed(1)} min in all (${(t.trainSeconds / 60).toFixed(1)} min in training steps,
  ${Math.round(t.tokensSeen / t.trainSeconds)} tokens/s)

## Held-out loss

Mean next-token cross-entropy in nats on ${e.predictions} predictions (${e.windows} held-out windows, positions
1 … ${d.contextLength - 1} of each). The n-gram baselines are fitted on the same training windows and score the same
predictions.

| model | loss (nats) | perplexity |
|---|---|---|
| this model | **${f3(e.model)}** | ${ppl(e.model)} |
| bigram (interpolated Witten–Bell over the unigram) | ${f3(e.bigram)} | ${ppl(e.bigram)} |
| unigram (add-one) | ${f3(e.unigram)} | ${ppl(e.unigram)} |

${marginText(e)}

The numbers are in \`training.json\` beside this card with the loss curve; \`packages/pretrain/model_test.ts\`
reloads the committed folder through \`loadModel\` and checks the loss on the first held-out windows.
`;
}
