/// <reference lib="dom" />
/**
 * The live page's steering panel: a prompt, a feature, an edit (add `s·d_j`, or clamp `f_j` to `v`)
 * and a length; `@saelab/causal/steer` continues the prompt on the page's WebGPU with and without
 * the edit, and both continuations are shown side by side with the feature's mean activation on
 * their tokens.
 *
 * For tests: `#steer-unsteered` and `#steer-steered` carry `data-tokens` (the generated ids as JSON)
 * and `data-mean-activation`; `document.body.dataset.steer` is `"busy"`, then `"ready"` or `"error"`.
 *
 * @module
 */
import { steer } from "@saelab/causal/steer";
import type { GpuLinearDictionary } from "@saelab/dictionary/portable";
import type { NeoxModel } from "@saelab/neox/portable";
import type { Tokenizer } from "@saelab/tokenizer";

/** What the panel needs from the page. */
export interface SteerPanelContext {
  /** The model. */
  model: NeoxModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The hook the dictionaries read. */
  hook: string;
  /** Token ids put before the prompt (the run's separator). */
  prefix: readonly number[];
  /** The dictionary chosen on the page. */
  dictionary: () => Promise<GpuLinearDictionary>;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function show(el: HTMLElement, tokenizer: Tokenizer, tokens: number[], mean: number): void {
  el.replaceChildren(...tokens.map((id) => {
    const s = document.createElement("span");
    s.className = "tok";
    s.textContent = tokenizer.tokenText(id);
    return s;
  }));
  el.dataset.tokens = JSON.stringify(tokens);
  el.dataset.meanActivation = String(mean);
}

/**
 * Wire the panel's form to the model.
 *
 * @param ctx The model, tokenizer, hook, prefix and the chosen dictionary.
 * @example
 * ```ts ignore
 * mountSteerPanel({ model, tokenizer, hook, prefix: [0], dictionary: () => current() });
 * ```
 */
export function mountSteerPanel(ctx: SteerPanelContext): void {
  const form = $<HTMLFormElement>("steer-form");
  const status = $<HTMLParagraphElement>("steer-status");
  const set = (state: "busy" | "ready" | "error", message: string) => {
    document.body.dataset.steer = state;
    status.textContent = message;
    status.classList.toggle("error", state === "error");
  };
  form.hidden = false;
  set("ready", "Choose a feature and an edit, then Steer.");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = (id: string) => Number(($(id) as HTMLInputElement).value);
    const feature = value("steer-feature");
    const mode = ($("steer-mode") as HTMLSelectElement).value;
    const amount = value("steer-amount");
    const tokens = value("steer-tokens");
    const prompt = [...ctx.prefix, ...ctx.tokenizer.encode(($("steer-prompt") as HTMLInputElement).value)];
    set("busy", "Generating both continuations…");
    (async () => {
      const dict = await ctx.dictionary();
      const r = await steer(ctx.model, dict, {
        prompt: prompt.slice(-ctx.model.config.maxPositions),
        hook: ctx.hook,
        feature,
        ...(mode === "clamp" ? { clamp: amount } : { strength: amount }),
        maxNewTokens: tokens,
      });
      show($("steer-unsteered"), ctx.tokenizer, r.unsteered.tokens, r.unsteered.meanActivation);
      show($("steer-steered"), ctx.tokenizer, r.steered.tokens, r.steered.meanActivation);
      $("steer-unsteered-mean").textContent = `feature ${feature}: mean ${r.unsteered.meanActivation.toFixed(3)}`;
      $("steer-steered-mean").textContent = `feature ${feature}: mean ${r.steered.meanActivation.toFixed(3)}`;
      const edit = mode === "clamp" ? `clamped to ${amount}` : `${amount}·d_${feature} added`;
      set("ready", `${tokens} tokens each, greedy; steered: ${edit} at ${ctx.hook} on every position.`);
    })().catch((error) => {
      console.error(error);
      set("error", `Cannot steer: ${(error as Error)?.message ?? error}`);
    });
  });
}
