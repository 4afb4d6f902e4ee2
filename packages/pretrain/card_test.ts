import assert from "node:assert/strict";
import { parseConfig } from "@saelab/neox";
import { modelCard } from "./card.ts";

Deno.test("modelCard says it is not Pythia and puts the model's loss beside both baselines", () => {
  const config = parseConfig({
    model_type: "gpt_neox",
    vocab_size: 4096,
    hidden_size: 128,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    intermediate_size: 512,
    max_position_embeddings: 128,
  });
  const card = modelCard({
    name: "m",
    config,
    parameters: 1_840_000,
    data: {
      source: "s",
      trainDocuments: 9,
      heldOutDocuments: 1,
      trainTokens: 1000,
      heldOutTokens: 100,
      contextLength: 128,
    },
    training: {
      steps: 10,
      batch: 8,
      tokensSeen: 10240,
      lr: 0.002,
      warmup: 1,
      minLrRatio: 0.1,
      weightDecay: 0.1,
      maxGradNorm: 1,
      seed: 0,
      wallSeconds: 120,
      trainSeconds: 60,
      hardware: "h",
      dtype: "F16",
    },
    evaluation: { windows: 2, predictions: 254, model: 4.1234, unigram: 6.5, bigram: 4.5 },
  });
  assert.match(card, /\*\*This is not Pythia\.\*\*/);
  assert.match(card, /--model models\/pythia-70m-deduped/);
  assert.match(card, /\| this model \| \*\*4\.123\*\* \| 61\.8 \|/);
  assert.match(card, /\| bigram .* \| 4\.500 \| 90\.0 \|/);
  assert.match(card, /\| unigram .* \| 6\.500 \| 665\.1 \|/);
  assert.match(card, /10240 tokens seen/);
  // 4.5 − 4.1234 = 0.3766 nats; 1 − e^−0.3766 = 31.4% lower perplexity
  assert.match(card, /0\.377 nats per token below the bigram baseline \(31\.4% lower perplexity\)/);
});
