/**
 * What the live page is told by the server, as JSON in the page: where the run's model and
 * dictionaries are served, the hook, and the text to start with.
 *
 * @module
 */

/** A file the page reads by ranges. */
export interface LiveFile {
  /** URL on this server. */
  url: string;
  /** Size in bytes. */
  size: number;
}

/** One dictionary of the run. */
export interface LiveDict {
  /** Folder name (`saes/<name>` or `baselines/<name>`). */
  name: string;
  /** `"sae"` or `"baseline"`. */
  kind: "sae" | "baseline";
  /** URL of its `cfg.json`. */
  cfg: string;
  /** Its `sae_weights.safetensors`. */
  weights: LiveFile;
  /** Features it has (`d_sae`). */
  size: number;
  /** Feature pages: this prefix and the index. */
  features: string;
}

/** The page's configuration (`<script type="application/json" id="live-config">`). */
export interface LiveConfig {
  /** Run id. */
  run: string;
  /** TransformerLens hook the dictionaries read. */
  hook: string;
  /** The model: `config.json` and `tokenizer.json` URLs, the weights file. */
  model: { name: string; config: string; tokenizer: string; weights: LiveFile };
  /** The run's dictionaries. */
  dicts: LiveDict[];
  /** Dictionary chosen first. */
  dict: string;
  /** Text analysed first. */
  text: string;
  /** Feature chosen first (its activation is shown on every token), or null. */
  feature: number | null;
  /** Token put before the text, as the run's harvest puts it before every document, or null. */
  separator: string | null;
  /** Strongest features listed per token. */
  topK: number;
}
