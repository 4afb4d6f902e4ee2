/**
 * A group of sweep members that share variant, input width and dictionary
 * size: their parameters are packed in one buffer, their operands stacked as
 * layers of textures or storage buffers (`@saelab/kernels` `sae_operands.ts`),
 * so each stage of a training step is one dispatch for the whole group.
 *
 * One step (z = member, every matmul batched over z):
 * ```
 * E   C, Cᵀ = ReLU(X W_e ᵀ + b_e)       Xᵀ [d,B] · W_ext [d+4,n]  (TopK, BatchTopK: raw P, then select)
 * D   G = 2/(B·d) · (C D̂ − X)           Cᵀ [n,B] · D̂ [n,d]
 * P   ∂P = (G D̂ᵀ + α/B) ⊙ [C > 0]        only at firing codes (`@saelab/kernels` `sae_code_grad.ts`)
 * W   ∂W_ext = ∂Pᵀ X_e (col d = ∂b_e)    ∂P [B,n] · X_e [B,d+4]
 * Dg  ∂D̂ = Cᵀ G                          C [B,n] · G [B,d]
 * D loops, per tile of rows, only over the features that fired in it; W and Dg,
 * per tile of features, only over the rows where one fired (k-lists, `@saelab/kernels` `sae_k_lists.ts`).
 * N   ∂D = (∂D̂ − (∂D̂·D̂)D̂)/‖D‖  (tied: ∂M̂ = ∂Wᵀ + ∂D̂)
 * A   Adam over the packed buffer; then W_ext → operand and D → D̂, D̂ᵀ for the next step
 * ```
 * Gated members add their own steps (`_gated_group.ts`): codes from the raw gate pre-activations, an
 * auxiliary reconstruction, and the gradients of both paths.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { adam } from "@saelab/kernels";
import { type GroupLayout, groupLayout, packWeights, unpackWeights } from "./_layout.ts";
import {
  allocKList,
  buildKList,
  chooseTile,
  codeGradSparse,
  createMatrix,
  type KList,
  type MatrixOperand,
  normalizeBackward,
  normalizeRows,
  type OperandMode,
  packTexture,
  packTransposed,
  type RowsAt,
  rowStats,
  type TileConfig,
  tileMatmul,
} from "@saelab/kernels";
import { GatedSteps } from "./_gated_group.ts";
import { KINDS } from "./kinds/mod.ts";
import type { AdamSettings, SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

/** The staged input batch shared by every group (operands in the groups' mode). */
export interface StagedInput {
  /** `X_e [B, d + 4]`. */
  xe: MatrixOperand;
  /** `Xᵀ [d, B]`. */
  xt: MatrixOperand;
}

/** What {@linkcode MemberGroup} is built from. */
export interface MemberGroupOptions {
  /** Resolved specs, all of one kind, `dIn` and `dDict`. */
  specs: Required<SaeSpec>[];
  /** Initial weights, one per spec. */
  weights: SaeWeights[];
  /** Largest batch (rows) a step will see. */
  batch: number;
  /** Where the matmul operands live. Default `"texture"`. */
  operands?: OperandMode;
}

/**
 * The largest single buffer one member adds to a group with storage operands, in bytes:
 * the packed parameters or the largest operand (`[B, n]` codes, `[n, d + 4]` encoder).
 *
 * @param kind The SAE kind.
 * @param sizes Input width `d`, dictionary size `n` and largest batch.
 * @returns Bytes per member of the largest binding.
 */
export function memberBindingBytes(kind: SaeSpec["kind"], sizes: { d: number; n: number; batch: number }): number {
  const { d, n, batch } = sizes;
  const params = groupLayout(kind, { d, n, members: 1 }).total;
  return 4 * Math.max(params, batch * n, (d + 4) * n);
}

/** Members of one (kind, d, n) trained together. */
export class MemberGroup {
  /** Parameter layout. */
  readonly layout: GroupLayout;
  /** Member specs, in layer order. */
  readonly specs: Required<SaeSpec>[];
  /** Packed parameters, gradients and Adam moments. */
  readonly params: Tensor<"f32">;
  readonly grads: Tensor<"f32">;
  readonly m: Tensor<"f32">;
  readonly v: Tensor<"f32">;
  /** Last step at which each feature fired, `[Z·n]`. */
  readonly fired: Tensor<"u32">;
  #gpu: Gpu;
  #t: Record<string, MatrixOperand> = {};
  #alphas: Tensor<"f32">;
  #norms: Tensor<"f32">;
  #gd: Tensor<"f32">;
  #dw: Tensor<"f32"> | null;
  #rowsAt: RowsAt;
  /** Tiles of D (rows × d) and of W/Dg (features × d), fixed so that the k-lists match them. */
  #tileD: TileConfig;
  #tileF: TileConfig;
  /** Features firing per row tile (for D) and rows firing per feature tile (for W, Dg). */
  #listD: KList;
  #listF: KList;
  /** `∂P [Z][B, n]`, written only where codes fired. */
  #dpBuf: Tensor<"f32">;
  /** Kinds with a batch selection: the learned thresholds `θ [Z]`, and a copy that forward passes outside training move. */
  #theta: { learned: Tensor<"f32">; scratch: Tensor<"f32"> } | null = null;
  /** Gated kinds: their extra operands and steps. */
  #gated: GatedSteps | null = null;

  /** Where the matmul operands live. */
  readonly operands: OperandMode;

  /**
   * @param gpu The context.
   * @param options Specs, initial weights, the largest batch and the operand mode.
   */
  constructor(gpu: Gpu, options: MemberGroupOptions) {
    const { specs, weights, batch } = options;
    const mode = this.operands = options.operands ?? "texture";
    const { kind, dIn: d, dDict: n } = specs[0];
    const def = KINDS[kind];
    const Z = specs.length;
    this.#gpu = gpu;
    this.specs = specs;
    this.layout = groupLayout(kind, { d, n, members: Z });
    const host = new Float32Array(this.layout.total);
    weights.forEach((w, z) => packWeights(this.layout, z, w, host));
    const tag = `sae.${kind}.n${n}`;
    this.params = gpu.upload(host, [host.length], `${tag}.params`);
    this.grads = gpu.zeros([host.length], "f32", `${tag}.grads`);
    this.m = gpu.zeros([host.length], "f32", `${tag}.adam_m`);
    this.v = gpu.zeros([host.length], "f32", `${tag}.adam_v`);
    this.fired = gpu.zeros([Z * n], "u32", `${tag}.fired`);
    this.#alphas = gpu.upload(Float32Array.from(specs, (s) => s.l1), [Z], `${tag}.alphas`);
    this.#norms = gpu.zeros([Z * n], "f32", `${tag}.norms`);
    this.#gd = gpu.zeros([Z * n * d], "f32", `${tag}.grad_dhat`);
    this.#dw = def.tied ? gpu.zeros([Z * n * (d + 4)], "f32", `${tag}.grad_w`) : null;
    this.#tileD = chooseTile(batch, d, { list: true });
    this.#tileF = chooseTile(n, d, { list: true });
    this.#listD = allocKList(gpu, { k: n, m: batch, members: Z, tm: this.#tileD.tm }, `${tag}.klist_rows`);
    this.#listF = allocKList(gpu, { k: batch, m: n, members: Z, tm: this.#tileF.tm }, `${tag}.klist_features`);
    this.#dpBuf = gpu.zeros([Z * batch * n], "f32", `${tag}.grad_pre`);
    if (def.batch) {
      this.#theta = {
        learned: gpu.upload(Float32Array.from(weights, (w) => w.threshold ?? 0), [Z], `${tag}.threshold`),
        scratch: gpu.zeros([Z], "f32", `${tag}.threshold_scratch`),
      };
    }
    const tex = (name: string, rows: number, cols: number) =>
      this.#t[name] = createMatrix(gpu, mode, { shape: [Z, rows, cols], label: `${tag}.${name}` });
    if (!def.tied) tex("w", d + 4, n);
    if (def.gpu.epilogue !== "encode") tex("p", batch, n);
    if (def.gpu.epilogue === "gated") {
      this.#gated = new GatedSteps(gpu, { layout: this.layout, batch, mode, tile: this.#tileD, tag });
    }
    tex("dh", n, d);
    tex("dht", d + 4, n);
    tex("c", batch, n);
    tex("ct", n, batch);
    tex("g", batch, d);
    tex("dp", batch, n);
    this.#rowsAt = def.tied
      ? { offset: this.layout.enc, stride: n * d, bias: this.layout.dec }
      : { offset: this.layout.dec, stride: n * d };
    this.refresh();
  }

  /** Bring the operands up to date with the parameters. */
  refresh(): void {
    const { d, n, members } = this.layout;
    if (!KINDS[this.layout.kind].tied) {
      packTransposed(this.#gpu, this.params, this.#t.w, {
        offset: this.layout.enc,
        stride: this.layout.encStride,
        rows: n,
        cols: d + 4,
        layers: members,
      });
    }
    normalizeRows(this.#gpu, this.params, {
      dh: this.#t.dh,
      dht: this.#t.dht,
      norms: this.#norms,
      n,
      d,
      members,
      at: this.#rowsAt,
    });
  }

  /**
   * Record the forward pass (E, TopK select, D): codes in `C`/`Cᵀ`, scaled error in `G`. Kinds with a
   * batch selection move their learned threshold only when `mark.training` (a training step).
   */
  forward(x: StagedInput, rows: number, mark: { fired: Tensor<"u32">; step: number; training?: boolean }): void {
    const gpu = this.#gpu, t = this.#t;
    const { d, n, members, kind } = this.layout;
    const def = KINDS[kind];
    const wEnc = def.tied ? t.dht : t.w;
    const common = { m: rows, n, k: d, members, biasRow: d, step: mark.step };
    if (def.gpu.epilogue === "gated") {
      tileMatmul(gpu, "encodeRaw", { a: x.xt, b: wEnc, ...common, outputs: [t.p] });
      this.#gated!.forward({ p: t.p, params: this.params, dh: t.dh, xe: x.xe }, {
        c: t.c,
        ct: t.ct,
        fired: mark.fired,
        step: mark.step,
        rows,
        training: mark.training,
      });
    } else if (def.gpu.epilogue === "encodeRaw") {
      tileMatmul(gpu, "encodeRaw", { a: x.xt, b: wEnc, ...common, outputs: [t.p] });
      const theta = this.#theta && (mark.training ? this.#theta.learned : this.#theta.scratch);
      def.gpu.select(gpu, { p: t.p, ...(theta ? { state: theta } : {}) }, {
        c: t.c,
        ct: t.ct,
        fired: mark.fired,
        rows,
        n,
        k: this.specs[0].k,
        members,
        step: mark.step,
      });
    } else {
      tileMatmul(gpu, "encode", { a: x.xt, b: wEnc, ...common, outputs: [t.c, t.ct, mark.fired] });
    }
    buildKList(gpu, t.ct, { list: this.#listD, k: n, m: rows, members });
    tileMatmul(gpu, "decode", {
      a: t.ct,
      b: t.dh,
      m: rows,
      n: d,
      k: n,
      members,
      outputs: [x.xe, t.g],
      scale: 2 / (rows * d),
      list: this.#listD,
      tile: this.#tileD,
    });
  }

  /** Record one full training step (forward, backward, Adam, operand refresh). */
  step(x: StagedInput, rows: number, step: number, settings: AdamSettings): void {
    const gpu = this.#gpu, t = this.#t;
    const { d, n, members } = this.layout;
    this.forward(x, rows, { fired: this.fired, step, training: true });
    gpu.encoder().clearBuffer(this.#dpBuf.buffer, 0, members * rows * n * 4);
    const codeGrad = { g: t.g, dh: t.dh, c: t.c, list: this.#listD, alphas: this.#alphas };
    if (this.#gated) {
      this.#gated.backward({ ...codeGrad, params: this.params }, { dp: this.#dpBuf, grads: this.grads, rows });
    } else {
      codeGradSparse(gpu, codeGrad, { dp: this.#dpBuf, rows, n, d, members });
    }
    packTexture(gpu, this.#dpBuf, t.dp, { offset: 0, stride: rows * n, rows, cols: n, layers: members });
    // Gated: ∂P is non-zero wherever a gate opened, a superset of the fired codes
    buildKList(gpu, this.#gated?.gateCodes ?? t.c, { list: this.#listF, k: rows, m: n, members });
    tileMatmul(gpu, "store", {
      a: t.dp,
      b: x.xe,
      m: n,
      n: d + 4,
      k: rows,
      members,
      outputs: [this.#dw ?? this.grads],
      base: this.#dw ? 0 : this.layout.enc,
      stride: (d + 4) * n,
      list: this.#listF,
      tile: this.#tileF,
    });
    this.#gated?.biasGrad(this.grads, rows);
    tileMatmul(gpu, "store", {
      a: t.c,
      b: t.g,
      m: n,
      n: d,
      k: rows,
      members,
      outputs: [this.#gd],
      stride: n * d,
      list: this.#listF,
      tile: this.#tileF,
    });
    normalizeBackward(gpu, { gd: this.#gd, dh: t.dh, norms: this.#norms, dw: this.#dw ?? undefined }, {
      grad: this.grads,
      n,
      d,
      members,
      at: this.#rowsAt,
    });
    adam(gpu, { param: this.params, grad: this.grads, m: this.m, v: this.v }, { ...settings, step });
    this.refresh();
  }

  /** Record per-row statistics of the last forward pass into `stats [Z][rows]` (vec4). */
  stats(stats: Tensor<"f32">, rows: number): void {
    const { d, n, members } = this.layout;
    rowStats(this.#gpu, { c: this.#t.c, g: this.#t.g }, { stats, rows, n, d, members, inv: (rows * d) / 2 });
  }

  /** The codes `C [B, n]` (layer z) of the last forward pass. */
  get codes(): MatrixOperand {
    return this.#t.c;
  }

  /** The scaled error `G [B, d]` (layer z) of the last forward pass. */
  get error(): MatrixOperand {
    return this.#t.g;
  }

  /** Read a packed tensor (parameters or a moment) as one {@linkcode SaeWeights} per member. */
  async read(which: "params" | "m" | "v"): Promise<SaeWeights[]> {
    const host = await this[which].read();
    const theta = which === "params" && this.#theta ? await this.#theta.learned.read() : null;
    return this.specs.map((s, z) => {
      const w = unpackWeights(this.layout, z, s, host);
      return theta ? { ...w, threshold: theta[z] } : w;
    });
  }

  /** Overwrite a packed tensor from host weights (one per member), then refresh the operands. */
  write(which: "params" | "m" | "v", weights: SaeWeights[]): void {
    const host = new Float32Array(this.layout.total);
    weights.forEach((w, z) => packWeights(this.layout, z, w, host));
    this.#gpu.flush();
    this.#gpu.device.queue.writeBuffer(this[which].buffer, 0, host as Float32Array<ArrayBuffer>);
    if (which === "params" && this.#theta) {
      const theta = Float32Array.from(weights, (w) => w.threshold ?? 0);
      this.#gpu.device.queue.writeBuffer(this.#theta.learned.buffer, 0, theta);
    }
    if (which === "params") this.refresh();
  }

  /** The last-fired steps of each member's features (`[n]` per member), for checkpoints. */
  async readFired(): Promise<Uint32Array[]> {
    const host = await this.fired.read();
    const n = this.layout.n;
    return this.specs.map((_, z) => host.slice(z * n, (z + 1) * n));
  }

  /** Restore the last-fired steps (`[n]` per member) from a checkpoint. */
  writeFired(perMember: readonly Uint32Array[]): void {
    const n = this.layout.n;
    const host = new Uint32Array(perMember.length * n);
    perMember.forEach((f, z) => host.set(f, z * n));
    this.#gpu.flush();
    this.#gpu.device.queue.writeBuffer(this.fired.buffer, 0, host);
  }

  /** Free every buffer and texture. */
  dispose(): void {
    for (const t of Object.values(this.#t)) t.destroy();
    for (
      const b of [this.params, this.grads, this.m, this.v, this.fired, this.#alphas, this.#norms, this.#gd, this.#dpBuf]
    ) {
      b.dispose();
    }
    this.#dw?.dispose();
    this.#theta?.learned.dispose();
    this.#theta?.scratch.dispose();
    this.#gated?.dispose();
    for (const l of [this.#listD, this.#listF]) {
      l.indices.dispose();
      l.counts.dispose();
    }
  }
}
