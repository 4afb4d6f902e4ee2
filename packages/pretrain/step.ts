/**
 * One training pass of a parallel-residual GPT-NeoX on the GPU: the forward
 * pass (each block through the inference forward, `recordBlock` of
 * `@saelab/neox`, keeping what the backward pass needs), the next-token loss,
 * and the backward pass writing every parameter's gradient. Nothing waits on the GPU.
 *
 * Per block (rows `N = B·T`): `ln1 = LN₁(x)`, `qkv = rotary(ln1·Wqkvᵀ + b)`,
 * `z = attention(qkv)`, `a = z·Wdᵀ + b`, `ln2 = LN₂(x)`, `h = ln2·Wfcᵀ + b`,
 * `y = x + gelu(h)·Wprojᵀ + b + a`. The backward pass walks this in reverse;
 * a linear layer's gradients are `dW = dYᵀ·X`, `db = Σ_rows dY`, `dX = dY·W`.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import {
  attentionBackward,
  colSum,
  copy,
  crossEntropy,
  crossEntropyBackward,
  embedding,
  embeddingBackward,
  geluBackward,
  groupIds,
  layerNorm,
  layerNormBackward,
  matmul,
} from "@saelab/kernels";
import { applyRotary, blockWeights, type NeoxConfig, recordBlock, type SavedBlock } from "@saelab/neox";
import { checkTrainable, type Param } from "./params.ts";

/** Options of {@linkcode trainPass}. */
export interface PassOptions {
  /** Sequences. */
  batch: number;
  /** Tokens per sequence. */
  seq: number;
  /** Compute gradients (false: loss only). Default true. */
  backward?: boolean;
}

/**
 * Record a forward (and by default backward) pass over a batch of token windows. Each
 * position `t < T−1` predicts token `t+1`; the loss is the mean over those `B·(T−1)` predictions.
 *
 * @param gpu The GPU context.
 * @param config The configuration (parallel residual, attention biases, untied embeddings).
 * @param params The parameters; their `grad` tensors are overwritten when `backward` is on.
 * @param ids `[B·T]` token ids, row-major.
 * @param options `batch`, `seq`, `backward`.
 * @returns Per-position losses `[B·T]` (0 at each sequence's last position); the caller owns it.
 * @throws {RangeError} For ids that are not `batch` windows of `seq`, or a configuration the
 *   backward pass does not cover (sequential residual, no attention biases, tied embeddings).
 * @example
 * ```ts ignore
 * const losses = trainPass(gpu, config, params, ids, { batch: 8, seq: 128 });
 * const mean = (await losses.read()).reduce((a, b) => a + b) / (8 * 127);
 * ```
 */
export function trainPass(
  gpu: Gpu,
  config: NeoxConfig,
  params: Map<string, Param>,
  ids: Int32Array,
  options: PassOptions,
): Tensor<"f32"> {
  checkTrainable(config);
  const { batch: B, seq: T } = options;
  const N = B * T, D = config.hiddenSize, V = config.vocabSize, H = config.numHeads;
  if (ids.length !== N || T < 2) {
    throw new RangeError(`Cannot train: ${ids.length} ids are not ${B} windows of ${T} (≥ 2)`);
  }
  if (T > config.maxPositions) {
    throw new RangeError(`Cannot train: windows of ${T} exceed ${config.maxPositions} positions`);
  }
  const p = (name: string) => params.get(name)!;
  const live: Tensor[] = [];
  const own = <X extends Tensor>(t: X): X => (live.push(t), t);
  const targetsHost = new Int32Array(N).fill(-1);
  for (let b = 0; b < B; b++) targetsHost.set(ids.subarray(b * T + 1, (b + 1) * T), b * T);
  try {
    const tokens = own(gpu.upload(ids, [N], "pretrain.ids"));
    const targets = own(gpu.upload(targetsHost, [N], "pretrain.targets"));
    let x = own(embedding(gpu, tokens, p("gpt_neox.embed_in.weight").value)); // [N, D]
    const saved: SavedBlock[] = [];
    const scope = { own };
    for (let l = 0; l < config.numLayers; l++) {
      const weights = blockWeights(l, (name) => params.get(name)?.value);
      const run = { weights, layer: l, x: x.reshape([B, T, D]), hooks: undefined, scope, save: saved };
      x = recordBlock(gpu, config, run).reshape([N, D]);
    }
    const fw = p("gpt_neox.final_layer_norm.weight").value, fb = p("gpt_neox.final_layer_norm.bias").value;
    const xf = own(layerNorm(gpu, x, { weight: fw, bias: fb, eps: config.layerNormEps })); // [N, D]
    const out = p("embed_out.weight");
    const logits = own(matmul(gpu, xf, out.value, { transposeB: true })); // [N, V]
    const ceLse = own(gpu.empty([N], "f32", "pretrain.ce_lse"));
    const losses = crossEntropy(gpu, logits, targets, { lse: ceLse });
    if (options.backward === false) return losses;

    crossEntropyBackward(gpu, logits, targets, { lse: ceLse, scale: 1 / (B * (T - 1)), out: logits });
    matmul(gpu, logits, xf, { transposeA: true, out: out.grad });
    const dxf = own(matmul(gpu, logits, out.value)); // [N, D]
    let dx = own(gpu.empty([N, D], "f32", "pretrain.dx"));
    layerNormBackward(gpu, x, dxf, {
      weight: fw,
      eps: config.layerNormEps,
      dx,
      dweight: p("gpt_neox.final_layer_norm.weight").grad,
      dbias: p("gpt_neox.final_layer_norm.bias").grad,
    });
    for (let l = config.numLayers - 1; l >= 0; l--) {
      const s = saved[l];
      /** A saved `[B, T, W]` activation as `[N, W]` rows. */
      const rows = (t: Tensor<"f32">) => t.reshape([N, t.shape[2]]);
      const q = (name: string) => p(`gpt_neox.layers.${l}.${name}`);
      /** Gradients of `Y = A·Wᵀ + b` given dY: writes dW and db, returns dA. */
      const linearBack = (dy: Tensor<"f32">, a: Tensor<"f32">, name: string) => {
        const weight = q(`${name}.weight`), bias = q(`${name}.bias`);
        matmul(gpu, dy, a, { transposeA: true, out: weight.grad });
        colSum(gpu, dy, { out: bias.grad });
        return own(matmul(gpu, dy, weight.value));
      };
      const dg = linearBack(dx, rows(s.g), "mlp.dense_4h_to_h"); // [N, F]
      geluBackward(gpu, rows(s.h), dg, { out: dg });
      const dln2 = linearBack(dg, rows(s.ln2), "mlp.dense_h_to_4h"); // [N, D]
      const dz = linearBack(dx, rows(s.z), "attention.dense").reshape([B, T, D]);
      const dqkv = own(attentionBackward(gpu, s.qkv, dz, { heads: H, z: s.z, lse: s.lse })); // [B, T, 3D]
      applyRotary(gpu, config, dqkv, { inverse: true });
      const dln1 = linearBack(dqkv.reshape([N, 3 * D]), rows(s.ln1), "attention.query_key_value"); // [N, D]
      const dxIn = own(copy(gpu, dx));
      for (const [dln, norm] of [[dln2, "post_attention_layernorm"], [dln1, "input_layernorm"]] as const) {
        layerNormBackward(gpu, rows(s.x), dln, {
          weight: q(`${norm}.weight`).value,
          eps: config.layerNormEps,
          dx: dxIn,
          accumulate: true,
          dweight: q(`${norm}.weight`).grad,
          dbias: q(`${norm}.bias`).grad,
        });
      }
      dx = dxIn;
    }
    const groups = groupIds(ids, V);
    const order = own(gpu.upload(groups.order, [N], "pretrain.order"));
    const offsets = own(gpu.upload(groups.offsets, [V + 1], "pretrain.offsets"));
    embeddingBackward(gpu, dx, V, { order, offsets, out: p("gpt_neox.embed_in.weight").grad });
    return losses;
  } finally {
    for (const t of live) t.dispose();
  }
}
