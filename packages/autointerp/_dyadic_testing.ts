/**
 * A test fixture the atlas and sampling tests share: dyadic inputs, weights and biases, so that every
 * pre-activation is exact in float32 and never exactly 0 and the GPU agrees bit for bit with the float64 CPU
 * reference. Every value comes from one seeded stream, in a fixed order: the rows' activations, their tokens, then
 * each dictionary and each `dyadic` call in the order the test makes them.
 *
 * @module
 */
import { seededRandom } from "@saelab/core";
import { LinearDictionary } from "@saelab/baselines";
import { buildFragments } from "./fragments.ts";

/**
 * Held-out rows of `docs` documents of `perDoc` positions, width 6, cut into fragments of 8 tokens.
 *
 * @param options Seed of the stream and positions per document.
 * @returns The sizes, the rows, their fragments, and makers of dyadic arrays and dictionaries.
 */
export function dyadicFixture(options: { seed: number; perDoc: number }) {
  const random = seededRandom(options.seed);
  const dyadic = (n: number, scale: number, offset = 0) =>
    Float32Array.from({ length: n }, () => (Math.floor(random() * 9) - 4) * scale + offset);
  const D = 6, L = 8, DOCS = 5, PER_DOC = options.perDoc;
  const n = DOCS * PER_DOC;
  const rows = {
    rows: n,
    d: D,
    x: dyadic(n * D, 1 / 8),
    doc: Int32Array.from({ length: n }, (_, i) => Math.floor(i / PER_DOC)),
    pos: Int32Array.from({ length: n }, (_, i) => i % PER_DOC),
    token: Int32Array.from({ length: n }, () => Math.floor(random() * 30)),
  };
  const set = buildFragments(rows, { length: L });
  const dict = (name: string, f: number, k = 0): LinearDictionary =>
    new LinearDictionary({
      name,
      kind: k ? "pca_topk" : "sae",
      dIn: D,
      dDict: f,
      encoder: dyadic(f * D, 1 / 8),
      encoderBias: dyadic(f, 1 / 16, -1 / 128),
      decoder: dyadic(f * D, 1 / 8),
      decoderBias: new Float32Array(D),
      k,
    });
  return { D, L, n, rows, set, dyadic, dict };
}
