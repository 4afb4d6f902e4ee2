/**
 * Prompts for the LLM detector and fuzzing judge (after delphi), and strict
 * parsers of their answers: JSON, rejected unless every number is in range
 * and there is one per text. The explanation and simulation prompts of Bills
 * et al. live in `bills_prompts.ts`.
 *
 * @module
 */
import type { ChatMessage } from "./client.ts";
import { markedText } from "./fuzzing.ts";
import type { MarkedFragment, TokenFragment } from "./types.ts";

/** An answer that does not have the required form; the message says what is wrong. */
export class ParseError extends Error {
  override name = "ParseError";
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

const FUZZ_SYSTEM = [
  "You check explanations of a feature of a language model's sparse dictionary. You get an explanation and",
  "numbered texts in which some tokens are highlighted between << and >>. In some texts the highlighted tokens",
  "are the ones the feature fires on; in others they were chosen at random. A text is correctly highlighted only",
  "when every highlighted token is something the explanation describes. For each text, answer 1 if it is",
  'correctly highlighted and 0 if not. Reply with JSON only, exactly: {"answers": [...]} with one 0 or 1 per',
  "text, in order.",
].join(" ");

/**
 * Messages asking whether each text's highlighting matches the explanation.
 *
 * @param explanation The explanation sentence.
 * @param fragments Fragments with highlighted tokens.
 * @returns The chat messages.
 * @example
 * ```ts
 * import { fuzzMessages } from "@saelab/autointerp";
 * const m = fuzzMessages("cats", [{ tokens: [" a", " cat"], marked: [false, true] }]);
 * if (!m[1].content.includes('Text 1: " a<< cat>>"')) throw new Error(m[1].content);
 * ```
 */
export function fuzzMessages(explanation: string, fragments: readonly MarkedFragment[]): ChatMessage[] {
  const texts = fragments.map((f, i) => `Text ${i + 1}: ${JSON.stringify(markedText(f))}`);
  return [
    { role: "system", content: FUZZ_SYSTEM },
    { role: "user", content: `Explanation: ${explanation}\n\n${texts.join("\n")}` },
  ];
}

/**
 * Parse a fuzzing answer: `{"answers": [0 or 1, …]}` of the given count.
 *
 * @param content The assistant's answer.
 * @param count Number of texts.
 * @returns One judgement per text (1: correctly highlighted).
 * @throws {ParseError} On invalid JSON, a wrong count or a value other than 0 and 1.
 * @example
 * ```ts
 * import { parseJudgements } from "@saelab/autointerp";
 * if (parseJudgements('{"answers": [1, 0]}', 2).join() !== "1,0") throw new Error();
 * ```
 */
export function parseJudgements(content: string, count: number): number[] {
  const v = parseJson(content) as { answers?: unknown };
  if (!Array.isArray(v?.answers)) throw new ParseError('the answer has no "answers" array');
  if (v.answers.length !== count) throw new ParseError(`"answers" has ${v.answers.length} values, expected ${count}`);
  return v.answers.map((x, i) => {
    if (x !== 0 && x !== 1) throw new ParseError(`text ${i + 1}: ${JSON.stringify(x)} is not 0 or 1`);
    return x;
  });
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
