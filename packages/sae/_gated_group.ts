/**
 * What a group of Gated members (`kinds/gated.ts`) adds to a training step of {@linkcode MemberGroup}
 * (`_group.ts`), every dispatch batched over the members:
 * ```
 * S   C, Cᵀ = [π > 0]·ReLU(exp(r)(π − b_gate) + b_mag),  Cg, Cgᵀ = ReLU(π)     from the raw encoder output π
 * D'  G' = 2/(B·d) · (Cg D̂ − X)                                           the auxiliary reconstruction
 * P   ∂π = (G' D̂ᵀ + α/B) ⊙ [π > 0],  ∂m = (G D̂ᵀ) ⊙ [C > 0]                (`sae_code_grad`, twice)
 *     ∂P = ∂π + exp(r)·∂m,  ∂r, ∂b_mag, ∂b_gate per feature                  (`sae_gated_grad`)
 * W   ∂W_ext = ∂Pᵀ X_e over the rows where a gate opened; then ∂b_gate into its bias column
 * ```
 * The decoder-gradient matmul reads only `C` and `G`: the auxiliary term's decoder is a stop-gradient copy.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import {
  allocKList,
  buildKList,
  codeGradSparse,
  createMatrix,
  gatedBiasGrad,
  gatedGrad,
  gatedSelect,
  type GatedSizes,
  type KList,
  type MatrixOperand,
  type OperandMode,
  type TileConfig,
  tileMatmul,
} from "@saelab/kernels";
import type { GroupLayout } from "./_layout.ts";

/** The operands and buffers of a group's Gated steps. */
export class GatedSteps {
  #gpu: Gpu;
  #layout: GroupLayout;
  #tile: TileConfig;
  /** Gate codes `ReLU(π)`, transposed, and the auxiliary scaled error `G'`. */
  #gc: MatrixOperand;
  #gct: MatrixOperand;
  #g2: MatrixOperand;
  /** Features with an open gate per row tile (for D' and ∂π). */
  #list: KList;
  /** `∂m [Z][B, n]`, `∂b_gate [Z·n]`, and zero α for the magnitude gradient. */
  #dm: Tensor<"f32">;
  #gsum: Tensor<"f32">;
  #zero: Tensor<"f32">;

  /**
   * @param gpu The context.
   * @param options The group's layout, largest batch, operand mode, tile of the decoder stage and label.
   */
  constructor(
    gpu: Gpu,
    options: { layout: GroupLayout; batch: number; mode: OperandMode; tile: TileConfig; tag: string },
  ) {
    const { layout, batch, mode, tag } = options;
    const { d, n, members: Z } = layout;
    this.#gpu = gpu;
    this.#layout = layout;
    this.#tile = options.tile;
    const matrix = (rows: number, cols: number, name: string) =>
      createMatrix(gpu, mode, { shape: [Z, rows, cols], label: `${tag}.${name}` });
    this.#gc = matrix(batch, n, "gate_codes");
    this.#gct = matrix(n, batch, "gate_codes_t");
    this.#g2 = matrix(batch, d, "aux_error");
    this.#list = allocKList(gpu, { k: n, m: batch, members: Z, tm: this.#tile.tm }, `${tag}.klist_gates`);
    this.#dm = gpu.zeros([Z * batch * n], "f32", `${tag}.grad_magnitude`);
    this.#gsum = gpu.zeros([Z * n], "f32", `${tag}.grad_gate_bias`);
    this.#zero = gpu.zeros([Z], "f32", `${tag}.zero_alphas`);
  }

  /** The gate codes `ReLU(π) [B, n]` of the last forward pass (the W matmul's k-list comes from them). */
  get gateCodes(): MatrixOperand {
    return this.#gc;
  }

  #sizes(rows: number): GatedSizes {
    const { d, n, members, enc, encStride, features, featureStride } = this.#layout;
    const at = { bias: enc + d, biasStride: encStride, biasStep: d + 4, rMag: features, bMag: features + n };
    return { rows, n, members, at: { ...at, stride: featureStride } };
  }

  /**
   * Record the codes from the raw gate pre-activations, and in training the auxiliary reconstruction's error.
   *
   * @param inputs `p` (`π`), the packed `params`, the normalised decoder `dh` and the staged input `xe`.
   * @param out Codes `c`, `ct`, fired marks, the step, the rows and whether it is a training step.
   */
  forward(
    inputs: { p: MatrixOperand; params: Tensor<"f32">; dh: MatrixOperand; xe: MatrixOperand },
    out: { c: MatrixOperand; ct: MatrixOperand; fired: Tensor<"u32">; step: number; rows: number; training?: boolean },
  ): void {
    const gpu = this.#gpu, { d, n, members } = this.#layout, { rows } = out;
    gatedSelect(gpu, { p: inputs.p, params: inputs.params }, {
      ...out,
      gc: this.#gc,
      gct: this.#gct,
      ...this.#sizes(rows),
    });
    if (!out.training) return;
    buildKList(gpu, this.#gct, { list: this.#list, k: n, m: rows, members });
    tileMatmul(gpu, "decode", {
      a: this.#gct,
      b: inputs.dh,
      m: rows,
      n: d,
      k: n,
      members,
      outputs: [inputs.xe, this.#g2],
      scale: 2 / (rows * d),
      list: this.#list,
      tile: this.#tile,
    });
  }

  /**
   * Record `∂P` into `dp` (zeroed by the caller) and `∂r_mag`, `∂b_mag` into `grads`.
   *
   * @param inputs The main error `g`, `dh`, the codes `c` and their k-list, α per member, the packed `params`.
   * @param out `dp` (`[Z][B, n]`, zeros), `grads`, the rows.
   */
  backward(
    inputs: {
      g: MatrixOperand;
      dh: MatrixOperand;
      c: MatrixOperand;
      list: KList;
      alphas: Tensor<"f32">;
      params: Tensor<"f32">;
    },
    out: { dp: Tensor<"f32">; grads: Tensor<"f32">; rows: number },
  ): void {
    const gpu = this.#gpu, { d, n, members } = this.#layout, { rows } = out;
    const sizes = { rows, n, d, members };
    codeGradSparse(gpu, { g: this.#g2, dh: inputs.dh, c: this.#gc, list: this.#list, alphas: inputs.alphas }, {
      dp: out.dp,
      ...sizes,
    });
    gpu.encoder().clearBuffer(this.#dm.buffer, 0, members * rows * n * 4);
    codeGradSparse(gpu, { g: inputs.g, dh: inputs.dh, c: inputs.c, list: inputs.list, alphas: this.#zero }, {
      dp: this.#dm,
      ...sizes,
    });
    gatedGrad(gpu, { dpg: out.dp, dpm: this.#dm, c: inputs.c, params: inputs.params }, {
      grads: out.grads,
      gsum: this.#gsum,
      ...this.#sizes(rows),
    });
  }

  /** Record `∂b_gate` into the bias column of the encoder gradient (after the encoder-gradient matmul). */
  biasGrad(grads: Tensor<"f32">, rows: number): void {
    gatedBiasGrad(this.#gpu, this.#gsum, { grads, ...this.#sizes(rows) });
  }

  /** Free every buffer and operand. */
  dispose(): void {
    for (const t of [this.#gc, this.#gct, this.#g2]) t.destroy();
    for (const b of [this.#dm, this.#gsum, this.#zero, this.#list.indices, this.#list.counts]) b.dispose();
  }
}
