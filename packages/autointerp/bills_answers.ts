/**
 * Parsers of the answers to Bills et al.'s prompts (`bills_prompts.ts`): the
 * explanation, the simulated values a model wrote, and the expected values
 * over the 0–10 tokens' probabilities read from the answer's log-probabilities.
 *
 * @module
 */
import { EXPLANATION_PREFIX } from "./bills_prompts.ts";
import type { TokenLogprob } from "./client.ts";
import { ParseError } from "./prompts.ts";

/** Where each token's value stands in an answer. */
interface ValueSpan {
  value: number;
  offset: number;
}

function valueSpans(content: string, count: number): ValueSpan[] {
  const start = content.lastIndexOf("<start>");
  const from = start >= 0 ? start + "<start>".length : 0;
  const endAt = content.indexOf("<end>", from);
  const body = content.slice(from, endAt >= 0 ? endAt : content.length);
  const spans: ValueSpan[] = [];
  let offset = from;
  for (const line of body.split("\n")) {
    const lineStart = offset;
    offset += line.length + 1;
    if (line.trim() === "") continue;
    const tab = line.lastIndexOf("\t");
    if (tab < 0) throw new ParseError(`line ${JSON.stringify(line)} has no tab between token and activation`);
    const raw = line.slice(tab + 1);
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (!/^(?:10|[0-9])$/.test(text)) {
      throw new ParseError(`${JSON.stringify(text)} (line ${JSON.stringify(line)}) is not an integer from 0 to 10`);
    }
    spans.push({ value: Number(text), offset: lineStart + tab + 1 + lead });
  }
  if (spans.length !== count) throw new ParseError(`the answer has ${spans.length} token lines, expected ${count}`);
  return spans;
}

/**
 * Parse a simulation answer: the lines between the last `<start>` and `<end>`, one `token<TAB>value` line per
 * token, each value an integer 0–10.
 *
 * @param content The assistant's answer.
 * @param count Tokens in the fragment.
 * @returns The sampled values.
 * @throws {ParseError} On a wrong line count, a line without a tab, or a value outside 0–10.
 * @example
 * ```ts
 * import { parseSimulation } from "@saelab/autointerp";
 * if (parseSimulation("<start>\n a\t0\n cat\t9\n<end>", 2).join() !== "0,9") throw new Error();
 * ```
 */
export function parseSimulation(content: string, count: number): number[] {
  return valueSpans(content, count).map((s) => s.value);
}

/**
 * The protocol's expected values: at each value's position in the answer, Σ v·p(v) over the alternatives that are
 * the integers 0–10, their probabilities renormalised to sum to 1.
 *
 * @param content The assistant's answer.
 * @param logprobs The answer's tokens with their top alternatives.
 * @param count Tokens in the fragment.
 * @returns One expected value per token, or `null` when the tokens do not spell the answer, some value is not
 *   one token, or its position lists no 0–10 alternative (then the sampled values stand).
 * @throws {ParseError} When the answer itself is malformed (as {@linkcode parseSimulation}).
 * @example
 * ```ts
 * import { expectedValues } from "@saelab/autointerp";
 * const tok = (token: string, top: [string, number][] = [[token, 0]]) =>
 *   ({ token, logprob: top[0][1], top: top.map(([t, p]) => ({ token: t, logprob: Math.log(p) })) });
 * const lp = [tok("<start>\n cat\t"), tok("8", [["8", 0.5], ["10", 0.25], ["x", 0.25]]), tok("\n<end>")];
 * const [ev] = expectedValues("<start>\n cat\t8\n<end>", lp, 1)!;
 * if (Math.abs(ev - (8 * 0.5 + 10 * 0.25) / 0.75) > 1e-12) throw new Error(String(ev));
 * ```
 */
export function expectedValues(content: string, logprobs: readonly TokenLogprob[], count: number): number[] | null {
  const spans = valueSpans(content, count);
  const starts: number[] = [];
  let text = "";
  for (const t of logprobs) {
    starts.push(text.length);
    text += t.token;
  }
  if (text !== content) return null;
  const out: number[] = [];
  let k = 0;
  for (const span of spans) {
    while (k + 1 < starts.length && starts[k + 1] <= span.offset) k++;
    // a value split over tokens ("1", "0") has no distribution over 0–10 at one position
    if (logprobs[k].token.trim() !== String(span.value)) return null;
    let num = 0, den = 0;
    for (const alt of logprobs[k].top) {
      const v = alt.token.trim();
      if (!/^(?:10|[0-9])$/.test(v)) continue;
      const p = Math.exp(alt.logprob);
      num += Number(v) * p;
      den += p;
    }
    if (!(den > 0)) return null;
    out.push(num / den);
  }
  return out;
}

/**
 * Parse an explanation answer: the first non-empty line, without the explanation prefix if the model repeated
 * it, a label, quotes or a final period; 3–400 characters.
 *
 * @param content The assistant's answer.
 * @returns What completes {@linkcode EXPLANATION_PREFIX}.
 * @throws {ParseError} When nothing usable is left.
 * @example
 * ```ts
 * import { parseExplanation } from "@saelab/autointerp";
 * if (parseExplanation(" the word cat.") !== "the word cat") throw new Error();
 * if (parseExplanation("The main thing this neuron does is find cats") !== "cats") throw new Error();
 * ```
 */
export function parseExplanation(content: string): string {
  const line = content.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  let text = line.replace(/^(\*\*)?explanation(\*\*)?\s*:\s*/i, "").replace(/^["'`*]+|["'`*]+$/g, "").trim();
  if (text.toLowerCase().startsWith(EXPLANATION_PREFIX)) text = text.slice(EXPLANATION_PREFIX.length).trim();
  text = text.replace(/\.$/, "").trim();
  if (text.length < 3 || text.length > 400) {
    throw new ParseError(`the explanation must be one sentence of 3–400 characters, got ${JSON.stringify(line)}`);
  }
  return text;
}
