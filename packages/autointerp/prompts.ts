/**
 * Prompts for the LLM explainer, simulator and detector, and strict parsers
 * of their answers. Explanations are asked from token/activation lists
 * (activations scaled to integers 0–10, as in Bills et al. 2023); simulations
 * and detections are asked as JSON and rejected unless every number is in
 * range and every fragment has exactly one value per token.
 *
 * @module
 */
import type { Fragment } from "@saelab/runs";
import type { ChatMessage } from "./client.ts";
import type { TokenFragment } from "./types.ts";

/** An answer that does not have the required form; the message says what is wrong. */
export class ParseError extends Error {
  override name = "ParseError";
}

const EXPLAIN_SYSTEM = [
  "You help interpret the features of a sparse dictionary learned on a language model's activations.",
  "A feature reads each token of a text and responds with an activation; most tokens get 0.",
  "You will see text fragments as lines of `token<TAB>activation`, activations scaled to integers 0–10",
  "(10 is the strongest response anywhere in the examples). Work out what the feature responds to:",
  "a word, a family of words, a grammatical role, a position in a pattern, or what came just before.",
  'Answer with one sentence that starts with "This feature fires on". Do not list the examples back.',
].join(" ");

/**
 * Messages asking for an explanation of a feature from its top fragments.
 *
 * @param fragments Fragments with true activations, largest first.
 * @returns The chat messages.
 * @example
 * ```ts
 * import { explainMessages } from "@saelab/autointerp";
 * const m = explainMessages([{ tokens: [" the", " cat"], acts: [0, 2] }]);
 * if (!m[1].content.includes('" cat"\t10')) throw new Error(m[1].content);
 * ```
 */
export function explainMessages(fragments: readonly Fragment[]): ChatMessage[] {
  let max = 0;
  for (const f of fragments) for (const a of f.acts) max = Math.max(max, a);
  const scaled = (a: number) => (max > 0 ? Math.max(0, Math.round((10 * a) / max)) : 0);
  const blocks = fragments.map((f, i) => {
    const lines = f.tokens.map((t, j) => `${JSON.stringify(t)}\t${scaled(f.acts[j])}`);
    return `Example ${i + 1}:\n${lines.join("\n")}`;
  });
  const strong = fragments.map((f, i) => {
    const hits = f.tokens.flatMap((
      t,
      j,
    ) => (scaled(f.acts[j]) > 0 ? [`${JSON.stringify(t)}\t${scaled(f.acts[j])}`] : []));
    return `Example ${i + 1}: ${hits.join(", ") || "(none above 0 after rounding)"}`;
  });
  return [
    { role: "system", content: EXPLAIN_SYSTEM },
    {
      role: "user",
      content: `${blocks.join("\n\n")}\n\nThe same examples, non-zero tokens only:\n${strong.join("\n")}\n\n` +
        "One sentence: what does this feature fire on?",
    },
  ];
}

/**
 * Parse an explanation: the first non-empty line, without a label, quotes or markdown; 3–400 characters.
 *
 * @param content The assistant's answer.
 * @returns The sentence.
 * @throws {ParseError} When nothing usable is left.
 * @example
 * ```ts
 * import { parseExplanation } from "@saelab/autointerp";
 * if (parseExplanation('Explanation: "This feature fires on cats."') !== "This feature fires on cats.") throw new Error();
 * ```
 */
export function parseExplanation(content: string): string {
  const line = content.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  const text = line.replace(/^(\*\*)?explanation(\*\*)?\s*:\s*/i, "").replace(/^["'`*]+|["'`*]+$/g, "").trim();
  if (text.length < 3 || text.length > 400) {
    throw new ParseError(`the explanation must be one sentence of 3–400 characters, got ${JSON.stringify(line)}`);
  }
  return text;
}

const SIMULATE_SYSTEM = [
  "You predict how a feature of a language model's sparse dictionary responds to text, given an explanation",
  "of what it fires on. For every token of every fragment, give an integer activation from 0 (no response,",
  "the usual case) to 10 (the strongest response). Tokens are numbered and quoted as JSON strings.",
  'Reply with JSON only, exactly: {"fragments": [[...], [...], ...]} — one array per fragment, in order,',
  "with one integer per token.",
].join(" ");

/**
 * Messages asking for per-token activations from an explanation.
 *
 * @param explanation The explanation sentence.
 * @param fragments The fragments (tokens only).
 * @returns The chat messages.
 * @example
 * ```ts
 * import { simulateMessages } from "@saelab/autointerp";
 * const m = simulateMessages("This feature fires on cats.", [{ tokens: [" a", " cat"] }]);
 * if (!m[1].content.includes('1\t" cat"')) throw new Error(m[1].content);
 * ```
 */
export function simulateMessages(explanation: string, fragments: readonly TokenFragment[]): ChatMessage[] {
  const blocks = fragments.map((f, i) =>
    `Fragment ${i + 1} (${f.tokens.length} tokens):\n${f.tokens.map((t, j) => `${j}\t${JSON.stringify(t)}`).join("\n")}`
  );
  return [
    { role: "system", content: SIMULATE_SYSTEM },
    { role: "user", content: `Explanation: ${explanation}\n\n${blocks.join("\n\n")}` },
  ];
}

/**
 * Parse a simulation: `{"fragments": [[int 0–10, …], …]}` with the given lengths (a fenced code block is accepted).
 *
 * @param content The assistant's answer.
 * @param lengths Tokens per fragment.
 * @returns The activations, one array per fragment.
 * @throws {ParseError} On invalid JSON, a missing field, a wrong count, or a value outside 0–10.
 * @example
 * ```ts
 * import { parseSimulation } from "@saelab/autointerp";
 * const fence = "`".repeat(3);
 * const s = parseSimulation(`${fence}json\n{"fragments": [[0, 10]]}\n${fence}`, [2]);
 * if (s[0][1] !== 10) throw new Error();
 * ```
 */
export function parseSimulation(content: string, lengths: readonly number[]): number[][] {
  const v = parseJson(content) as { fragments?: unknown };
  const frags = v?.fragments;
  if (!Array.isArray(frags)) throw new ParseError('the answer has no "fragments" array');
  if (frags.length !== lengths.length) {
    throw new ParseError(`"fragments" has ${frags.length} arrays, expected ${lengths.length}`);
  }
  return frags.map((f, i) => {
    if (!Array.isArray(f) || f.length !== lengths[i]) {
      throw new ParseError(
        `fragment ${i + 1} has ${Array.isArray(f) ? f.length : "no"} values, expected ${lengths[i]}`,
      );
    }
    return f.map((x, j) => scoreValue(x, `fragment ${i + 1} token ${j}`));
  });
}

const DETECT_SYSTEM = [
  "You decide whether a feature of a language model's sparse dictionary fires anywhere in a text, given an",
  "explanation of what it fires on. For each numbered text, give an integer from 0 (surely not) to 10",
  '(surely). Reply with JSON only, exactly: {"answers": [...]} with one integer per text, in order.',
].join(" ");

/**
 * Messages asking whether the feature fires in each fragment.
 *
 * @param explanation The explanation sentence.
 * @param fragments The fragments (tokens only).
 * @returns The chat messages.
 * @example
 * ```ts
 * import { detectMessages } from "@saelab/autointerp";
 * const m = detectMessages("This feature fires on cats.", [{ tokens: [" a", " cat"] }]);
 * if (!m[1].content.includes('Text 1: " a cat"')) throw new Error(m[1].content);
 * ```
 */
export function detectMessages(explanation: string, fragments: readonly TokenFragment[]): ChatMessage[] {
  const texts = fragments.map((f, i) => `Text ${i + 1}: ${JSON.stringify(f.tokens.join(""))}`);
  return [
    { role: "system", content: DETECT_SYSTEM },
    { role: "user", content: `Explanation: ${explanation}\n\n${texts.join("\n")}` },
  ];
}

/**
 * Parse a detection answer: `{"answers": [int 0–10, …]}` of the given count, as probabilities (÷ 10).
 *
 * @param content The assistant's answer.
 * @param count Number of texts.
 * @returns One probability per text.
 * @throws {ParseError} On invalid JSON, a wrong count or a value outside 0–10.
 * @example
 * ```ts
 * import { parseDetection } from "@saelab/autointerp";
 * if (parseDetection('{"answers": [10, 0]}', 2).join() !== "1,0") throw new Error();
 * ```
 */
export function parseDetection(content: string, count: number): number[] {
  const v = parseJson(content) as { answers?: unknown };
  if (!Array.isArray(v?.answers)) throw new ParseError('the answer has no "answers" array');
  if (v.answers.length !== count) throw new ParseError(`"answers" has ${v.answers.length} values, expected ${count}`);
  return v.answers.map((x, i) => scoreValue(x, `text ${i + 1}`) / 10);
}

function parseJson(content: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(content);
  const text = (fenced ? fenced[1] : content).trim();
  try {
    return JSON.parse(text);
  } catch {
    throw new ParseError(`the answer is not valid JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
}

function scoreValue(x: unknown, where: string): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 10) {
    throw new ParseError(`${where}: ${JSON.stringify(x)} is not an integer from 0 to 10`);
  }
  return x;
}
