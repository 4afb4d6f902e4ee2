import assert from "node:assert/strict";
import { join } from "node:path";
import { seededRandom } from "@saelab/core";
import { writeSafetensors } from "@saelab/safetensors";
import { loadDictionary } from "./mod.ts";

// SAELens' TopK with rescale_acts_by_decoder_norm, and the legacy scaling_factor, computed as SAELens computes them
// (no folding), in float64; the loader folds both into the weights and must give the same codes and reconstructions.
const random = seededRandom(23);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * s);
const D = 6, F = 10, ROWS = 9, K = 3;
const W_ENC = rand(D * F), B_ENC = rand(F, 0.3), B_DEC = rand(D, 0.5), X = rand(ROWS * D, 2);
// decoder rows of very different norms, so an unfolded norm would change which codes TopK keeps
const W_DEC = Float32Array.from({ length: F * D }, (_, i) => (random() * 2 - 1) * 0.05 * 2 ** Math.floor(i / D));
const SCALE = Float32Array.from({ length: F }, () => 0.5 + random() * 2);

function rowNorm(j: number): number {
  let s = 0;
  for (let i = 0; i < D; i++) s += W_DEC[j * D + i] ** 2;
  return Math.sqrt(s);
}

/** SAELens' encode → decode of one architecture, float64: codes `[ROWS, F]` and reconstructions `[ROWS, D]`. */
function saeLens(options: { topk: boolean; rescale: boolean; scale?: Float32Array }) {
  const codes = new Float64Array(ROWS * F), out = new Float64Array(ROWS * D);
  for (let r = 0; r < ROWS; r++) {
    const pre = new Float64Array(F);
    for (let j = 0; j < F; j++) {
      let s = B_ENC[j];
      for (let i = 0; i < D; i++) s += (X[r * D + i] - B_DEC[i]) * W_ENC[i * F + j];
      pre[j] = options.rescale ? s * rowNorm(j) : s;
    }
    const kept = options.topk ? [...pre.keys()].sort((a, b) => pre[b] - pre[a]).slice(0, K) : [...pre.keys()];
    for (const j of kept) codes[r * F + j] = Math.max(pre[j], 0);
    for (let i = 0; i < D; i++) {
      let s = B_DEC[i];
      for (let j = 0; j < F; j++) {
        const c = codes[r * F + j] / (options.rescale ? rowNorm(j) : 1) * (options.scale?.[j] ?? 1);
        s += c * W_DEC[j * D + i];
      }
      out[r * D + i] = s;
    }
  }
  return { codes, out };
}

async function folder(cfg: Record<string, unknown>, extra: Record<string, Float32Array> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "saelens-fold-" });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
    W_enc: { shape: [D, F], data: W_ENC },
    b_enc: { shape: [F], data: B_ENC },
    W_dec: { shape: [F, D], data: W_DEC },
    b_dec: { shape: [D], data: B_DEC },
  };
  for (const [k, v] of Object.entries(extra)) tensors[k] = { shape: [v.length], data: v };
  await writeSafetensors(
    join(dir, "sae_weights.safetensors"),
    Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: "F32" as const, ...t }])),
  );
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ d_in: D, d_sae: F, ...cfg }));
  return dir;
}

function close(got: Float32Array, want: Float64Array, what: string) {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 + 1e-5 * Math.abs(want[i]);
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

async function check(cfg: Record<string, unknown>, want: ReturnType<typeof saeLens>, extra = {}) {
  const dir = await folder(cfg, extra);
  try {
    const dict = await loadDictionary(dir);
    const codes = dict.encodeHost(X);
    close(codes, want.codes, "codes");
    close(dict.decodeHost(codes), want.out, "reconstruction");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("topk with rescale_acts_by_decoder_norm: SAELens v6's codes and reconstructions, folded at load", async () => {
  const rescaled = saeLens({ topk: true, rescale: true });
  // the case must tell the two apart: rescaling changes which features TopK keeps
  const plain = saeLens({ topk: true, rescale: false });
  assert.ok(rescaled.codes.some((c, i) => (c > 0) !== (plain.codes[i] > 0)), "the norms change the selection");
  await check({ architecture: "topk", k: K, rescale_acts_by_decoder_norm: true }, rescaled);
  await check({ architecture: "topk", k: K, rescale_acts_by_decoder_norm: false }, plain);
});

Deno.test("rescale_acts_by_decoder_norm: refused on a zero decoder row and on other architectures", async () => {
  const zero = W_DEC.slice();
  zero.fill(0, 2 * D, 3 * D);
  const dir = await folder({ architecture: "topk", k: K, rescale_acts_by_decoder_norm: true });
  try {
    await writeSafetensors(join(dir, "sae_weights.safetensors"), {
      W_enc: { dtype: "F32", shape: [D, F], data: W_ENC },
      b_enc: { dtype: "F32", shape: [F], data: B_ENC },
      W_dec: { dtype: "F32", shape: [F, D], data: zero },
      b_dec: { dtype: "F32", shape: [D], data: B_DEC },
    });
    await assert.rejects(() => loadDictionary(dir), /W_dec row 2 is zero, so rescale_acts_by_decoder_norm/);
    await Deno.writeTextFile(
      join(dir, "cfg.json"),
      JSON.stringify({ d_in: D, d_sae: F, architecture: "standard", rescale_acts_by_decoder_norm: true }),
    );
    await assert.rejects(
      () => loadDictionary(dir),
      /rescale_acts_by_decoder_norm true is not supported for architecture "standard" \(SAELens v6 defines it for topk/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a legacy scaling_factor multiplies the codes before decoding; all ones is dropped", async () => {
  const scaled = saeLens({ topk: false, rescale: false, scale: SCALE });
  const { codes, out } = saeLens({ topk: false, rescale: false });
  assert.ok(scaled.out.some((v, i) => Math.abs(v - out[i]) > 1e-2), "the factor changes the reconstruction");
  await check({ architecture: "standard" }, scaled, { scaling_factor: SCALE });
  await check({ architecture: "standard" }, scaled, { finetuning_scaling_factor: SCALE });
  await check({ architecture: "standard" }, { codes, out }, { scaling_factor: new Float32Array(F).fill(1) });
});
