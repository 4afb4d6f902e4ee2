/**
 * The indirect-object-identification task (Wang et al. 2022) as prompt pairs
 * for feature patching, as in Cunningham et al. (2023): two people are
 * introduced, one of them (the subject) is mentioned again and gives
 * something, and the model should name the other one (the indirect object).
 * The counterfactual replaces the indirect object by a third name, so the
 * right answer moves from one name to the other.
 *
 * Names must be single tokens with a leading space in the model's tokenizer
 * (the answer is one token, and both prompts keep the same length); the rest
 * are filtered out and reported. Templates, names, places and objects are
 * this project's own lists.
 *
 * @module
 */
import { seeded } from "./_random.ts";
import { endOfText, pickDistinct, singleToken, type TextCodec } from "./_text.ts";
import type { PatchTask, PromptPair } from "./task.ts";

export type { TextCodec };

/** Templates: `[IO]` is the indirect object, `[S]` the subject (named twice); each ends before the answer. */
export const IOI_TEMPLATES: readonly string[] = [
  "After [IO] and [S] arrived at the [PLACE], [S] handed a [OBJECT] to",
  "After [S] and [IO] arrived at the [PLACE], [S] handed a [OBJECT] to",
  "When [IO] and [S] visited the [PLACE], [S] passed the [OBJECT] to",
  "When [S] and [IO] visited the [PLACE], [S] passed the [OBJECT] to",
  "Yesterday [IO] and [S] walked to the [PLACE], and [S] showed a [OBJECT] to",
  "Yesterday [S] and [IO] walked to the [PLACE], and [S] showed a [OBJECT] to",
  "While [IO] and [S] were cleaning the [PLACE], [S] threw a [OBJECT] to",
  "While [S] and [IO] were cleaning the [PLACE], [S] threw a [OBJECT] to",
  "Later that day, [IO] and [S] met at the [PLACE]. [S] offered a [OBJECT] to",
  "Later that day, [S] and [IO] met at the [PLACE]. [S] offered a [OBJECT] to",
  "On Sunday, [IO] and [S] stopped by the [PLACE], where [S] sold a [OBJECT] to",
  "On Sunday, [S] and [IO] stopped by the [PLACE], where [S] sold a [OBJECT] to",
];

/** First names (common English names); those that are not one token are dropped per tokenizer. */
// deno-fmt-ignore
export const IOI_NAMES: readonly string[] = [
  "Mary", "John", "James", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
  "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Kevin", "Brian", "George", "Edward",
  "Ryan", "Jacob", "Gary", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Frank", "Peter",
  "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa",
  "Nancy", "Betty", "Sandra", "Ashley", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa",
  "Laura", "Rachel", "Anna", "Kate", "Alice", "Grace", "Rose", "Helen", "Tom", "Jack", "Sam", "Ben",
  "Max", "Adam", "Alex", "Dan", "Tim", "Mike", "Chris", "Jim", "Joe", "Bob", "Bill", "Tony", "Martin",
];

/** Places. */
// deno-fmt-ignore
export const IOI_PLACES: readonly string[] = [
  "store", "garden", "restaurant", "school", "hospital", "office", "house", "station", "park", "library",
  "market", "beach",
];

/** Objects. */
// deno-fmt-ignore
export const IOI_OBJECTS: readonly string[] = [
  "ring", "book", "ball", "computer", "necklace", "drink", "snack", "letter", "key", "bag", "camera", "hat",
];

/** Options of {@linkcode ioiTask}. */
export interface IoiOptions {
  /** Pairs to make. Default 60. */
  pairs?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** Token put first in every prompt. Default: the tokenizer's `<|endoftext|>`, when it has one. */
  bos?: number | null;
}

/** The task and what the tokenizer filtered out. */
export interface IoiTask {
  /** The task. */
  task: PatchTask;
  /** Names kept (single tokens with a leading space). */
  names: string[];
  /** Names dropped because they are not one token. */
  droppedNames: string[];
  /** Generated pairs dropped because the two prompts did not tokenise to equal lengths. */
  droppedPairs: number;
}

/**
 * Make IOI prompt pairs for a tokenizer.
 *
 * @param codec The model's tokenizer.
 * @param options Pair count, seed, leading token.
 * @returns The task (answers: the clean and the counterfactual indirect object) and the filtering report.
 * @throws {RangeError} When fewer than three names are single tokens.
 * @example
 * ```ts ignore
 * const { task, droppedNames } = ioiTask(await Tokenizer.fromFile("models/pythia-70m/tokenizer.json"), { pairs: 60 });
 * ```
 */
export function ioiTask(codec: TextCodec, options: IoiOptions = {}): IoiTask {
  const n = options.pairs ?? 60;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Cannot make IOI pairs: count ${n} is not ≥ 1`);
  const names: string[] = [], droppedNames: string[] = [];
  const ids = new Map<string, number>();
  for (const name of IOI_NAMES) {
    const id = singleToken(codec, " " + name);
    if (id === undefined) droppedNames.push(name);
    else names.push(name), ids.set(name, id);
  }
  if (names.length < 3) {
    throw new RangeError(
      `Cannot make IOI pairs: only ${names.length} of the names are single tokens in this tokenizer`,
    );
  }
  const bos = options.bos === undefined ? endOfText(codec) : options.bos ?? undefined;
  const rand = seeded(options.seed ?? 0);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const pairs: PromptPair[] = [];
  let droppedPairs = 0;
  for (let tries = 0; pairs.length < n && tries < 20 * n; tries++) {
    const [io, s, other] = pickDistinct(names, 3, rand);
    const frame = pick(IOI_TEMPLATES).replace("[PLACE]", pick(IOI_PLACES)).replace("[OBJECT]", pick(IOI_OBJECTS));
    const text = (a: string) => frame.replaceAll("[IO]", a).replaceAll("[S]", s);
    const enc = (t: string) => [...(bos !== undefined ? [bos] : []), ...codec.encode(t)];
    const clean = enc(text(io)), counterfactual = enc(text(other));
    if (clean.length !== counterfactual.length) {
      droppedPairs++;
      continue;
    }
    pairs.push({
      clean,
      counterfactual,
      answers: { clean: ids.get(io)!, counterfactual: ids.get(other)! },
      text: { clean: text(io), counterfactual: text(other) },
    });
  }
  return {
    task: {
      name: "ioi",
      description: "indirect object identification: name the person who did not give the object",
      pairs,
    },
    names,
    droppedNames,
    droppedPairs,
  };
}
