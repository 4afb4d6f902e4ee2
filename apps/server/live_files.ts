/**
 * Serving a file from disk for the live page: `ETag` (size and modification time), `If-None-Match`
 * (304), `Accept-Ranges: bytes` and one `Range` per request (206 with `Content-Range`, 416 when it
 * cannot be satisfied; `If-Range` with another tag gets the whole file). Several ranges in one
 * request are answered with the whole file, which HTTP allows.
 *
 * @module
 */

/** Options of {@linkcode fileResponse}. */
export interface FileResponseOptions {
  /** `Content-Type`. */
  type: string;
  /** `Cache-Control`. */
  cacheControl: string;
}

/** A byte range `[start, end]` (inclusive) of a file of `size` bytes, from a `Range` header. */
type Parsed = { start: number; end: number } | "whole" | "unsatisfiable";

/**
 * Read a `Range` header against a file size.
 *
 * @param header The header's value.
 * @param size The file's size.
 * @returns The inclusive range, `"whole"` (no usable single range: serve everything) or `"unsatisfiable"`.
 * @example
 * ```ts
 * import { parseRange } from "./live_files.ts";
 * const r = parseRange("bytes=10-", 100);
 * if (typeof r !== "object" || r.start !== 10 || r.end !== 99) throw new Error();
 * if (parseRange("bytes=-5", 100) === "whole") throw new Error();
 * if (parseRange("bytes=200-300", 100) !== "unsatisfiable") throw new Error();
 * ```
 */
export function parseRange(header: string, size: number): Parsed {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return "whole";
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return "whole"; // syntactically invalid: ignored, as HTTP says
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/**
 * Answer a GET or HEAD for a file.
 *
 * @param req The request.
 * @param path The file (already checked to lie where it may).
 * @param options Its content type and cache policy.
 * @returns The response, or null when the path is not a plain file.
 * @example
 * ```ts ignore
 * const res = await fileResponse(c.req.raw, "/data/model.safetensors", { type: "application/octet-stream", cacheControl: "no-cache" });
 * ```
 */
export async function fileResponse(req: Request, path: string, options: FileResponseOptions): Promise<Response | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  if (!info.isFile) return null;
  const size = info.size;
  const etag = `"${size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
  const headers = new Headers({
    "Content-Type": options.type,
    "Cache-Control": options.cacheControl,
    "Accept-Ranges": "bytes",
    ETag: etag,
  });
  const tags = req.headers.get("if-none-match");
  if (tags && tags.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*")) {
    return new Response(null, { status: 304, headers });
  }
  const range = req.headers.get("range");
  const ifRange = req.headers.get("if-range");
  const parsed = range && (!ifRange || ifRange.trim() === etag) ? parseRange(range, size) : "whole";
  if (parsed === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${size}`);
    return new Response(null, { status: 416, headers });
  }
  const { start, end } = parsed === "whole" ? { start: 0, end: size - 1 } : parsed;
  const length = Math.max(0, end - start + 1);
  headers.set("Content-Length", String(length));
  const status = parsed === "whole" ? 200 : 206;
  if (status === 206) headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
  if (req.method === "HEAD" || length === 0) return new Response(null, { status, headers });
  using file = await Deno.open(path);
  await file.seek(start, Deno.SeekMode.Start);
  const body = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await file.read(body.subarray(at));
    if (n === null) break;
    at += n;
  }
  if (at !== length) {
    throw new Error(`Cannot serve ${path}: it ended after ${at} of ${length} bytes (changed while read)`);
  }
  return new Response(body, { status, headers });
}
