/**
 * Result and option types of the tokenizer's `encodeWithOffsets` and `decode`.
 *
 * @module
 */

/** Ids with the span of the input each came from. */
export interface EncodingWithOffsets {
  /** Token ids. */
  ids: number[];
  /**
   * `[start, end)` per id, in UTF-16 indices of the input string (`text.slice(start, end)`
   * is what the token stands for). Spans follow the input, not the normalised text: a
   * character NFC composed from several input characters spans all of them. A token that
   * holds only some of the bytes of a multi-byte character spans that whole character,
   * so the tokens that split one character (an emoji, say) share one span. Consecutive
   * spans tile the input (none overlap except those sharing a split character). A space that
   * `add_prefix_space` puts before a segment is part of no input: alone as a token it spans
   * nothing (`[start, start)`). Spans are not trimmed: where Hugging Face's `trim_offsets`
   * would leave the space out of `"Ġworld"`'s span, here it is in, so that spans tile the text.
   */
  offsets: Array<[number, number]>;
}

/** Options of `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Leave out special tokens (`<|endoftext|>`, …). Default false. */
  skipSpecialTokens?: boolean;
}
