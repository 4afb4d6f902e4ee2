/**
 * Downloading a model folder from the Hugging Face Hub: `config.json`,
 * `tokenizer.json` and the weights (`model.safetensors`, or the index and
 * every shard it names), with progress, resume of partial `.part` files by
 * HTTP Range, and size and checksum checks wherever the Hub states them.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { headFile, type HubOptions, type RemoteFile, resolveUrl } from "./hub.ts";
import { httpError, hubHeaders } from "./_http.ts";

/** Progress of a download, reported after every chunk. */
export interface DownloadProgress {
  /** The file being downloaded. */
  file: string;
  /** Bytes of this file on disk so far (a resumed part counts from its start). */
  fileBytes: number;
  /** Size of this file, when known. */
  fileTotal?: number;
  /** Bytes of all files so far. */
  bytes: number;
  /** Size of all files, when every size is known. */
  total?: number;
}

/** Options of {@linkcode downloadModel}. */
export interface DownloadOptions extends HubOptions {
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
  /** Target folder. Default: the repository's name. */
  dir?: string;
  /** Called after every chunk. */
  onProgress?: (p: DownloadProgress) => void;
  /** Files to fetch besides the weights. Default `["config.json", "tokenizer.json"]`. */
  files?: readonly string[];
}

/** One file of a finished download. */
export interface DownloadedFile {
  /** Path in the repository (and in the folder). */
  name: string;
  /** Bytes. */
  size: number;
  /** How the content was checked: `"sha256"`, `"git-sha1"` or `"size"` (or `"none"`). */
  verified: "sha256" | "git-sha1" | "size" | "none";
  /** `"downloaded"`, `"resumed"` from a `.part`, or `"present"` (already complete). */
  status: "downloaded" | "resumed" | "present";
}

/** The result of {@linkcode downloadModel}. */
export interface DownloadResult {
  /** The folder. */
  dir: string;
  /** The commit the revision resolved to, when the Hub said. */
  commit?: string;
  /** Every file, in download order. */
  files: DownloadedFile[];
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** SHA-256 and git blob SHA-1 of a file, streamed. */
async function digests(path: string, size: number): Promise<{ sha256: string; gitSha1: string }> {
  const sha256 = createHash("sha256"), sha1 = createHash("sha1");
  sha1.update(`blob ${size}\0`);
  using file = await Deno.open(path);
  for await (const chunk of file.readable) {
    sha256.update(chunk);
    sha1.update(chunk);
  }
  return { sha256: sha256.digest("hex"), gitSha1: sha1.digest("hex") };
}

/** Check a complete file against what the Hub said; returns how it was checked or throws. */
async function verify(path: string, remote: RemoteFile): Promise<DownloadedFile["verified"]> {
  const size = (await fileSize(path)) ?? 0;
  if (remote.size !== undefined && size !== remote.size) {
    throw new Error(`Refusing ${remote.name}: got ${size} bytes, the Hub states ${remote.size}`);
  }
  if (remote.sha256 === undefined && remote.gitSha1 === undefined) return remote.size === undefined ? "none" : "size";
  const d = await digests(path, size);
  if (remote.sha256 !== undefined && d.sha256 !== remote.sha256) {
    throw new Error(`Refusing ${remote.name}: its sha256 is ${d.sha256}, the Hub states ${remote.sha256}`);
  }
  if (remote.gitSha1 !== undefined && d.gitSha1 !== remote.gitSha1) {
    throw new Error(`Refusing ${remote.name}: its git blob sha1 is ${d.gitSha1}, the Hub states ${remote.gitSha1}`);
  }
  return remote.sha256 !== undefined ? "sha256" : "git-sha1";
}

/**
 * Download one file to `path`, resuming `path.part` when present; verified before it is renamed into place.
 *
 * @param remote The file's metadata from {@linkcode headFile}.
 * @param path Where it goes.
 * @param options Hub options and a progress callback given `(bytesOnDisk)` after every chunk.
 * @returns How the file was checked and whether it was resumed.
 * @example
 * ```ts ignore
 * import { downloadFile, headFile, resolveUrl } from "@saelab/neox";
 * const url = resolveUrl("EleutherAI/pythia-70m", "model.safetensors");
 * const remote = await headFile(url, "model.safetensors");
 * if (remote) await downloadFile(remote, "pythia-70m/model.safetensors", { onBytes: (n) => console.log(n) });
 * ```
 */
export async function downloadFile(
  remote: RemoteFile,
  path: string,
  options: HubOptions & { onBytes?: (fileBytes: number) => void } = {},
): Promise<Omit<DownloadedFile, "name" | "size">> {
  const part = `${path}.part`;
  let have = (await fileSize(part)) ?? 0;
  if (remote.size !== undefined && have > remote.size) {
    await Deno.remove(part);
    have = 0;
  }
  const resumed = have > 0;
  if (remote.size === undefined || have < remote.size) {
    const doFetch = options.fetch ?? globalThis.fetch;
    const res = await doFetch(remote.url, {
      headers: hubHeaders(options.token, have > 0 ? { Range: `bytes=${have}-` } : {}),
      signal: options.signal,
    });
    if (res.status === 416 && have > 0 && remote.size === undefined) {
      await res.body?.cancel(); // the part is already whole
    } else {
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw httpError(res, remote.name);
      }
      const from = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
      if (res.status === 206 && Number(from?.[1]) !== have) {
        await res.body?.cancel();
        throw new Error(`Cannot resume ${remote.name}: asked for bytes from ${have}, got ${from?.[1] ?? "no range"}`);
      }
      if (res.status === 200) have = 0; // the server ignored the range: start over
      using file = await Deno.open(part, { write: true, create: true, append: have > 0, truncate: have === 0 });
      for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
        for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
        have += chunk.length;
        options.onBytes?.(have);
      }
      if (remote.size !== undefined && have < remote.size) {
        throw new Error(`Download of ${remote.name} stopped at ${have} of ${remote.size} bytes; run again to resume`);
      }
    }
  }
  let verified: DownloadedFile["verified"];
  try {
    verified = await verify(part, remote);
  } catch (error) {
    await Deno.remove(part).catch(() => {});
    throw error;
  }
  await Deno.rename(part, path);
  return { verified, status: resumed ? "resumed" : "downloaded" };
}

/**
 * Download a GPT-NeoX model folder from the Hub (or a mirror) into `dir`.
 *
 * Files already complete are kept; a `.part` left by an interrupted run is
 * resumed with an HTTP Range request. A file whose size or checksum differs
 * from what the Hub states is deleted and refused with an error. The caller
 * passes `HF_ENDPOINT` and `HF_TOKEN` (this package reads no environment).
 *
 * @param repo `owner/name`, e.g. `EleutherAI/pythia-70m-deduped`.
 * @param options Revision, folder, endpoint, token, fetch, progress callback, abort signal.
 * @returns The folder, the resolved commit and each file.
 * @throws {Error} When a required file is missing, a request fails, or a file is refused.
 * @example
 * ```ts ignore
 * import { downloadModel } from "@saelab/neox";
 * const result = await downloadModel("EleutherAI/pythia-70m-deduped", {
 *   dir: "models/pythia-70m-deduped",
 *   token: Deno.env.get("HF_TOKEN"),
 *   onProgress: (p) => console.log(p.file, p.bytes, p.total),
 * });
 * ```
 */
export async function downloadModel(repo: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const dir = options.dir ?? repo.split("/").pop()!;
  const revision = options.revision ?? "main";
  const url = (file: string) => resolveUrl(repo, file, { endpoint: options.endpoint, revision });
  const head = async (file: string, required: boolean) => {
    const meta = await headFile(url(file), file, options);
    if (!meta && required) throw new Error(`Cannot download ${repo}: ${file} is missing at revision ${revision}`);
    return meta;
  };
  const remotes: RemoteFile[] = [];
  for (const f of options.files ?? ["config.json", "tokenizer.json"]) remotes.push((await head(f, true))!);
  const single = await head("model.safetensors", false);
  await Deno.mkdir(dir, { recursive: true });
  const files: DownloadedFile[] = [];
  let done = 0;
  const get = async (remote: RemoteFile, total?: number) => {
    const path = join(dir, ...remote.name.split("/"));
    await Deno.mkdir(join(path, ".."), { recursive: true });
    const size = await fileSize(path);
    if (size !== undefined && (remote.size === undefined || size === remote.size)) {
      try {
        files.push({ name: remote.name, size, verified: await verify(path, remote), status: "present" });
        done += size;
        options.onProgress?.({ file: remote.name, fileBytes: size, fileTotal: remote.size, bytes: done, total });
        return;
      } catch {
        await Deno.remove(path); // stale or damaged: fetch again
      }
    }
    const start = done;
    const r = await downloadFile(remote, path, {
      ...options,
      onBytes: (fileBytes) =>
        options.onProgress?.({ file: remote.name, fileBytes, fileTotal: remote.size, bytes: start + fileBytes, total }),
    });
    const got = (await fileSize(path))!;
    done = start + got;
    files.push({ name: remote.name, size: got, ...r });
  };
  if (single) {
    remotes.push(single);
  } else {
    const index = await head("model.safetensors.index.json", false);
    if (!index) {
      throw new Error(
        `Cannot download ${repo}: neither model.safetensors nor model.safetensors.index.json exists at revision ` +
          `${revision} (PyTorch .bin checkpoints are not read; a revision with safetensors weights is needed)`,
      );
    }
    await get(index);
    const indexPath = join(dir, "model.safetensors.index.json");
    let parsed;
    try {
      parsed = JSON.parse(await Deno.readTextFile(indexPath));
    } catch (error) {
      throw new Error(`Cannot download ${repo}: ${indexPath} is not valid JSON`, { cause: error });
    }
    const shards = [...new Set(Object.values(parsed?.weight_map ?? {}))];
    const plain = (s: unknown) => typeof s === "string" && /^[\w.-]+\.safetensors$/.test(s) && !s.startsWith(".");
    if (shards.length === 0 || !shards.every(plain)) {
      throw new Error(
        `Cannot download ${repo}: ${indexPath} has no weight_map of plain shard file names (*.safetensors)`,
      );
    }
    for (const s of shards as string[]) remotes.push((await head(s, true))!);
  }
  const total = remotes.every((r) => r.size !== undefined) ? remotes.reduce((n, r) => n + r.size!, done) : undefined;
  for (const remote of remotes) await get(remote, total);
  const commit = remotes.find((r) => r.commit)?.commit;
  return { dir, commit, files };
}
