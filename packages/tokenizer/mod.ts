/**
 * Hugging Face `tokenizer.json` byte-level BPE for SAE Lab: load GPT-2 style
 * tokenizers (Pythia's included) and encode, with UTF-16 spans for highlighting,
 * decode, and train new ones in the same format. No file access outside
 * `read_text.ts`, so it runs in a browser too.
 *
 * ```ts ignore
 * import { Tokenizer } from "@saelab/tokenizer";
 * const tok = await Tokenizer.fromFile("../shared/reference/pythia-tokenizer/tokenizer.json");
 * tok.encode("Hello world"); // [12092, 1533]
 * tok.encodeWithOffsets("Hello world").offsets; // [[0, 5], [5, 11]]
 * tok.decode([12092, 1533]); // "Hello world"
 * ```
 *
 * @module
 */
export { Tokenizer } from "./tokenizer.ts";
export type { DecodeOptions, EncodingWithOffsets } from "./types.ts";
export { trainBpe } from "./train.ts";
export type { TrainBpeOptions } from "./train.ts";
export type { AddedToken, BpeModelJson, Component, TokenizerJson } from "./config.ts";
export { MAX_TOKEN_ID } from "./config.ts";
export { preTokenize } from "./pretokenize.ts";
export { BYTE_TO_CHAR, toByteLevel, tokenBytes } from "./bytes.ts";
export { readText } from "./read_text.ts";
export { tokenText } from "./display.ts";
export type { TokenTextOptions } from "./display.ts";
