/**
 * UTF-8 encoding of single code points into a byte list.
 *
 * @module
 */

/**
 * Appends the UTF-8 bytes of one code point to `out` and returns how many were written.
 *
 * @param cp A Unicode scalar value (surrogates must already be replaced).
 * @param out Where the bytes go.
 * @returns 1 to 4.
 */
export function pushUtf8(cp: number, out: number[]): number {
  if (cp < 0x80) {
    out.push(cp);
    return 1;
  }
  if (cp < 0x800) {
    out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    return 3;
  }
  out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return 4;
}
