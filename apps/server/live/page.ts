/// <reference lib="dom" />
/**
 * The live page's script (bundled for browsers by `deno task bundle:live`): loads the run's model
 * and a dictionary into the page's WebGPU, tokenises the text in the page, and draws every
 * token's strongest features; choosing a feature shades every token by its activation.
 *
 * For tests: the token strip is made of `[data-token-index]` elements carrying `data-top-feature`
 * and `data-activation` (and `data-chosen-activation` once a feature is chosen), and
 * `document.body.dataset.state` is `"loading"`, then `"ready"` once activations are drawn, or
 * `"error"` with the message shown; `data-load-ms` holds the time from navigation to the first drawing, and
 * `data-script-ms`, `data-model-ms`, `data-dict-ms`, `data-first-ms` its parts (until the script ran, the model and
 * the dictionary loaded, the first text computed and drawn).
 *
 * @module
 */
import { createGpu, type Gpu } from "@saelab/gpu";
import type { GpuLinearDictionary } from "@saelab/dictionary/portable";
import type { NeoxModel } from "@saelab/neox/portable";
import type { Tokenizer } from "@saelab/tokenizer";
import type { LiveConfig } from "./config.ts";
import { strongestFeatures, type TextFeatures, textFeatures } from "./compute.ts";
import { loadLiveDict, loadLiveModel } from "./load.ts";
import { mountSteerPanel } from "./steer_panel.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const config = JSON.parse($("live-config").textContent ?? "{}") as LiveConfig;
const status = $<HTMLParagraphElement>("live-status");
const strip = $<HTMLDivElement>("live-tokens");
const table = $<HTMLTableSectionElement>("live-rows");
const chosen = $<HTMLParagraphElement>("live-chosen");
const form = $<HTMLFormElement>("live-form");
const textBox = $<HTMLTextAreaElement>("live-text");
const dictBox = $<HTMLSelectElement>("live-dict");

function setState(state: "loading" | "busy" | "ready" | "error", message: string): void {
  document.body.dataset.state = state;
  status.textContent = message;
  status.classList.toggle("error", state === "error");
}

/** Shade level 0 … 10 of a value against the largest on the strip, as the feature pages shade fragments. */
const level = (value: number, max: number) => (max > 0 && value > 0 ? Math.max(1, Math.round((10 * value) / max)) : 0);

interface State {
  gpu: Gpu;
  model: NeoxModel;
  tokenizer: Tokenizer;
  dicts: Map<string, GpuLinearDictionary>;
  ids: number[];
  features: TextFeatures | null;
  dict: string;
  feature: number | null;
}

function prefix(s: State): number[] {
  const sep = config.separator === null ? undefined : s.tokenizer.tokenToId(config.separator);
  return sep === undefined ? [] : [sep];
}

function tokenIds(s: State, text: string): { ids: number[]; cut: boolean } {
  const ids = [...prefix(s), ...s.tokenizer.encode(text)];
  const max = s.model.config.maxPositions;
  return { ids: ids.slice(0, max), cut: ids.length > max };
}

async function dictionary(s: State, name: string): Promise<GpuLinearDictionary> {
  const have = s.dicts.get(name);
  if (have) return have;
  const entry = config.dicts.find((d) => d.name === name);
  if (!entry) throw new Error(`The run has no dictionary ${name}`);
  const bound = (await loadLiveDict(entry)).bind(s.gpu);
  s.dicts.set(name, bound);
  return bound;
}

function featureLink(s: State, index: number, value: number): HTMLElement {
  const item = document.createElement("span");
  item.className = "live-feature";
  const a = document.createElement("a");
  a.href = `${config.dicts.find((d) => d.name === s.dict)!.features}${index}`;
  a.textContent = `#${index}`;
  const v = document.createElement("span");
  v.className = "num";
  v.textContent = value.toFixed(3);
  const pick = document.createElement("button");
  pick.type = "button";
  pick.className = "live-pick";
  pick.dataset.feature = String(index);
  pick.textContent = "show";
  pick.title = `Shade every token by feature ${index}`;
  pick.addEventListener("click", () => choose(s, index));
  item.append(a, " ", v, " ", pick);
  return item;
}

function draw(s: State): void {
  const f = s.features!;
  const top = strongestFeatures(f, config.topK);
  const best = top.map((row) => row[0]?.value ?? 0);
  const max = Math.max(0, ...best);
  strip.replaceChildren();
  table.replaceChildren();
  s.ids.forEach((id, t) => {
    const tok = document.createElement("span");
    const first = top[t][0];
    tok.className = `tok a${level(first?.value ?? 0, max)}`;
    tok.textContent = s.tokenizer.tokenText(id);
    tok.dataset.tokenIndex = String(t);
    tok.dataset.topFeature = first ? String(first.index) : "";
    tok.dataset.activation = String(first?.value ?? 0);
    tok.dataset.act = (first?.value ?? 0).toFixed(3);
    tok.title = first ? `feature #${first.index}: ${first.value.toFixed(3)}` : "no feature active";
    strip.append(tok);

    const row = document.createElement("tr");
    const cell = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = s.tokenizer.tokenText(id);
    cell.append(code);
    const feats = document.createElement("td");
    if (top[t].length === 0) feats.textContent = "no feature active";
    for (const { index, value } of top[t]) feats.append(featureLink(s, index, value));
    const num = document.createElement("td");
    num.className = "num";
    num.textContent = String(t);
    row.append(num, cell, feats);
    table.append(row);
  });
  if (s.feature !== null) choose(s, s.feature);
}

function choose(s: State, index: number): void {
  const f = s.features!;
  if (index >= f.dDict) return;
  s.feature = index;
  const steerFeature = document.getElementById("steer-feature") as HTMLInputElement | null;
  if (steerFeature) steerFeature.value = String(index);
  const values = Array.from({ length: f.tokens }, (_, t) => f.values[t * f.dDict + index]);
  const max = Math.max(0, ...values);
  strip.querySelectorAll<HTMLElement>("[data-token-index]").forEach((el) => {
    const v = values[Number(el.dataset.tokenIndex)];
    el.className = `tok a${level(v, max)}`;
    el.dataset.chosenActivation = String(v);
    el.dataset.act = v.toFixed(3);
    el.title = `feature #${index}: ${v.toFixed(3)}`;
  });
  strip.dataset.chosenFeature = String(index);
  const link = document.createElement("a");
  link.href = `${config.dicts.find((d) => d.name === s.dict)!.features}${index}`;
  link.textContent = `#${index}`;
  const back = document.createElement("button");
  back.type = "button";
  back.textContent = "shade by each token's strongest feature";
  back.addEventListener("click", () => {
    s.feature = null;
    delete strip.dataset.chosenFeature;
    chosen.replaceChildren();
    draw(s);
  });
  chosen.replaceChildren("Shaded by feature ", link, ` (largest activation on this text ${max.toFixed(3)}) `, back);
}

async function analyse(s: State, text: string): Promise<void> {
  const dict = await dictionary(s, s.dict);
  const { ids, cut } = tokenIds(s, text);
  s.ids = ids;
  s.features = await textFeatures(s.model, dict, { ids, hook: config.hook });
  draw(s);
  const note = cut ? ` (cut to the model's context of ${s.model.config.maxPositions} tokens)` : "";
  setState("ready", `${ids.length} tokens${note}, dictionary ${s.dict} (${dict.dDict} features) at ${config.hook}.`);
}

async function start(): Promise<void> {
  setState("loading", "Loading the model into this page's WebGPU…");
  const t0 = performance.now();
  const gpu = await createGpu();
  const { model, tokenizer } = await loadLiveModel(gpu, config.model);
  const t1 = performance.now();
  const s: State = {
    gpu,
    model,
    tokenizer,
    dicts: new Map(),
    ids: [],
    features: null,
    dict: config.dict,
    feature: config.feature,
  };
  await dictionary(s, s.dict);
  const t2 = performance.now();
  await analyse(s, config.text);
  const t3 = performance.now();
  const ms = (t: number) => String(Math.round(t));
  Object.assign(document.body.dataset, {
    loadMs: ms(t3),
    scriptMs: ms(t0),
    modelMs: ms(t1 - t0),
    dictMs: ms(t2 - t1),
    firstMs: ms(t3 - t2),
  });
  mountSteerPanel({
    model,
    tokenizer,
    hook: config.hook,
    prefix: prefix(s),
    dictionary: () => dictionary(s, s.dict),
  });
  const rerun = () => {
    s.dict = dictBox.value;
    const url = new URL(location.href);
    url.searchParams.set("text", textBox.value);
    url.searchParams.set("dict", s.dict);
    if (s.feature === null) url.searchParams.delete("feature");
    else url.searchParams.set("feature", String(s.feature));
    history.replaceState(null, "", url);
    setState("busy", "Computing…");
    analyse(s, textBox.value).catch(fail);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    rerun();
  });
  dictBox.addEventListener("change", () => {
    s.feature = null;
    rerun();
  });
}

function fail(error: unknown): void {
  console.error(error);
  setState("error", `Cannot show live features: ${(error as Error)?.message ?? error}`);
}

start().catch(fail);
