/**
 * The registry of SAE kinds: one file per kind, one line here per kind. The trainer, the float64
 * reference, the SAELens folders and the CLI's `--kinds` ask this registry instead of naming kinds.
 *
 * @module
 */
import { batchtopk } from "./batchtopk.ts";
import { gated } from "./gated.ts";
import type { SaeKindDef } from "./kind.ts";
import { tied } from "./tied.ts";
import { topk } from "./topk.ts";
import { untied } from "./untied.ts";

/** Every SAE kind, by name. */
export const KINDS = Object.freeze({ untied, tied, topk, batchtopk, gated });

/** Name of an SAE kind. */
export type SaeKind = keyof typeof KINDS;

/** Kind names, in registry order. */
export const KIND_NAMES: readonly SaeKind[] = Object.freeze(Object.keys(KINDS) as SaeKind[]);

/**
 * Look up a kind.
 *
 * @param name Kind name.
 * @returns Its definition.
 * @throws {RangeError} When no kind has that name.
 * @example
 * ```ts
 * import { saeKind } from "@saelab/sae";
 * if (!saeKind("tied").tied) throw new Error("tied kinds share one matrix");
 * ```
 */
export function saeKind(name: string): SaeKindDef {
  if (!Object.hasOwn(KINDS, name)) {
    throw new RangeError(`Unknown SAE kind ${JSON.stringify(name)}: expected one of ${KIND_NAMES.join(", ")}`);
  }
  return KINDS[name as SaeKind];
}

/**
 * Whether a string names a registered kind.
 *
 * @param name Candidate.
 * @returns True for a kind name.
 * @example
 * ```ts
 * import { isSaeKind } from "@saelab/sae";
 * if (!isSaeKind("untied") || isSaeKind("sparse")) throw new Error("registry");
 * ```
 */
export function isSaeKind(name: unknown): name is SaeKind {
  return typeof name === "string" && Object.hasOwn(KINDS, name);
}

/**
 * The kind a `cfg.json` describes: the one it names (`kind`, `saelab.kind`), else the first whose
 * SAELens fields match, else the kind its folder name starts with (`tied_r4_…`).
 *
 * @param cfg The parsed `cfg.json`.
 * @param name The folder name, as the last resort.
 * @returns The kind, or undefined when none fits.
 * @example
 * ```ts
 * import { kindOfCfg } from "@saelab/sae";
 * const k = kindOfCfg({ d_in: 4, d_sae: 8, architecture: "topk", activation_fn_kwargs: { k: 2 } });
 * if (k?.name !== "topk") throw new Error("topk");
 * ```
 */
export function kindOfCfg(cfg: Record<string, unknown>, name?: string): SaeKindDef | undefined {
  const byName = name?.split("_")[0];
  const own = cfg.kind ?? (cfg.saelab as { kind?: unknown } | undefined)?.kind;
  if (isSaeKind(own)) return KINDS[own];
  if (cfg.tied === undefined && cfg.architecture === undefined && isSaeKind(byName)) return KINDS[byName];
  return Object.values(KINDS).find((k: SaeKindDef) => k.saelens.matches(cfg));
}
