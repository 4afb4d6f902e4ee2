import { createGpu } from "@saelab/gpu";
import { checkDictionary } from "@saelab/dictionary/dictionary_case";
import { fastIca, fitPca, icaDictionary, neuronDictionary, pcaDictionary, randomDictionary } from "./mod.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const D = 8, ROWS = 256;
// Rows with a few heavy-tailed sources mixed into D dimensions, plus an offset (seeded LCG).
let state = 12345;
const uniform = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const rows = new Float32Array(ROWS * D);
for (let r = 0; r < ROWS; r++) {
  for (let s = 0; s < 3; s++) {
    const source = Math.log(uniform() + 1e-9) * (uniform() < 0.5 ? -1 : 1);
    for (let i = 0; i < D; i++) rows[r * D + i] += source * Math.sin(1 + s * 7 + i * (s + 1));
  }
  for (let i = 0; i < D; i++) rows[r * D + i] += 0.1 * (uniform() - 0.5) + 0.5;
}
const pca = await fitPca(gpu, [rows], { d: D });
const ica = await fastIca(gpu, rows, { d: D, components: 3, seed: 1, maxIter: 200 });

const cases = {
  pca: () => pcaDictionary(pca),
  pca_topk: () => pcaDictionary(pca, { k: 3 }),
  ica: () => icaDictionary(ica),
  ica_topk: () => icaDictionary(ica, { k: 2 }),
  neurons: () => neuronDictionary(D),
  random: () => randomDictionary(D, { seed: 4, count: 16 }),
};

for (const [name, make] of Object.entries(cases)) {
  Deno.test(`baseline ${name} passes the dictionary conformance suite`, async () => {
    const dictionary = make();
    await checkDictionary(gpu, { dictionary, rows, cfg: { method: dictionary.kind } });
  });
}
