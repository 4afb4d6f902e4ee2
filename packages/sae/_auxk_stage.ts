/**
 * The AuxK part of a member group's training step (Gao et al. 2024; `SaeSpec.auxK`), with its own
 * operands and k-lists. After the main code gradient (`∂P` written at the firing codes):
 * ```
 * A, Sᵀ, σ = auxk(P, C, fired)          aux codes of dead latents, Sᵀ = (A + C)ᵀ  (`@saelab/kernels` `sae_auxk.ts`)
 * G_aux = σ · 2α_aux/(B·d) · (S D̂ − X)  = ∂L_aux/∂ê, since ê − e = A D̂ − (X − C D̂)
 * ∂P   += (G_aux D̂ᵀ) ⊙ [A > 0]          dead latents did not fire: disjoint from the main codes
 * ∂D̂  += Aᵀ G_aux
 * ```
 * and the encoder-gradient matmul lists the rows of `∂P` itself, which is non-zero beyond `C`.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import {
  add,
  allocKList,
  auxkSelect,
  buildKList,
  codeGradSparse,
  createMatrix,
  type KList,
  type MatrixOperand,
  type OperandMode,
  scaleRows,
  type TileConfig,
  tileMatmul,
} from "@saelab/kernels";
import type { SaeSpec } from "./spec.ts";

/** What the AuxK stage reads of its group in a step. */
export interface AuxKInputs {
  /** Raw pre-activations `P`, codes `C` and normalised decoder rows `D̂` of the step. */
  p: MatrixOperand;
  c: MatrixOperand;
  dh: MatrixOperand;
  /** The staged `X_e [B, d + 4]` (shared). */
  xe: MatrixOperand;
  /** Last-fired steps `[Z·n]`, this step's firings marked. */
  fired: Tensor<"u32">;
}

/** AuxK's operands, lists and buffers for one group. */
export class AuxKStage {
  #gpu: Gpu;
  #spec: Required<SaeSpec>;
  #sizes: { d: number; n: number; members: number };
  #tiles: { rows: TileConfig; features: TileConfig };
  #ops: Record<"a" | "st" | "graw" | "g", MatrixOperand>;
  #sigma: Tensor<"f32">;
  #zeros: Tensor<"f32">;
  #lists: Record<"s" | "a" | "w", KList>;
  #gd: Tensor<"f32">;

  /**
   * @param gpu The context.
   * @param setup The group's shared spec (its AuxK settings), sizes, largest batch, operand mode,
   *   the tiles of its decode (rows) and gradient (features) matmuls, and a label prefix.
   */
  constructor(
    gpu: Gpu,
    setup: {
      spec: Required<SaeSpec>;
      sizes: { d: number; n: number; members: number; batch: number };
      mode: OperandMode;
      tiles: { rows: TileConfig; features: TileConfig };
      tag: string;
    },
  ) {
    const { spec, mode, tiles, tag } = setup, { d, n, members: Z, batch } = setup.sizes;
    this.#gpu = gpu;
    this.#spec = spec;
    this.#sizes = { d, n, members: Z };
    this.#tiles = tiles;
    const op = (name: string, rows: number, cols: number) =>
      createMatrix(gpu, mode, { shape: [Z, rows, cols], label: `${tag}.auxk_${name}` });
    const list = (k: number, m: number, tm: number, name: string) =>
      allocKList(gpu, { k, m, members: Z, tm }, `${tag}.auxk_klist_${name}`);
    this.#ops = { a: op("a", batch, n), st: op("st", n, batch), graw: op("graw", batch, d), g: op("g", batch, d) };
    this.#sigma = gpu.zeros([Z], "f32", `${tag}.auxk_sigma`);
    this.#zeros = gpu.zeros([Z], "f32", `${tag}.auxk_zero_alpha`);
    this.#lists = {
      s: list(n, batch, tiles.rows.tm, "rows"),
      a: list(batch, n, tiles.features.tm, "features"),
      w: list(batch, n, tiles.features.tm, "grad_pre"),
    };
    this.#gd = gpu.zeros([Z * n * d], "f32", `${tag}.auxk_grad_dhat`);
  }

  /**
   * Record the aux codes, `G_aux`, and `∂P` at the aux codes (into the group's `∂P` buffer, after the main code gradient).
   *
   * @param inputs The step's operands.
   * @param out The `∂P [Z][rows, n]` buffer, the rows and the step.
   */
  codeGrad(inputs: AuxKInputs, out: { dp: Tensor<"f32">; rows: number; step: number }): void {
    const gpu = this.#gpu, { d, n, members } = this.#sizes, { rows, step } = out;
    const { auxK, auxAlpha, deadWindow } = this.#spec;
    const { a, st, graw, g } = this.#ops;
    auxkSelect(gpu, { p: inputs.p, c: inputs.c, fired: inputs.fired }, {
      a,
      st,
      sigma: this.#sigma,
      rows,
      n,
      kAux: auxK,
      members,
      step,
      windowSteps: Math.floor(deadWindow / rows),
    });
    buildKList(gpu, st, { list: this.#lists.s, k: n, m: rows, members });
    tileMatmul(gpu, "decode", {
      a: st,
      b: inputs.dh,
      m: rows,
      n: d,
      k: n,
      members,
      outputs: [inputs.xe, graw],
      scale: (2 * auxAlpha) / (rows * d),
      list: this.#lists.s,
      tile: this.#tiles.rows,
    });
    scaleRows(gpu, graw, { dst: g, factor: this.#sigma, rows, cols: d, members });
    codeGradSparse(gpu, { g, dh: inputs.dh, c: a, list: this.#lists.s, alphas: this.#zeros }, {
      dp: out.dp,
      rows,
      n,
      d,
      members,
    });
  }

  /**
   * Build the list of `∂P`'s rows per feature tile, for the encoder-gradient matmul.
   *
   * @param dp The `∂P [B, n]` operand.
   * @param rows Rows of the step.
   * @returns The list.
   */
  encoderList(dp: MatrixOperand, rows: number): KList {
    buildKList(this.#gpu, dp, { list: this.#lists.w, k: rows, m: this.#sizes.n, members: this.#sizes.members });
    return this.#lists.w;
  }

  /**
   * Add `Aᵀ G_aux` to the group's `∂D̂ [Z][n, d]`.
   *
   * @param gd The decoder-direction gradient.
   * @param rows Rows of the step.
   */
  addDecoderGrad(gd: Tensor<"f32">, rows: number): void {
    const gpu = this.#gpu, { d, n, members } = this.#sizes;
    buildKList(gpu, this.#ops.a, { list: this.#lists.a, k: rows, m: n, members });
    tileMatmul(gpu, "store", {
      a: this.#ops.a,
      b: this.#ops.g,
      m: n,
      n: d,
      k: rows,
      members,
      outputs: [this.#gd],
      stride: n * d,
      list: this.#lists.a,
      tile: this.#tiles.features,
    });
    add(gpu, gd, this.#gd, { out: gd });
  }

  /** Free every buffer and operand. */
  dispose(): void {
    for (const o of Object.values(this.#ops)) o.destroy();
    for (const b of [this.#sigma, this.#zeros, this.#gd]) b.dispose();
    for (const l of Object.values(this.#lists)) {
      l.indices.dispose();
      l.counts.dispose();
    }
  }
}
