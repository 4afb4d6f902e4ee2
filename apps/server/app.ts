/**
 * The Hono application: HTML pages, a JSON API mirroring each page, static assets, security
 * headers. It only reads run folders.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  listDicts,
  listNames,
  listRuns,
  loadRun,
  pickAtlasEntry,
  readAtlasShard,
  readFeature,
  readFeatureIndex,
  readJson,
  RUN_FILES,
} from "@saelab/runs";
import type { FeatureIndex, FileResult, SaeCfg } from "@saelab/runs";
import { paginate, searchFeatures, sortFeatures } from "@saelab/report";
import { type Asset, loadAssets } from "./assets.ts";
import { responseCache } from "./cache.ts";
import { fileMemo } from "./file_memo.ts";
import { browseQuery, indexParam, nameParam } from "./params.ts";
import { indexPage, runPage } from "./pages_run.ts";
import { type DictReach, featurePage, messagePage, unsampledFeaturePage } from "./pages_feature.ts";
import { browserPage } from "./pages_browser.ts";
import { mountToy } from "./pages_toy.ts";
import { mountLive } from "./live.ts";
import { closestRows, readDecoder } from "./pages_decoder.ts";
import { hostGuard, LOOPBACK_HOSTS } from "./host.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** The runs folder (read only). */
  runsDir: string;
  /** Preloaded static assets; loaded on first use when omitted. */
  assets?: Map<string, Asset>;
  /** Features per page in the browser (default 50). */
  perPage?: number;
  /** Called with unexpected errors (answered as a bare 500). */
  onError?: (error: unknown) => void;
  /** Reuse a page or API answer for this many milliseconds (default 1000; 0 re-reads the files every time). */
  cacheMs?: number;
  /** Milliseconds clock for the cache; default `performance.now`. */
  now?: () => number;
  /**
   * Host names answered (in `Host` and in absolute-form targets); others get 421. Default
   * {@linkcode LOOPBACK_HOSTS}; the server started by `startServer` adds its bound address.
   */
  hosts?: readonly string[];
  /** The bound port: a port given in `Host` must be this one. Default: any. */
  port?: number;
  /** Refuse requests without a `Host` header (421). Default false (in-process `app.request` sends none). */
  requireHost?: boolean;
}

/** The Content-Security-Policy every response carries: only same-origin scripts and styles, no eval. */
export const CSP: string = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const isApi = (c: Context) => c.req.path.startsWith("/api/");

/** Map the runs package's "path leaves the runs folder" refusals to a 404. */
async function guarded<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof TypeError && /links outside|leaves|not a plain name/.test(e.message)) {
      throw new HTTPException(404, { message: "Not found" });
    }
    throw e;
  }
}

/**
 * Build the report server application.
 *
 * @param options The runs folder and optional assets, page size and error callback.
 * @returns A Hono app; serve it with `Deno.serve(app.fetch)` or test it with `app.request(path)`.
 * @example
 * ```ts ignore
 * const app = createApp({ runsDir: "runs" });
 * const res = await app.request("/api/runs");
 * ```
 */
export function createApp(options: AppOptions): Hono {
  const { runsDir } = options;
  const perPage = options.perPage ?? 50;
  let assets: Promise<Map<string, Asset>> | null = options.assets ? Promise.resolve(options.assets) : null;
  const app = new Hono();
  // a large dictionary's index and its atlas shards are parsed once while unchanged
  const memo = fileMemo(runsDir);
  const readIndex = (id: string, dict: string) =>
    memo.get([id, RUN_FILES.features, dict, RUN_FILES.featureIndex], () => readFeatureIndex(runsDir, id, dict));

  app.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });

  app.use(
    "*",
    hostGuard({ hosts: options.hosts ?? LOOPBACK_HOSTS, port: options.port, requireHost: options.requireHost }),
  );

  app.use("*", responseCache({ ttlMs: options.cacheMs ?? 1000, now: options.now, skip: ["/static/", "/live/"] }));

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      if (isApi(c)) return c.json({ error: err.message }, status);
      return c.html(messagePage(status === 404 ? "Not found" : "Bad request", err.message), status);
    }
    options.onError?.(err);
    return isApi(c)
      ? c.json({ error: "Internal error" }, 500)
      : c.html(messagePage("Internal error", "Something went wrong."), 500);
  });
  app.notFound((
    c,
  ) => (isApi(c) ? c.json({ error: "Not found" }, 404) : c.html(messagePage("Not found", "No such page."), 404)));

  const notFound = (what: string): never => {
    throw new HTTPException(404, { message: `${what} not found` });
  };

  // Data shared by pages and API.
  const run = async (c: Context) => {
    const id = nameParam(c.req.param("id"), "run id");
    return (await guarded(() => loadRun(runsDir, id))) ?? notFound(`Run ${id}`);
  };
  const index = async (c: Context): Promise<{ id: string; dict: string; index: FileResult<FeatureIndex> }> => {
    const id = nameParam(c.req.param("id"), "run id");
    const dict = nameParam(c.req.param("dict"), "dictionary name");
    const idx = await guarded(() => readIndex(id, dict));
    if (idx.status === "missing") notFound(`Features of ${dict} in run ${id}`);
    return { id, dict, index: idx };
  };
  const browse = async (c: Context) => {
    const { id, dict, index: idx } = await index(c);
    if (idx.status !== "ok") return { id, dict, idx, invalid: idx.status === "invalid" ? idx.problems : [] };
    const scored = idx.value.features.some((f) => typeof f.score === "number");
    const query = browseQuery((k) => c.req.query(k), { scored, perPage });
    const found = query.q !== undefined ? searchFeatures(idx.value.features, query.q) : idx.value.features;
    const page = paginate(query.q !== undefined && /^#/.test(query.q) ? found : sortFeatures(found, query), {
      page: query.page,
      perPage: query.per,
    });
    return { id, dict, idx, query, page, invalid: [] as string[] };
  };
  const feature = async (c: Context) => {
    const { id, dict } = {
      id: nameParam(c.req.param("id"), "run id"),
      dict: nameParam(c.req.param("dict"), "dictionary name"),
    };
    const i = indexParam(c.req.param("i"));
    const [f, idx, reach] = await Promise.all([
      guarded(() => readFeature(runsDir, id, { dict, index: i })),
      guarded(() => readIndex(id, dict)),
      dictReach(id, dict),
    ]);
    // Every index below d_sae answers; only sampled ones have a detail file.
    if (f.status === "missing" && (reach.size === undefined || i >= reach.size)) {
      notFound(`Feature ${i} of ${dict} in run ${id}`);
    }
    const value = idx.status === "ok" ? idx.value : null;
    // every feature's statistics and fragments, when the score stage wrote the atlas
    const atlas = value?.atlasShard
      ? pickAtlasEntry(
        await guarded(() => {
          const shard = Math.floor(i / value.atlasShard!);
          return memo.get(
            [id, RUN_FILES.features, dict, RUN_FILES.atlas, `${shard}.json`],
            () => readAtlasShard(runsDir, id, { dict, shard }),
          );
        }),
        i,
      )
      : null;
    return { id, dict, i, f, index: value, reach, atlas: atlas?.status === "ok" ? atlas.value : undefined };
  };
  // d_sae of a member or baseline, else of a circuits companion (circuits/<name>/cfg.json).
  const dictReach = async (id: string, dict: string): Promise<DictReach & { folder: string; reference?: string }> => {
    const entry = (await guarded(() => listDicts(runsDir, id))).find((d) => d.name === dict);
    const cfg = entry?.cfg ??
      await guarded(() => readJson<SaeCfg>(runsDir, [id, "circuits", dict, RUN_FILES.cfg], { kind: "saeCfg" }));
    // a companion has a browser when the circuits stage wrote its atlas and index
    const companionIndex = entry ? null : await guarded(() => readIndex(id, dict));
    return {
      size: cfg.status === "ok" ? cfg.value.d_sae : undefined,
      browsable: entry?.hasFeatures ?? (companionIndex !== null && companionIndex.status !== "missing"),
      folder: entry ? (entry.kind === "sae" ? "saes" : "baselines") : "circuits",
      reference: entry?.eval.status === "ok" ? entry.eval.value.mmcs?.reference : undefined,
    };
  };
  // From the decoder rows: the best match in the MMCS reference, and (when asked) the nearest features.
  const decoderFacts = async (
    id: string,
    dict: string,
    o: { i: number; reach: Awaited<ReturnType<typeof dictReach>>; nearest: boolean },
  ) => {
    const own = await guarded(() => readDecoder(runsDir, [id, o.reach.folder, dict]));
    const row = own && o.i < own.dSae ? own.rows.subarray(o.i * own.dIn, (o.i + 1) * own.dIn) : null;
    if (!row) return {};
    const neighbours = o.nearest ? closestRows(row, own!, { k: 5, skip: o.i }) : undefined;
    const ref = o.reach.reference && o.reach.reference !== dict
      ? await guarded(() => readDecoder(runsDir, [id, "saes", o.reach.reference!]))
      : null;
    const best = ref ? closestRows(row, ref, { k: 1 })[0] : undefined;
    const partner = best && { dict: o.reach.reference!, index: best.index, cosine: best.cosine };
    return { neighbours, partner };
  };

  // Pages.
  app.get("/", async (c) => c.html(indexPage(await guarded(() => listRuns(runsDir)), { runsDir })));
  app.get("/runs/:id", async (c) => {
    const b = await run(c);
    return c.html(runPage(b, { companions: await guarded(() => listNames(runsDir, [b.summary.id, "circuits"])) }));
  });
  app.get("/runs/:id/dicts/:dict", async (c) => {
    const b = await browse(c);
    if (b.idx.status !== "ok" || !b.page) {
      return c.html(messagePage("Feature index unreadable", `features/${b.dict}/index.json: ${b.invalid.join("; ")}`));
    }
    const { size } = await dictReach(b.id, b.dict);
    return c.html(browserPage(b.id, b.idx.value, { page: b.page, query: b.query!, size }));
  });
  // Search of one dictionary's features by index, top token or explanation (the browser's search box).
  app.get("/api/runs/:id/dicts/:dict/search", async (c) => {
    const b = await browse(c);
    if (b.idx.status !== "ok" || !b.page) {
      return c.json({ run: b.id, dict: b.dict, status: "invalid", problems: b.invalid });
    }
    const sampled = new Set(b.idx.value.sampled ?? []);
    return c.json({
      run: b.id,
      dict: b.dict,
      status: "ok",
      q: b.query!.q ?? "",
      total: b.page.total,
      page: b.page.page,
      pages: b.page.pages,
      features: b.page.items.map((f) => ({ ...f, sampled: sampled.has(f.index) })),
    });
  });
  app.get("/runs/:id/dicts/:dict/features/:i", async (c) => {
    const { id, dict, i, f, index: idx, reach, atlas } = await feature(c);
    const facts = f.status === "invalid"
      ? {}
      : await decoderFacts(id, dict, { i, reach, nearest: f.status === "missing" });
    if (f.status === "missing") {
      return c.html(unsampledFeaturePage(id, dict, { i, index: idx, reach, ...facts, atlas }));
    }
    if (f.status !== "ok") {
      return c.html(
        messagePage(
          "Feature unreadable",
          `features/${dict}/${i}.json: ${f.status === "invalid" ? f.problems.join("; ") : ""}`,
        ),
      );
    }
    return c.html(featurePage(id, f.value, { index: idx, reach, partner: facts.partner, atlas }));
  });

  // JSON API, one route per page.
  app.get("/api/runs", async (c) => c.json({ runs: await guarded(() => listRuns(runsDir)) }));
  app.get("/api/runs/:id", async (c) => c.json(await run(c)));
  app.get("/api/runs/:id/dicts/:dict", async (c) => {
    const b = await browse(c);
    if (b.idx.status !== "ok" || !b.page) {
      return c.json({ run: b.id, dict: b.dict, status: "invalid", problems: b.invalid });
    }
    const { features: _all, ...meta } = b.idx.value;
    return c.json({
      run: b.id,
      status: "ok",
      ...meta,
      ...b.query,
      pages: b.page.pages,
      total: b.page.total,
      page: b.page.page,
      features: b.page.items,
    });
  });
  app.get("/api/runs/:id/dicts/:dict/features/:i", async (c) => {
    const { id, dict, i, f, index: idx, reach, atlas } = await feature(c);
    if (f.status === "missing") {
      const summary = idx?.features.find((s) => s.index === i) ?? null;
      return c.json({
        run: id,
        dict,
        index: i,
        status: "not-sampled",
        d_sae: reach.size,
        summary,
        atlas: atlas ?? null,
      });
    }
    if (f.status !== "ok") {
      return c.json({ run: id, dict, index: i, status: "invalid", problems: f.status === "invalid" ? f.problems : [] });
    }
    return c.json({ run: id, status: "ok", feature: f.value, atlas: atlas ?? null });
  });

  mountToy(app, { runsDir, guarded });
  mountLive(app, { runsDir, guarded });

  // Static assets: looked up by exact name in memory, never on disk by URL.
  app.get("/static/*", async (c) => {
    assets ??= loadAssets().then((r) => r.assets);
    const a = (await assets).get(c.req.path.slice("/static/".length));
    if (!a) return notFound("Asset");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(a.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": a.type });
  });

  return app;
}
