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
 *     JumpReLU: no α/B there; ∂log θ by the straight-through estimator (`sae_jumprelu.ts`), into the packed grads
 * W   ∂W_ext = ∂Pᵀ X_e (col d = ∂b_e)    ∂P [B,n] · X_e [B,d+4]
 * Dg  ∂D̂ = Cᵀ G                          C [B,n] · G [B,d]
 * D loops, per tile of rows, only over the features that fired in it; W and Dg,
 * per tile of features, only over the rows where one fired (k-lists, `@saelab/kernels` `sae_k_lists.ts`).
 * Sparse path (kinds without stages of their own, nested levels or AuxK): after E the GPU lists each row's
 * and each feature's non-zero codes (`sae_sparse_codes.ts`); when no member has more than `sparseLimit · B · n`
 * of them, D, P, W and Dg run over those lists instead (`sae_sparse_matmul.ts`: per row of G, per entry of ∂P,
 * per feature of ∂W and ∂D̂), and the k-list dispatches above get zero workgroups (indirect dispatch; the
 * host reads nothing). Only E stays dense. Both paths sum the same terms in the same order.
 * N   ∂D = (∂D̂ − (∂D̂·D̂)D̂)/‖D‖  (tied: ∂M̂ = ∂Wᵀ + ∂D̂)
 * Nested levels (matryoshka, `@saelab/kernels` `sae_nested.ts`): D, P and Dg run over L·d columns,
 * the L levels side by side (the whole dictionary first, so G's first d columns are its error):
 * D̂_cat and X_cat from D̂ and X_e, G_cat = 2/(B·d) · (C D̂_cat − X_cat), ∂D̂ = fold(Cᵀ G_cat).
 * AuxK (`spec.auxK`): after P, `_auxk_stage.ts` adds the aux codes' part of ∂P and, after Dg, of ∂D̂.
 * A   Adam over the packed buffer; then W_ext → operand and D → D̂, D̂ᵀ for the next step
 * ```
 * With a decoder bias (`sae_decoder_bias.ts`): the encoder operand's bias row holds `b_e − W b_dec`, D adds
 * `b_dec` (`decodeBias`), and after W `∂b_dec = Σ_b G − Σ_j ∂b_e,j W_j`, `∂W −= ∂b_e ⊗ b_dec`. With the
 * decoder-norm penalty (`sae_decoder_norm.ts`): D reads `D` itself, P weighs α by `‖D_j‖`, and N becomes
 * `∂D_j = (Cᵀ G)_j + (α/B)(Σ_b c_bj) D̂_j`.
 * Gated members add their own steps (`_gated_group.ts`): codes from the raw gate pre-activations, an
 * auxiliary reconstruction, and the gradients of both paths.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { adam, nestedExpand, nestedFold } from "@saelab/kernels";
import { AuxKStage } from "./_auxk_stage.ts";
import { type GroupLayout, groupLayout, packWeights, unpackWeights } from "./_layout.ts";
import {
  allocKList,
  allocSparseCodes,
  buildKList,
  buildSparseCodes,
  chooseTile,
  codeGradSparse,
  createMatrix,
  decoderBiasGrad,
  decoderNormBackward,
  decoderRows,
  disposeSparseCodes,
  encoderBiasShift,
  encoderGradShift,
  type EncoderRowsAt,
  type KList,
  type MatrixOperand,
  normalizeBackward,
  normalizeRows,
  type OperandMode,
  packTexture,
  packTransposed,
  type RowsAt,
  rowStats,
  SPARSE_CODE_GRAD_ENTRIES,
  sparseCodeGrad,
  type SparseCodes,
  sparseGate,
  sparsePathFits,
  sparseRowsMatmul,
  type TileConfig,
  tileMatmul,
  weightedL1Rows,
} from "@saelab/kernels";
import { GatedSteps } from "./_gated_group.ts";
import { KINDS } from "./kinds/mod.ts";
import { levelWidths, thresholdSettings } from "./kinds/kind.ts";
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
  /** Kinds with learned per-feature thresholds: the estimators' bandwidth ε (default the kind's). */
  bandwidth?: number;
  /** The sparse path's limit on non-zero codes, a fraction of `batch · n` (default {@linkcode SPARSE_LIMIT}; 0: off). */
  sparseLimit?: number;
}

/**
 * The largest single buffer one member adds to a group with storage operands, in bytes:
 * the packed parameters or the largest operand (`[B, n]` codes, `[n, d + 4]` encoder).
 *
 * @param kind The SAE kind.
 * @param sizes Input width `d`, dictionary size `n` and largest batch.
 * @returns Bytes per member of the largest binding.
 */
export function memberBindingBytes(
  kind: SaeSpec["kind"],
  sizes: { d: number; n: number; batch: number; decoderBias?: boolean; levels?: number },
): number {
  const { d, n, batch } = sizes;
  const params = groupLayout(kind, { d, n, members: 1, decoderBias: sizes.decoderBias }).total;
  const cat = (sizes.levels ?? 1) * d; // nested levels side by side: G, D̂_cat and ∂D̂_cat
  return 4 * Math.max(params, batch * n, (d + 4) * n, batch * cat, n * cat);
}

/**
 * The sparse path's limit on each member's non-zero codes, as a fraction of `B · n` (also the capacity
 * of the firing lists): a step with denser codes runs the dense k-list matmuls. Measured at the paper's
 * shape on llvmpipe (CPU seconds per step, sparse vs dense path): 1.85 vs 2.99 at 4% of the codes
 * firing, 3.17 vs 4.47 at 12%, 4.20 vs 4.99 at 20%; the sparse cost grows linearly and meets the
 * dense one near 25%.
 */
export const SPARSE_LIMIT = 1 / 4;

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
  /** Kinds with learned per-feature thresholds: the L0 coefficients α per member, and the bandwidth ε. */
  #lambdas: Tensor<"f32"> | null = null;
  #bandwidth = 0;
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
  /**
   * Firing lists for the sparse path (`@saelab/kernels` `sae_sparse_codes.ts`): a step whose members each
   * have at most {@linkcode SPARSE_LIMIT} · B · n non-zero codes runs D, P, W and Dg over them; denser
   * steps run the k-list matmuls. The GPU chooses; null for kinds with their own backward steps.
   */
  #sparse: SparseCodes | null = null;
  /** Kinds with a batch selection: the learned thresholds `θ [Z]`, and a copy that forward passes outside training move. */
  #theta: { learned: Tensor<"f32">; scratch: Tensor<"f32"> } | null = null;
  /**
   * The decoder-norm penalty (SAELens' standard SAE): `D` used unnormalised, codes weighted by `‖D_j‖`; the
   * norms of the last forward pass are kept here (the step's refresh moves `norms` on).
   */
  #decoderNorm: { normsFwd: Tensor<"f32"> } | null = null;
  /**
   * Kinds with nested levels: the rows each level keeps (the whole dictionary first), the
   * side-by-side `D̂_cat [n, L·d]`, `X_cat [B, L·d]` (shared) and `∂D̂_cat [Z][n, L·d]`.
   */
  #nested: { limits: number[]; dh: MatrixOperand; x: MatrixOperand; gd: Tensor<"f32"> } | null = null;
  /** AuxK's stage (`_auxk_stage.ts`), when the members ask for it. */
  #auxk: AuxKStage | null = null;
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
    this.layout = groupLayout(kind, { d, n, members: Z, decoderBias: specs[0].decoderBias });
    const host = new Float32Array(this.layout.total);
    weights.forEach((w, z) => packWeights(this.layout, z, w, host));
    const tag = `sae.${kind}.n${n}`;
    this.params = gpu.upload(host, [host.length], `${tag}.params`);
    this.grads = gpu.zeros([host.length], "f32", `${tag}.grads`);
    this.m = gpu.zeros([host.length], "f32", `${tag}.adam_m`);
    this.v = gpu.zeros([host.length], "f32", `${tag}.adam_v`);
    this.fired = gpu.zeros([Z * n], "u32", `${tag}.fired`);
    // kinds with learned thresholds weigh L0, which reaches the thresholds only: no α in the code gradient
    this.#alphas = gpu.upload(Float32Array.from(specs, (s) => def.thresholds ? 0 : s.l1), [Z], `${tag}.alphas`);
    if (def.thresholds) {
      this.#lambdas = gpu.upload(Float32Array.from(specs, (s) => s.l1), [Z], `${tag}.l0_coefficients`);
      this.#bandwidth = thresholdSettings(def.thresholds, { bandwidth: options.bandwidth }).bandwidth;
      if (this.layout.featureStride !== n) {
        throw new RangeError(
          `Cannot train ${kind}: its log θ must be its only per-feature parameter (the kernels' stride n)`,
        );
      }
    }
    this.#norms = gpu.zeros([Z * n], "f32", `${tag}.norms`);
    this.#gd = gpu.zeros([Z * n * d], "f32", `${tag}.grad_dhat`);
    this.#dw = def.tied ? gpu.zeros([Z * n * (d + 4)], "f32", `${tag}.grad_w`) : null;
    this.#tileD = chooseTile(batch, d, { list: true });
    this.#tileF = chooseTile(n, d, { list: true });
    this.#listD = allocKList(gpu, { k: n, m: batch, members: Z, tm: this.#tileD.tm }, `${tag}.klist_rows`);
    this.#listF = allocKList(gpu, { k: batch, m: n, members: Z, tm: this.#tileF.tm }, `${tag}.klist_features`);
    this.#dpBuf = gpu.zeros([Z * batch * n], "f32", `${tag}.grad_pre`);
    const limit = Math.min(1, options.sparseLimit ?? SPARSE_LIMIT);
    const plain = def.gpu.epilogue !== "gated" && !def.nested && specs[0].auxK === 0;
    if (plain && limit > 0 && sparsePathFits({ rows: batch, n, d })) {
      const capacity = 4 * Math.ceil((limit * batch * n) / 4);
      this.#sparse = allocSparseCodes(gpu, { rows: batch, n, members: Z, capacity }, `${tag}.sparse`);
    }
    if (specs[0].l1Penalty === "decoder-norm") {
      this.#decoderNorm = { normsFwd: gpu.zeros([Z * n], "f32", `${tag}.norms_forward`) };
    }
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
    const widths = levelWidths(specs[0]);
    if (def.nested) {
      const limits = [n, ...widths.slice(0, -1)], cat = limits.length * d;
      this.#nested = {
        limits,
        dh: createMatrix(gpu, mode, { shape: [Z, n, cat], label: `${tag}.dh_levels` }),
        x: createMatrix(gpu, mode, { shape: [1, batch, cat], label: `${tag}.x_levels` }),
        gd: gpu.zeros([Z * n * cat], "f32", `${tag}.grad_dhat_levels`),
      };
    }
    tex("g", batch, (this.#nested?.limits.length ?? 1) * d);
    if (specs[0].auxK > 0) {
      this.#auxk = new AuxKStage(gpu, {
        spec: specs[0],
        sizes: { d, n, members: Z, batch },
        mode,
        tiles: { rows: this.#tileD, features: this.#tileF },
        tag,
      });
    }
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
    if (this.#decoderNorm) {
      decoderRows(this.#gpu, this.params, { dh: this.#t.dh, norms: this.#norms, n, d, members, at: this.#rowsAt });
    } else {
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
    if (this.#nested) {
      nestedExpand(this.#gpu, this.#t.dh, {
        dst: this.#nested.dh,
        rows: n,
        d,
        limits: this.#nested.limits,
        layers: members,
      });
    }
    if (this.layout.bdec >= 0) {
      // the encoder reads X − b_dec: its bias row becomes b_e − W_j·b_dec
      const tied = KINDS[this.layout.kind].tied;
      encoderBiasShift(this.#gpu, { params: this.params, norms: this.#norms }, {
        wt: tied ? this.#t.dht : this.#t.w,
        n,
        d,
        members,
        enc: this.#encoderRows(),
        bias: tied
          ? { offset: this.layout.dec, row: 1, member: n }
          : { offset: this.layout.enc + d, row: d + 4, member: this.layout.encStride },
        bdec: this.layout.bdec,
      });
    }
  }

  /** Where the encoder rows as the forward pass uses them sit in the parameters (tied: `M`, normalised). */
  #encoderRows(): EncoderRowsAt {
    const { d, n, enc, encStride, kind } = this.layout;
    return KINDS[kind].tied
      ? { offset: enc, row: d, member: n * d, normalized: true }
      : { offset: enc, row: d + 4, member: encStride, normalized: false };
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
    if (this.#decoderNorm) {
      gpu.encoder().copyBufferToBuffer(this.#norms.buffer, 0, this.#decoderNorm.normsFwd.buffer, 0, members * n * 4);
    }
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
      // learned per-feature thresholds: member z's log θ at features + z·n of the packed parameters
      const perFeature = def.thresholds ? { state: this.params, stateAt: this.layout.features } : {};
      def.gpu.select(gpu, { p: t.p, ...(theta ? { state: theta } : {}), ...perFeature }, {
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
    const sparse = this.#sparse;
    if (sparse) buildSparseCodes(gpu, { c: t.c, ct: t.ct }, { codes: sparse, rows, n, members });
    const dense = sparse ? sparseGate(gpu, sparse, "dense") : undefined;
    buildKList(gpu, t.ct, { list: this.#listD, k: n, m: rows, members, gate: dense });
    const bdec = this.layout.bdec >= 0; // never with nested levels (the sweep refuses b_dec for them: trainsDecoderBias)
    // training steps of nested kinds decode every level; other passes only the whole dictionary
    const levels = mark.training ? this.#nested : null;
    if (levels) {
      nestedExpand(gpu, x.xe, { dst: levels.x, rows, d, limits: levels.limits.map(() => rows), layers: 1 });
    }
    tileMatmul(gpu, bdec ? "decodeBias" : "decode", {
      a: t.ct,
      b: levels ? levels.dh : t.dh,
      m: rows,
      n: levels ? levels.limits.length * d : d,
      k: n,
      members,
      outputs: bdec ? [x.xe, t.g, this.params] : [levels ? levels.x : x.xe, t.g],
      ...(bdec ? { base: this.layout.bdec, stride: d } : {}),
      scale: 2 / (rows * d),
      list: this.#listD,
      tile: this.#tileD,
      gate: dense,
    });
    if (sparse) {
      sparseRowsMatmul(gpu, bdec ? "decodeBias" : "decode", {
        op: t.dh,
        codes: sparse,
        lists: "rows",
        rows,
        n,
        cols: d,
        members,
        outputs: bdec ? [x.xe, t.g, this.params] : [x.xe, t.g],
        ...(bdec ? { base: this.layout.bdec, stride: d } : {}),
        scale: 2 / (rows * d),
        gate: sparseGate(gpu, sparse, "sparse"),
      });
    }
  }

  /** Record one full training step (forward, backward, Adam, operand refresh). */
  step(x: StagedInput, rows: number, step: number, settings: AdamSettings): void {
    const gpu = this.#gpu, t = this.#t;
    const { d, n, members } = this.layout;
    const levels = this.#nested, cat = (levels?.limits.length ?? 1) * d;
    this.forward(x, rows, { fired: this.fired, step, training: true });
    const sparse = this.#sparse;
    // the dense path's dispatches run only when the GPU found the codes too dense for the sparse one
    const dense = sparse ? sparseGate(gpu, sparse, "dense") : undefined;
    gpu.encoder().clearBuffer(this.#dpBuf.buffer, 0, members * rows * n * 4);
    const weights = this.#decoderNorm ? { weights: this.#decoderNorm.normsFwd } : {};
    const codeGrad = { g: t.g, dh: levels ? levels.dh : t.dh, c: t.c, list: this.#listD, alphas: this.#alphas };
    if (this.#gated) {
      this.#gated.backward({ ...codeGrad, params: this.params }, { dp: this.#dpBuf, grads: this.grads, rows });
    } else {
      codeGradSparse(gpu, { ...codeGrad, ...weights }, { dp: this.#dpBuf, rows, n, d: cat, members, gate: dense });
    }
    if (sparse) {
      sparseCodeGrad(gpu, { g: t.g, dh: t.dh, codes: sparse, alphas: this.#alphas, ...weights }, {
        rows,
        n,
        d,
        members,
        gate: sparseGate(gpu, sparse, "sparse", SPARSE_CODE_GRAD_ENTRIES),
      });
    }
    const aux = { p: t.p, c: t.c, dh: t.dh, xe: x.xe, fired: this.fired };
    this.#auxk?.codeGrad(aux, { dp: this.#dpBuf, rows, step });
    const thresholds = KINDS[this.layout.kind].thresholds;
    if (thresholds) {
      thresholds.gradKernel(gpu, {
        p: t.p,
        g: t.g,
        dh: t.dh,
        state: this.params,
        stateAt: this.layout.features,
        lambdas: this.#lambdas!,
      }, { grad: this.grads, rows, n, d, members, bandwidth: this.#bandwidth });
    }
    packTexture(gpu, this.#dpBuf, t.dp, { offset: 0, stride: rows * n, rows, cols: n, layers: members, gate: dense });
    // Gated: ∂P is non-zero wherever a gate opened, a superset of the fired codes
    buildKList(gpu, this.#gated?.gateCodes ?? t.c, { list: this.#listF, k: rows, m: n, members, gate: dense });
    // with AuxK, ∂P is non-zero beyond the firing codes: the encoder gradient lists ∂P's own rows
    const encoderList = this.#auxk?.encoderList(t.dp, rows) ?? this.#listF;
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
      list: encoderList,
      tile: this.#tileF,
      gate: dense,
    });
    if (sparse) {
      sparseRowsMatmul(gpu, "store", {
        op: x.xe,
        codes: sparse,
        lists: "features",
        values: "dp",
        rows,
        n,
        cols: d + 4,
        members,
        outputs: [this.#dw ?? this.grads],
        base: this.#dw ? 0 : this.layout.enc,
        stride: (d + 4) * n,
        gate: sparseGate(gpu, sparse, "sparse"),
      });
    }
    if (this.layout.bdec >= 0) this.#decoderBiasBackward(rows);
    this.#gated?.biasGrad(this.grads, rows);
    tileMatmul(gpu, "store", {
      a: t.c,
      b: t.g,
      m: n,
      n: cat,
      k: rows,
      members,
      outputs: [levels ? levels.gd : this.#gd],
      stride: n * cat,
      list: this.#listF,
      tile: this.#tileF,
      gate: dense,
    });
    if (sparse) {
      sparseRowsMatmul(gpu, "store", {
        op: t.g,
        codes: sparse,
        lists: "features",
        rows,
        n,
        cols: d,
        members,
        outputs: [this.#gd],
        stride: n * d,
        gate: sparseGate(gpu, sparse, "sparse"),
      });
    }
    if (levels) nestedFold(gpu, levels.gd, { dst: this.#gd, rows: n, d, limits: levels.limits, layers: members });
    this.#auxk?.addDecoderGrad(this.#gd, rows);
    if (this.#decoderNorm) {
      const inputs = { gd: this.#gd, params: this.params, c: t.c, norms: this.#norms, alphas: this.#alphas };
      decoderNormBackward(gpu, inputs, { grad: this.grads, rows, n, d, members, at: this.#rowsAt });
    } else {
      normalizeBackward(gpu, { gd: this.#gd, dh: t.dh, norms: this.#norms, dw: this.#dw ?? undefined }, {
        grad: this.grads,
        n,
        d,
        members,
        at: this.#rowsAt,
      });
    }
    adam(gpu, { param: this.params, grad: this.grads, m: this.m, v: this.v }, { ...settings, step });
    this.refresh();
  }

  /**
   * `∂b_dec` from `G` and `∂b_e`, then the encoder gradient of `X` turned into the one of `X − b_dec`
   * (after the encoder-gradient matmul, before the row normalisation's backward).
   */
  #decoderBiasBackward(rows: number): void {
    const { d, n, members, enc, encStride, bdec } = this.layout;
    const dw = this.#dw;
    const at = dw ? { offset: 0, row: d + 4, member: (d + 4) * n } : { offset: enc, row: d + 4, member: encStride };
    decoderBiasGrad(this.#gpu, { params: this.params, norms: this.#norms, g: this.#t.g, ...(dw ? { be: dw } : {}) }, {
      grad: this.grads,
      rows,
      n,
      d,
      members,
      enc: this.#encoderRows(),
      be: { ...at, offset: at.offset + d },
      out: bdec,
    });
    encoderGradShift(this.#gpu, this.params, { grad: dw ?? this.grads, at, n, d, members, bdec });
  }

  /**
   * Train the next steps at `factor · α` for every member (the L1 warm-up); 1 restores each member's α.
   * Submits the recorded work first, so that earlier steps keep the coefficient they were recorded with.
   */
  scaleL1(factor: number): void {
    this.#gpu.flush();
    const thresholds = KINDS[this.layout.kind].thresholds;
    const alphas = Float32Array.from(this.specs, (s) => thresholds ? 0 : s.l1 * factor);
    this.#gpu.device.queue.writeBuffer(this.#alphas.buffer, 0, alphas);
    // JumpReLU: α weighs the L0 term, which reaches the thresholds only
    if (this.#lambdas) {
      this.#gpu.device.queue.writeBuffer(this.#lambdas.buffer, 0, Float32Array.from(this.specs, (s) => s.l1 * factor));
    }
  }

  /**
   * Record per-row statistics of the last forward pass into `stats [Z][rows]` (vec4: squared error, L0, `Σ|c|`,
   * and with the decoder-norm penalty `Σ|c_j|·‖D_j‖`, else 0).
   */
  stats(stats: Tensor<"f32">, rows: number): void {
    const { d, n, members } = this.layout;
    rowStats(this.#gpu, { c: this.#t.c, g: this.#t.g }, { stats, rows, n, d, members, inv: (rows * d) / 2 });
    if (this.#decoderNorm) {
      weightedL1Rows(this.#gpu, { c: this.#t.c, weights: this.#decoderNorm.normsFwd }, { stats, rows, n, members });
    }
  }

  /** The component of {@linkcode MemberGroup.stats} that holds the penalised sparsity of each row (2 or 3). */
  get l1Component(): 2 | 3 {
    return this.#decoderNorm ? 3 : 2;
  }

  /** The firing lists of the sparse path (null where the group has none). */
  get sparseCodes(): SparseCodes | null {
    return this.#sparse;
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
    this.#lambdas?.dispose();
    this.#theta?.learned.dispose();
    this.#decoderNorm?.normsFwd.dispose();
    this.#theta?.scratch.dispose();
    this.#nested?.dh.destroy();
    this.#nested?.x.destroy();
    this.#nested?.gd.dispose();
    this.#auxk?.dispose();
    this.#gated?.dispose();
    if (this.#sparse) disposeSparseCodes(this.#sparse);
    for (const l of [this.#listD, this.#listF]) {
      l.indices.dispose();
      l.counts.dispose();
    }
  }
}
