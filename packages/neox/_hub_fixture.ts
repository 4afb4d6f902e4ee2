/**
 * A local stand-in for the Hugging Face Hub, for tests: serves a folder in the
 * `/{repo}/resolve/{revision}/{file}` layout on 127.0.0.1. Files ending in
 * `.safetensors` behave like LFS files (a redirect carrying `X-Linked-Size` and
 * `X-Linked-Etag`, content from `/cdn/…` with Range support); others like git
 * files (`ETag` = git blob SHA-1). Faults can be injected per file.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Hono } from "hono";

/** Faults to inject, by file name. */
export interface Faults {
  /** Serve only this many bytes of the next GET, then break the connection. */
  cutAfter?: Record<string, number>;
  /** Flip a byte of the content while still advertising the true checksum. */
  corrupt?: Set<string>;
}

/** A running fixture server. */
export interface FixtureHub {
  endpoint: string;
  /** Every request as `METHOD path [range]`. */
  log: string[];
  faults: Faults;
  close(): Promise<void>;
}

/**
 * Serve `root/{repo}/…` files.
 *
 * @param root Folder holding `owner/name/` repositories.
 * @param options `token`: when set, requests without `Bearer token` get 401.
 * @returns The server.
 */
export function serveHub(root: string, options: { token?: string; commit?: string } = {}): FixtureHub {
  const log: string[] = [];
  const faults: Faults = {};
  const commit = options.commit ?? "0123456789abcdef0123456789abcdef01234567";
  const app = new Hono();
  const read = async (repo: string, file: string) => {
    if (file.split("/").includes("..")) return undefined;
    return await Deno.readFile(join(root, repo, file)).catch(() => undefined);
  };
  app.use("*", async (c, next) => {
    log.push(
      `${c.req.method} ${new URL(c.req.url).pathname}${c.req.header("range") ? ` ${c.req.header("range")}` : ""}`,
    );
    if (options.token && c.req.header("authorization") !== `Bearer ${options.token}`) {
      return c.text("unauthorized", 401);
    }
    await next();
  });
  app.on(["GET", "HEAD"], "/:owner/:name/resolve/:revision/:file{.+}", async (c) => {
    const { owner, name, file } = c.req.param();
    const data = await read(`${owner}/${name}`, file);
    if (!data) return c.text("not found", 404);
    if (file.endsWith(".safetensors")) {
      const sha = createHash("sha256").update(data).digest("hex");
      return c.body(null, 302, {
        Location: `/cdn/${owner}/${name}/${file}`,
        "X-Linked-Size": String(data.length),
        "X-Linked-Etag": `"${sha}"`,
        "X-Repo-Commit": commit,
      });
    }
    const sha1 = createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
    const headers = { ETag: `"${sha1}"`, "X-Repo-Commit": commit, "Content-Length": String(data.length) };
    return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(data, 200, headers);
  });
  app.get("/cdn/:owner/:name/:file{.+}", async (c) => {
    const { owner, name, file } = c.req.param();
    let data = await read(`${owner}/${name}`, file);
    if (!data) return c.text("not found", 404);
    if (faults.corrupt?.has(file)) {
      data = data.slice();
      data[data.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(c.req.header("range") ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start >= data.length && data.length > 0) {
      return c.body(null, 416, { "Content-Range": `bytes */${data.length}` });
    }
    const body = data.subarray(start);
    const cut = faults.cutAfter?.[file];
    if (cut !== undefined) delete faults.cutAfter![file];
    const end = cut === undefined ? body.length : Math.min(cut, body.length);
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset < end) {
          controller.enqueue(body.slice(offset, Math.min(offset + 4096, end)));
          offset += 4096;
        } else if (cut !== undefined) {
          await new Promise((r) => setTimeout(r, 50)); // let the sent bytes reach the client first
          controller.close(); // fewer bytes than Content-Length: the client sees a cut connection
        } else {
          controller.close();
        }
      },
    });
    const headers: Record<string, string> = { "Content-Length": String(body.length), "Accept-Ranges": "bytes" };
    if (range) headers["Content-Range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    return c.body(stream, range ? 206 : 200, headers);
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    log,
    faults,
    close: () => server.shutdown(),
  };
}
