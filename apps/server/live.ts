/**
 * The live page of a run (`/runs/<id>/live`): the run's model and one of its dictionaries run in
 * the visitor's browser on WebGPU, on text the visitor types (or `?text=`), through the project's
 * own packages bundled for browsers ({@linkcode liveBundle}). The server serves that bundle under
 * its content hash, and the model's and dictionaries' files by HTTP ranges
 * (`/live/runs/<id>/model/<file>`, `/live/runs/<id>/dicts/<dict>/<file>`); nothing else is fetched.
 *
 * Query: `text` (the text analysed first), `dict` (a dictionary of the run; default its first
 * SAE), `feature` (shade every token by this feature's activation). `/api/runs/<id>/live` answers
 * the page's configuration ({@linkcode LiveConfig}) as JSON.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type DictEntry, listDicts, readRun, resolveInside, RUN_FILES, type RunJson } from "@saelab/runs";
import { type Html, markup, pageHtml, scriptJson } from "@saelab/report";
import { raw } from "hono/html";
import { dictHref, indexParam, nameParam, runHref } from "./params.ts";
import { fileResponse } from "./live_files.ts";
import { liveBundle } from "./live_bundle.ts";
import type { LiveConfig, LiveDict, LiveFile } from "./live/config.ts";

export type { LiveConfig } from "./live/config.ts";

/** URL of a run's live page. */
export const liveHref = (id: string): string => `${runHref(id)}/live`;

/**
 * The run page's section that links to the live page (shown when the run names its model folder and has dictionaries).
 *
 * @param id Run id.
 * @returns HTML.
 * @example
 * ```ts
 * import { liveLinkHtml } from "./live.ts";
 * if (!String(liveLinkHtml("r1")).includes(`href="/runs/r1/live"`)) throw new Error();
 * ```
 */
export function liveLinkHtml(id: string): Html {
  return markup`<section class="card"><h2>Live</h2><p class="lead">Run the model and a dictionary in this browser on
your own text, and steer a feature: <a href="${liveHref(id)}">features on your own text →</a></p></section>`;
}

/** Text shown when the URL gives none. */
export const LIVE_DEFAULT_TEXT = "The state of the Union is strong, and the Congress will act on it this year.";

/** The model files the live page reads, with their types. */
const MODEL_FILES: Record<string, string> = {
  "config.json": "application/json",
  "tokenizer.json": "application/json",
  "model.safetensors": "application/octet-stream",
};

/** The files of a dictionary folder the live page reads. */
const DICT_FILES: Record<string, string> = {
  [RUN_FILES.cfg]: "application/json",
  "sae_weights.safetensors": "application/octet-stream",
};

/** Run files may be rewritten (a resumed run): the URLs carry a version, and the browser revalidates after a day. */
const FILE_CACHE = "public, max-age=86400";

const notFound = (what: string): never => {
  throw new HTTPException(404, { message: `${what} not found` });
};

/** Options of {@linkcode mountLive}. */
export interface LiveOptions {
  /** The runs folder. */
  runsDir: string;
  /** How the app maps refused paths to a 404. */
  guarded: <T>(read: () => Promise<T>) => Promise<T>;
}

/**
 * Add the live page, its script and the files it reads to the app.
 *
 * @param app The app.
 * @param options The runs folder and the app's path guard.
 * @example
 * ```ts ignore
 * mountLive(app, { runsDir, guarded });
 * ```
 */
export function mountLive(app: Hono, options: LiveOptions): void {
  const { runsDir, guarded } = options;

  // The run's record and its model folder, or a 404 saying which is missing.
  const withModel = async (id: string): Promise<{ run: RunJson; dir: string }> => {
    const r = (await guarded(() => readRun(runsDir, id))) ?? notFound(`Run ${id}`);
    if (r.readable !== "ok" || !r.run) {
      throw new HTTPException(404, { message: `run.json of run ${id} is unreadable` });
    }
    return { run: r.run, dir: r.run.model.path ?? notFound(`The model folder of run ${id}`) };
  };
  const dictEntry = async (id: string, dict: string): Promise<DictEntry> =>
    (await guarded(() => listDicts(runsDir, id))).find((d) => d.name === dict && d.cfg.status === "ok") ??
      notFound(`Dictionary ${dict} of run ${id}`);
  // The URL of a file with its version (size and modification time), or a 404 naming the URL.
  const fileUrl = async (path: string | null, url: string): Promise<LiveFile> => {
    const info = path ? await Deno.stat(path).catch(() => null) : null;
    if (!info?.isFile) return notFound(`File ${url}`);
    const v = `${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}`;
    return { url: `${url}?v=${v}`, size: info.size };
  };
  const live = (id: string) => `/live/runs/${encodeURIComponent(id)}`;

  // What the page is told: from the run, its files and the query.
  const liveConfig = async (c: Context): Promise<LiveConfig> => {
    const id = nameParam(c.req.param("id"), "run id");
    const { run, dir } = await withModel(id);
    const dicts = (await guarded(() => listDicts(runsDir, id))).filter((d) => d.cfg.status === "ok");
    if (dicts.length === 0) notFound(`Dictionaries of run ${id}`);
    const chosen = c.req.query("dict") ?? dicts[0].name;
    if (!dicts.some((d) => d.name === chosen)) notFound(`Dictionary ${chosen} of run ${id}`);
    const featureText = c.req.query("feature");
    const feature = featureText === undefined || featureText === "" ? null : indexParam(featureText);
    const modelFile = (name: string) => guarded(() => resolveInside(dir, [name]));
    const model = {
      name: run.model.name,
      config: (await fileUrl(await modelFile("config.json"), `${live(id)}/model/config.json`)).url,
      tokenizer: (await fileUrl(await modelFile("tokenizer.json"), `${live(id)}/model/tokenizer.json`)).url,
      weights: await fileUrl(await modelFile("model.safetensors"), `${live(id)}/model/model.safetensors`),
    };
    const entries: LiveDict[] = [];
    for (const d of dicts) {
      const folder = d.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines;
      const at = (name: string) => guarded(() => resolveInside(runsDir, [id, folder, d.name, name]));
      const base = `${live(id)}/dicts/${encodeURIComponent(d.name)}`;
      entries.push({
        name: d.name,
        kind: d.kind,
        cfg: (await fileUrl(await at(RUN_FILES.cfg), `${base}/${RUN_FILES.cfg}`)).url,
        weights: await fileUrl(await at("sae_weights.safetensors"), `${base}/sae_weights.safetensors`),
        size: d.cfg.status === "ok" ? d.cfg.value.d_sae : 0,
        features: `${dictHref(id, d.name)}/features/`,
      });
    }
    return {
      run: id,
      hook: run.hook,
      model,
      dicts: entries,
      dict: chosen,
      text: c.req.query("text") ?? LIVE_DEFAULT_TEXT,
      feature,
      separator: "<|endoftext|>",
      topK: 5,
    };
  };

  app.get("/runs/:id/live", async (c) => {
    const config = await liveConfig(c);
    const bundle = await liveBundle();
    return c.html(livePage(config, { script: `/live/${bundle.name}` }));
  });
  app.get("/api/runs/:id/live", async (c) => c.json(await liveConfig(c)));

  app.get("/live/runs/:id/model/:file", async (c) => {
    const id = nameParam(c.req.param("id"), "run id");
    const name = c.req.param("file");
    const type = MODEL_FILES[name] ?? notFound(`Model file ${name}`);
    const { dir } = await withModel(id);
    return await serve(c, await guarded(() => resolveInside(dir, [name])), type);
  });

  app.get("/live/runs/:id/dicts/:dict/:file", async (c) => {
    const id = nameParam(c.req.param("id"), "run id");
    const dict = nameParam(c.req.param("dict"), "dictionary name");
    const name = c.req.param("file");
    const type = DICT_FILES[name] ?? notFound(`Dictionary file ${name}`);
    const d = await dictEntry(id, dict);
    const folder = d.kind === "sae" ? RUN_FILES.saes : RUN_FILES.baselines;
    return await serve(c, await guarded(() => resolveInside(runsDir, [id, folder, dict, name])), type);
  });

  app.get("/live/:name", async (c) => {
    const bundle = await liveBundle();
    if (c.req.param("name") !== bundle.name) notFound("Script");
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(bundle.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });
}

async function serve(c: Context, path: string | null, type: string): Promise<Response> {
  const res = path ? await fileResponse(c.req.raw, path, { type, cacheControl: FILE_CACHE }) : null;
  return res ?? notFound(`File ${c.req.path}`);
}

/**
 * The live page: a form (dictionary, text), the status line, the token strip, the table of each
 * token's strongest features, the page's configuration as JSON and its script.
 *
 * @param config What the script is told.
 * @param options `script`: the URL of the bundle.
 * @returns The page.
 * @example
 * ```ts ignore
 * const html = await livePage(config, { script: "/live/live.0123456789abcdef.js" });
 * ```
 */
export function livePage(config: LiveConfig, options: { script: string }): Html {
  const options_ = config.dicts.map((d) =>
    markup`<option value="${d.name}"${d.name === config.dict ? raw(" selected") : ""}>${d.name} (${d.kind}, ${
      String(d.size)
    } features)</option>`
  );
  const body = markup`<section class="card live">
<h1>Live: features on your own text</h1>
<p class="lead">The run's model (<code>${config.model.name}</code>) and a dictionary run in this page on WebGPU:
your text is tokenised here, run to <code>${config.hook}</code> and encoded; each token lists its strongest features.
Choose <em>show</em> beside a feature to shade every token by its activation.${
    config.separator ? markup` As in the run's harvest, <code>${config.separator}</code> is put before the text.` : ""
  }</p>
<form id="live-form" class="live-form">
  <label>Dictionary <select id="live-dict" name="dict">${options_}</select></label>
  <label class="live-text">Text <textarea id="live-text" name="text" rows="3">${config.text}</textarea></label>
  <button type="submit">Show features</button>
</form>
<p id="live-status" class="muted" role="status">Loading the page's script…</p>
<div id="live-tokens" class="live-tokens frag"></div>
<p id="live-chosen" class="muted"></p>
</section>
<section class="card"><h2>Strongest features per token</h2>
<div class="table-wrap"><table class="data live">
<thead><tr><th class="num">#</th><th>token</th><th>strongest features (activation)</th></tr></thead>
<tbody id="live-rows"></tbody></table></div></section>
<section class="card"><h2>Steering</h2>
<p class="lead">The model continues the prompt twice, greedily: as it is, and with the hook's activation edited at
every position of every step: <em>add</em> <code>x ← x + s·d_j</code> (d_j the feature's unit decoder row), or
<em>clamp</em> <code>x ← x + (v − f_j(x))·d_j</code>. The feature's mean activation on the generated tokens is shown
under each.</p>
<form id="steer-form" class="live-form" hidden>
  <label class="live-text">Prompt <input id="steer-prompt" name="prompt" value="${config.text}"></label>
  <label>Feature <input id="steer-feature" name="feature" type="number" min="0" value="${
    String(config.feature ?? 0)
  }"></label>
  <label>Edit <select id="steer-mode" name="mode"><option value="add">add s·d_j</option>
    <option value="clamp">clamp f_j to v</option></select></label>
  <label>s or v <input id="steer-amount" name="amount" type="number" step="any" value="8"></label>
  <label>Tokens <input id="steer-tokens" name="tokens" type="number" min="1" max="64" value="16"></label>
  <button type="submit">Steer</button>
</form>
<p id="steer-status" class="muted" role="status">The panel opens once the model is loaded.</p>
<div class="steer-pair">
  <div><h3>Unsteered</h3><p id="steer-unsteered" class="frag"></p><p id="steer-unsteered-mean" class="muted"></p></div>
  <div><h3>Steered</h3><p id="steer-steered" class="frag"></p><p id="steer-steered-mean" class="muted"></p></div>
</div></section>
<script type="application/json" id="live-config">${raw(scriptJson(config))}</script>
<script type="module" src="${options.script}"></script>`;
  return pageHtml(body, {
    title: `${config.run} · live`,
    crumbs: [["runs", "/"], [config.run, runHref(config.run)], ["live"]],
  });
}
