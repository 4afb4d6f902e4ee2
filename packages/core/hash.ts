/**
 * The stable JSON hash used to key run settings (a resume must match it).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./json.ts";

/**
 * SHA-256 of canonical JSON (object keys sorted, `undefined` fields dropped), hex.
 *
 * @param value Any JSON value.
 * @returns The hash, 64 lowercase hex digits.
 * @example
 * ```ts
 * import { hashJson } from "@saelab/core/hash";
 * if (hashJson({ a: 1, b: 2 }) !== hashJson({ b: 2, a: 1 })) throw new Error("key order matters");
 * ```
 */
export function hashJson(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
