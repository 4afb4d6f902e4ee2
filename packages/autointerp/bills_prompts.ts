/**
 * The explanation and simulation prompts of Bills et al. (2023, "Language
 * models can explain neurons in language models"), for chat endpoints (their
 * answers' parsers are in `bills_answers.ts`). Both use the protocol's
 * few-shot format: `Neuron N` blocks whose activation records are `<start>` … `<end>` with one
 * `token<TAB>activation` line per token, activations discretised to integers
 * 0–10 as `min(10, floor(10 · max(a, 0) / max))` over the shown records, and
 * explanations completing "the main thing this neuron does is find". The
 * explainer sees the zero-filtered records again when under 20% of the
 * activations are non-zero, as the protocol does.
 *
 * Deviations, all forced by chat endpoints or by the tokens: the protocol's
 * "all at once" simulator reads log-probabilities of the prompt's
 * `unknown` placeholders with `echo`, which chat endpoints do not offer;
 * here the model writes the block back with each `unknown` replaced, and the
 * expected value is read from the answer's log-probabilities at each value
 * (so each value is conditioned on the values sampled before it). Tokens
 * containing a newline, tab or carriage return are shown escaped (`\n`, `\t`,
 * `\r`) so that one line stays one token. The few-shot examples are this
 * package's own, not the protocol's. One explanation is asked for, at the
 * client's temperature (default 0), where the protocol's explainer samples
 * at temperature 1.
 *
 * @module
 */
import type { Fragment } from "@saelab/runs";
import type { ChatMessage } from "./client.ts";
import type { TokenFragment } from "./types.ts";

/** The phrase every explanation completes (Bills et al.'s explanation prefix). */
export const EXPLANATION_PREFIX = "the main thing this neuron does is find";

/** Top fragments the protocol's explainer sees (Bills et al. explain from 5 top-activating records). */
export const BILLS_EXPLAIN_TOP = 5;

interface Example {
  explanation: string;
  records: Fragment[];
}

// two small worked examples, shown before the neuron asked about
const FEW_SHOT: Example[] = [
  {
    explanation: "plural nouns counted by a number word",
    records: [
      {
        tokens: ["There", " were", " three", " dogs", " and", " two", " cats", " in", " the", " yard", "."],
        acts: [0, 0, 0, 8, 0, 0, 10, 0, 0, 0, 0],
      },
      { tokens: ["She", " bought", " five", " apples", " at", " the", " market", "."], acts: [0, 0, 0, 9, 0, 0, 0, 0] },
    ],
  },
  {
    explanation: "closing parentheses",
    records: [
      {
        tokens: ["The", " result", " (", "see", " Table", " 2", ")", " was", " clear", "."],
        acts: [0, 0, 0, 0, 0, 0, 10, 0, 0, 0],
      },
      { tokens: ["f", "(", "x", ")", " =", " 0"], acts: [0, 0, 0, 7, 0, 0] },
    ],
  },
];

/**
 * Discretise activations to the protocol's integers 0–10.
 *
 * @param acts Activations.
 * @param max The largest activation over the records shown together.
 * @returns `min(10, floor(10 · max(a, 0) / max))` per activation (all 0 when `max ≤ 0`).
 * @example
 * ```ts
 * import { discretise } from "@saelab/autointerp";
 * if (discretise([0, 1.99, 4, -1], 4).join() !== "0,4,10,0") throw new Error();
 * ```
 */
export function discretise(acts: readonly number[], max: number): number[] {
  return acts.map((a) => (max > 0 ? Math.min(10, Math.floor((10 * Math.max(a, 0)) / max)) : 0));
}

/**
 * A token as one line of a record shows it (newline, tab and carriage return escaped).
 *
 * @param token The token.
 * @returns Its display form.
 * @example
 * ```ts
 * import { showToken } from "@saelab/autointerp";
 * if (showToken("a\nb") !== "a\\nb") throw new Error();
 * ```
 */
export function showToken(token: string): string {
  return token.replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r");
}

function record(tokens: readonly string[], values: readonly (number | string)[], omitZeros = false): string {
  const lines = tokens.flatMap((t, i) => (omitZeros && values[i] === 0 ? [] : [`${showToken(t)}\t${values[i]}`]));
  return `<start>\n${lines.join("\n")}${lines.length ? "\n" : ""}<end>\n`;
}

function maxOf(records: readonly Fragment[]): number {
  let max = 0;
  for (const f of records) for (const a of f.acts) max = Math.max(max, a);
  return max;
}

function explainBlock(records: readonly Fragment[], n: number): string {
  const max = maxOf(records);
  const values = records.map((f) => discretise(f.acts, max));
  let text = `\n\nNeuron ${n}\nActivations:\n${records.map((f, i) => record(f.tokens, values[i])).join("\n")}`;
  const total = values.reduce((s, v) => s + v.length, 0);
  const nonZero = values.reduce((s, v) => s + v.filter((x) => x > 0).length, 0);
  if (total > 0 && nonZero / total < 0.2) {
    text += `\nSame activations, but with all zeros filtered out:\n${
      records.map((f, i) => record(f.tokens, values[i], true)).join("\n")
    }`;
  }
  return `${text}\nExplanation of neuron ${n} behavior: ${EXPLANATION_PREFIX}`;
}

const EXPLAIN_SYSTEM = [
  "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document.",
  "Look at the parts of the document the neuron activates for and summarize in a single sentence what the neuron",
  "is looking for. Don't list examples of words.\n\nThe activation format is token<tab>activation. Activation",
  "values range from 0 to 10. A neuron finding what it's looking for is represented by a non-zero activation",
  "value. The higher the activation value, the stronger the match.",
].join(" ");

/**
 * Messages asking for an explanation from top-activating records, in the protocol's few-shot format.
 *
 * @param fragments The records shown (Bills et al. show 5), with true activations.
 * @returns The chat messages; the last one ends with the explanation prefix for the model to complete.
 * @example
 * ```ts
 * import { explainMessages } from "@saelab/autointerp";
 * const m = explainMessages([{ tokens: [" the", " cat"], acts: [0, 2] }]);
 * const last = m[m.length - 1].content;
 * if (!last.includes("Neuron 3\nActivations:\n<start>\n the\t0\n cat\t10\n<end>\n")) throw new Error(last);
 * ```
 */
export function explainMessages(fragments: readonly Fragment[]): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: EXPLAIN_SYSTEM }];
  FEW_SHOT.forEach((ex, i) => {
    messages.push(
      { role: "user", content: explainBlock(ex.records, i + 1) },
      { role: "assistant", content: ` ${ex.explanation}.` },
    );
  });
  messages.push({ role: "user", content: explainBlock(fragments, FEW_SHOT.length + 1) });
  return messages;
}

const SIMULATE_SYSTEM = [
  "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document.",
  "Look at the summary of what the neuron does, and try to predict how it will fire on each token.\n\nThe",
  'activation format is token<tab>activation, activations go from 0 to 10, "unknown" indicates an unknown',
  "activation. Most activations will be 0. Answer with the last neuron's activations only: the same lines from",
  "<start> to <end>, one token per line, with each unknown replaced by an integer from 0 to 10.",
].join(" ");

const explanationLine = (n: number, explanation: string) =>
  `\n\nNeuron ${n}\nExplanation of neuron ${n} behavior: ${EXPLANATION_PREFIX} ${explanation.trim()}`;

/**
 * Messages asking for one fragment's activations, in the protocol's few-shot format.
 *
 * @param explanation The explanation (what completes {@linkcode EXPLANATION_PREFIX}).
 * @param fragment The fragment (tokens only).
 * @returns The chat messages.
 * @example
 * ```ts
 * import { simulateMessages } from "@saelab/autointerp";
 * const m = simulateMessages("cats", { tokens: [" a", " cat"] });
 * const last = m[m.length - 1].content;
 * if (!last.endsWith("Activations: <start>\n a\tunknown\n cat\tunknown\n<end>\n")) throw new Error(last);
 * ```
 */
export function simulateMessages(explanation: string, fragment: TokenFragment): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: SIMULATE_SYSTEM }];
  FEW_SHOT.forEach((ex, i) => {
    const max = maxOf(ex.records);
    messages.push(
      { role: "user", content: explanationLine(i + 1, ex.explanation) },
      {
        role: "assistant",
        content: `\nActivations: ${ex.records.map((f) => record(f.tokens, discretise(f.acts, max))).join("\n")}`,
      },
    );
  });
  const n = FEW_SHOT.length + 1;
  const unknown = fragment.tokens.map(() => "unknown");
  messages.push({
    role: "user",
    content: `${explanationLine(n, explanation)}\nActivations: ${record(fragment.tokens, unknown)}`,
  });
  return messages;
}
