/**
 * The parts of `@saelab/neox` that need no file system, for browsers and workers: the configuration
 * parser, the model and its forward pass with hooks, generation, and {@linkcode buildModel}, which
 * uploads weights from any source (e.g. a safetensors file read over HTTP through
 * `@saelab/safetensors/portable`) with the same name and shape checks as `loadModel`.
 *
 * ```ts ignore
 * import { buildModel, parseConfig, readerSource } from "@saelab/neox/portable";
 * import { openSafetensorsFrom } from "@saelab/safetensors/portable";
 * const config = parseConfig(await (await fetch("config.json")).json(), { file: "config.json" });
 * const file = await openSafetensorsFrom(source);
 * const model = await buildModel(gpu, config, readerSource(file, "model.safetensors"));
 * ```
 *
 * @module
 */
export { CONFIG_LIMITS, parseConfig } from "./config.ts";
export type { NeoxConfig, ParseConfigOptions } from "./config.ts";
export { BLOCK_HOOKS, hookNames, hookWidth } from "./hooks.ts";
export type { Hook, Hooks } from "./hooks.ts";
export { NeoxModel } from "./model.ts";
export type { ForwardOptions } from "./model.ts";
export { buildModel, readerSource } from "./_build.ts";
export type { LoadOptions, WeightSource } from "./_build.ts";
export { generate } from "./generate.ts";
export type { GenerateOptions } from "./generate.ts";
export { sampleToken } from "./sample.ts";
