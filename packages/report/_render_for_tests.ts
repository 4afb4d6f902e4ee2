/**
 * Test support: compile a vega-lite specification with vega-lite and run it in a headless vega
 * View, collecting compiler warnings and counting the rendered scene items per mark type.
 *
 * @module
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import type { VegaLiteSpec } from "./summary.ts";

/** What rendering produced. */
export interface Rendered {
  /** Warnings and errors the compiler and the view logged. */
  warnings: string[];
  /** Number of scene items per mark type (`symbol`, `rect`, `line`, `rule`, `text`, …), excluding axes and legends. */
  marks: Record<string, number>;
  /** The SVG text. */
  svg: string;
  /** Values of a named data set, when asked for. */
  data: (name: string) => Record<string, unknown>[];
}

type Scene = { marktype?: string; role?: string; items?: Scene[] };

// Charts sized to their container listen to the window's resize events; Deno has no `window`, so
// the global object (an EventTarget) stands in for it, as a browser page's window would.
(globalThis as { window?: unknown }).window ??= globalThis;

/** Compile and render headlessly. */
export async function render(spec: VegaLiteSpec): Promise<Rendered> {
  const warnings: string[] = [];
  const logger = {
    level(_?: number) {
      return logger;
    },
    error: (...a: unknown[]) => void warnings.push(a.map(String).join(" ")),
    warn: (...a: unknown[]) => void warnings.push(a.map(String).join(" ")),
    info: () => {},
    debug: () => {},
  };
  // deno-lint-ignore no-explicit-any
  const vg = compile(spec as any, { logger: logger as any }).spec;
  // deno-lint-ignore no-explicit-any
  const view = new vega.View(vega.parse(vg), { renderer: "none", logger: logger as any, logLevel: vega.Warn });
  await view.runAsync();
  const svg = await view.toSVG();
  const marks: Record<string, number> = {};
  const walk = (node: Scene, inGuide: boolean) => {
    const guide = inGuide || /axis|legend|title/.test(node.role ?? "");
    if (node.marktype && node.marktype !== "group" && !guide) {
      const n = node.marktype === "line" || node.marktype === "area"
        ? (node.items?.length ? 1 : 0)
        : node.items?.length ?? 0;
      marks[node.marktype] = (marks[node.marktype] ?? 0) + n;
    }
    for (const child of node.items ?? []) walk(child, guide);
  };
  walk((view.scenegraph() as unknown as { root: Scene }).root, false);
  const data = (name: string) => view.data(name) as Record<string, unknown>[];
  view.finalize();
  return { warnings, marks, svg, data };
}
