/**
 * The Hugging Face Hub's `resolve` URL layout and the metadata it gives about
 * a file before downloading it.
 *
 * `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` answers either 200 (a
 * file kept in git: `Content-Length`, and an `ETag` that is the git blob's
 * SHA-1) or a redirect to a CDN (a file kept in LFS/Xet: `X-Linked-Size`, and
 * `X-Linked-Etag` holding the content's SHA-256). `X-Repo-Commit` names the
 * commit the revision resolved to. Redirects within the endpoint (a renamed
 * repository) are followed.
 *
 * @module
 */
import { httpError, hubHeaders } from "./_http.ts";

/** Where and how to reach a Hub. */
export interface HubOptions {
  /** Base URL. Default `https://huggingface.co` (pass `HF_ENDPOINT` here). */
  endpoint?: string;
  /** Access token sent as `Authorization: Bearer …` (pass `HF_TOKEN` here). */
  token?: string;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Cancels requests. */
  signal?: AbortSignal;
}

/** What the Hub says about a file. */
export interface RemoteFile {
  /** Path in the repository. */
  name: string;
  /** The resolve URL. */
  url: string;
  /** Size in bytes, when given. */
  size?: number;
  /** SHA-256 of the content (LFS files), lowercase hex. */
  sha256?: string;
  /** Git blob SHA-1 (files kept in git), lowercase hex. */
  gitSha1?: string;
  /** The commit the revision resolved to, when given. */
  commit?: string;
}

const REPO = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * The `resolve` URL of a file.
 *
 * @param repo `owner/name`.
 * @param file Path in the repository.
 * @param options `endpoint` and `revision` (default `main`; `refs/pr/1` is encoded).
 * @returns The URL.
 * @throws {TypeError} For a malformed repository id or file path.
 * @example
 * ```ts
 * import { headFile, type HubOptions, type RemoteFile, resolveUrl } from "./hub.ts";
 * const options: HubOptions = { endpoint: "https://huggingface.co" };
 * const url = resolveUrl("EleutherAI/pythia-70m", "config.json", { ...options, revision: "step3000" });
 * const lookUp = (): Promise<RemoteFile | undefined> => headFile(url, "config.json", options); // a HEAD request
 * console.log(url, typeof lookUp); // https://huggingface.co/EleutherAI/pythia-70m/resolve/step3000/config.json function
 * ```
 */
export function resolveUrl(repo: string, file: string, options: { endpoint?: string; revision?: string } = {}): string {
  if (!REPO.test(repo) || repo.includes("..")) {
    throw new TypeError(`Cannot download from ${JSON.stringify(repo)}: a repository id looks like owner/name`);
  }
  const parts = file.split("/");
  if (file.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..") || file.includes("\\")) {
    throw new TypeError(`Cannot download ${JSON.stringify(file)}: not a relative path inside the repository`);
  }
  const base = (options.endpoint ?? "https://huggingface.co").replace(/\/+$/, "");
  const revision = encodeURIComponent(options.revision ?? "main");
  return `${base}/${repo}/resolve/${revision}/${parts.map(encodeURIComponent).join("/")}`;
}

function etag(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
}

function size(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/**
 * Ask the Hub for a file's size and checksum without downloading it.
 *
 * @param url The file's resolve URL.
 * @param name The file's path, for the result and errors.
 * @param options Token, fetch, signal.
 * @returns The metadata, or `undefined` when the file does not exist (404).
 * @throws {Error} For other HTTP failures (401/403 say that a token may be needed).
 * @example
 * ```ts ignore
 * const meta = await headFile(resolveUrl("EleutherAI/pythia-70m", "model.safetensors"), "model.safetensors");
 * console.log(meta?.size, meta?.sha256);
 * ```
 */
export async function headFile(url: string, name: string, options: HubOptions = {}): Promise<RemoteFile | undefined> {
  const doFetch = options.fetch ?? globalThis.fetch;
  let current = url;
  for (let hop = 0; hop < 6; hop++) {
    const res = await doFetch(current, {
      method: "HEAD",
      redirect: "manual",
      headers: hubHeaders(options.token),
      signal: options.signal,
    });
    await res.body?.cancel();
    const commit = res.headers.get("x-repo-commit") ?? undefined;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      const linked = size(res.headers.get("x-linked-size"));
      if (linked !== undefined || !location) {
        const sha = etag(res.headers.get("x-linked-etag"));
        return { name, url, size: linked, sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined, commit };
      }
      const next = new URL(location, current);
      if (next.origin !== new URL(url).origin) return { name, url, commit }; // a CDN without metadata
      current = next.href;
      continue;
    }
    if (res.status === 404) return undefined;
    if (!res.ok) throw httpError(res, name);
    const tag = etag(res.headers.get("etag"));
    return {
      name,
      url,
      size: size(res.headers.get("content-length")),
      sha256: tag && /^[0-9a-f]{64}$/.test(tag) ? tag : undefined,
      gitSha1: tag && /^[0-9a-f]{40}$/.test(tag) ? tag : undefined,
      commit,
    };
  }
  throw new Error(`Cannot download ${name}: too many redirects from ${url}`);
}
