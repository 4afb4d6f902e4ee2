/**
 * The GPU sweep trainer: many SAEs (dictionary ratio × α × variant) trained
 * in one pass over the same batches. Members of equal variant and size form a
 * group whose every stage is one batched dispatch (see `_group.ts`); a step
 * records its work and returns, and only every `logEvery` steps is a small
 * statistics buffer read back — asynchronously, so the loop never waits.
 *
 * The matmul operands live in textures on CPU software adapters and in
 * storage buffers elsewhere (`operands`, resolved by `saeOperandMode` as
 * `matmul` resolves its variant); groups are split to fit the texture array
 * layers or the largest bindable buffer of that mode.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { memberBindingBytes, MemberGroup, type StagedInput } from "./_group.ts";
import { groupLayout } from "./_layout.ts";
import { sparsityLoss } from "./kinds/mod.ts";
import type { ThresholdOptions } from "./kinds/kind.ts";
import { createMatrix, type OperandChoice, type OperandMode, prepInput, saeOperandMode } from "@saelab/kernels";
import {
  type AdamSettings,
  type OptimizerOptions,
  PAPER_ADAM,
  resolveSpec,
  type SaeKind,
  type SaeSpec,
  specName,
} from "./spec.ts";
import { KINDS } from "./kinds/mod.ts";
import { initWeights, type SaeWeights } from "./weights.ts";
import { l1WarmupFactor } from "./schedule.ts";
import { batchVariance, type MemberLog, type StepLog, TrainingDivergedError } from "./sweep_log.ts";

/** Options of {@linkcode SweepTrainer}. */
export interface SweepOptions {
  /** Largest batch (rows, a multiple of 4) a step will see. */
  batchSize: number;
  /** Adam settings (paper defaults: lr 1e-3, β 0.9/0.999, ε 1e-8). */
  adam?: OptimizerOptions;
  /** Member i starts from `initWeights(spec, { seed: seed + i })`. Default 0. */
  seed?: number;
  /** Start from these weights instead (one per member, e.g. from checkpoints). */
  weights?: SaeWeights[];
  /** Steps already taken (resuming): Adam's bias correction continues from here. Default 0. */
  startStep?: number;
  /** Read statistics back every this many steps (0: never). Default 100. */
  logEvery?: number;
  /** Called with each step's statistics when they arrive. */
  onLog?: (log: StepLog) => void;
  /** The learning rate of step `step` (counted from 1), set through Adam's uniforms; default `adam.lr` every step. */
  lrAt?: (step: number) => number;
  /**
   * Each member's own peak learning rate (one per spec): member i steps at `lrAt(step) · memberLr[i] / adam.lr`,
   * the same schedule scaled to its peak. Default: `adam.lr` for every member. Members with different rates
   * train in different groups (one Adam dispatch each).
   */
  memberLr?: readonly number[];
  /** Also read statistics back at this step (e.g. the last). */
  logAlso?: number;
  /**
   * Where the matmul operands live: `"texture"` (rgba32float texture arrays), `"storage"` (storage
   * buffers) or `"auto"` (the default: textures on software adapters, storage elsewhere).
   */
  operands?: OperandChoice;
  /**
   * SAELens' L1 warm-up (`l1_warm_up_steps`): every member's α ramps linearly from 0 at step 1 to its own α at
   * step `l1WarmupSteps + 1` ({@linkcode l1Coefficient}). Default 0: α from the first step (the paper).
   */
  l1WarmupSteps?: number;
  /**
   * The initial decoder bias of the members that have one, when `weights` are not given (e.g. the geometric median
   * of training rows, `geometricMedian`); default zeros.
   */
  decoderBiasInit?: ArrayLike<number>;
  /**
   * Settings of the kinds with learned per-feature thresholds (JumpReLU): the estimators' `bandwidth`, and the
   * `initThreshold` of members that start from fresh weights. Default: the kind's (SAELens' 0.001 and 0.001).
   */
  thresholds?: ThresholdOptions;
  /**
   * The most non-zero codes, as a fraction of `batch · dDict`, at which a member's step runs its decoder and
   * gradient matmuls over the firing lists instead of the dense k-list matmuls (the GPU decides each step).
   * Default `SPARSE_LIMIT` (1/4); 0: always dense.
   */
  sparseLimit?: number;
}

/**
 * Whether the GPU trainer trains a decoder bias for a kind: every kind on the shared encoder path (untied, tied,
 * TopK, BatchTopK), not the kinds whose encoder has stages of its own (Gated) nor those that decode nested
 * levels (Matryoshka).
 *
 * @param kind The kind.
 * @returns True when members of that kind may have `decoderBias`.
 * @example
 * ```ts
 * import { trainsDecoderBias } from "@saelab/sae";
 * if (!trainsDecoderBias("tied")) throw new Error("the shared path");
 * if (trainsDecoderBias("gated") || trainsDecoderBias("matryoshka")) throw new Error("stages or levels of their own");
 * ```
 */
export function trainsDecoderBias(kind: SaeKind): boolean {
  return KINDS[kind].gpu.epilogue !== "gated" && !KINDS[kind].nested;
}

/** Trains a sweep of SAEs on the GPU. */
export class SweepTrainer {
  /** Member specs, in the order given. */
  readonly specs: readonly Required<SaeSpec>[];
  /** Member names. */
  readonly names: readonly string[];
  /** Adam settings. */
  readonly adam: AdamSettings;
  /** Input width. */
  readonly dIn: number;
  /** Largest batch. */
  readonly batchSize: number;
  /** Where the matmul operands live (`operands` after `"auto"`). */
  readonly operands: OperandMode;
  #gpu: Gpu;
  #groups: { group: MemberGroup; members: number[] }[] = [];
  #input: StagedInput;
  #upload: Tensor<"f32">;
  #stats: Tensor<"f32">[] = [];
  #step: number;
  #logEvery: number;
  #onLog?: (log: StepLog) => void;
  #lrAt?: (step: number) => number;
  #memberLr: number[] = [];
  #logAlso?: number;
  #pending: Promise<void> = Promise.resolve();
  #error: Error | null = null;
  #lastLogStep: number;
  #l1Warmup: number;
  #l1Factor = 1;

  /**
   * @param gpu The context.
   * @param specs One spec per member (all with the same `dIn`).
   * @param options Batch size, optimizer, seeds or starting weights, logging.
   */
  constructor(gpu: Gpu, specs: readonly SaeSpec[], options: SweepOptions) {
    if (specs.length === 0) throw new RangeError("Cannot train a sweep: no members were given");
    this.specs = specs.map(resolveSpec);
    const dIn = this.specs[0].dIn;
    const bad = this.specs.find((s) => s.dIn !== dIn || s.dIn % 4 !== 0 || s.dDict % 4 !== 0);
    if (bad) {
      throw new RangeError(
        `Cannot train ${specName(bad)} on the GPU: every member needs the same dIn (${dIn}), and dIn and dDict ` +
          `multiples of 4`,
      );
    }
    const unbiased = this.specs.find((s) => s.decoderBias && !trainsDecoderBias(s.kind));
    if (unbiased) {
      throw new RangeError(
        `Cannot train ${
          specName(unbiased)
        } on the GPU: a trainable decoder bias is not supported for ${unbiased.kind} ` +
          `members (its encoder has its own stages)`,
      );
    }
    const batch = options.batchSize;
    if (!Number.isInteger(batch) || batch < 4 || batch % 4 !== 0) {
      throw new RangeError(`Cannot train a sweep: batchSize ${batch} is not a multiple of 4`);
    }
    if (options.weights && options.weights.length !== specs.length) {
      throw new RangeError(`Cannot train a sweep: ${options.weights.length} weights for ${specs.length} members`);
    }
    this.#gpu = gpu;
    const mode = this.operands = saeOperandMode(gpu, options.operands);
    this.dIn = dIn;
    this.batchSize = batch;
    this.names = this.specs.map(specName);
    this.adam = { ...PAPER_ADAM, ...options.adam };
    const rates = options.memberLr ?? this.specs.map(() => this.adam.lr);
    if (rates.length !== specs.length || !rates.every((r) => r > 0 && Number.isFinite(r))) {
      throw new RangeError(
        `Cannot train a sweep: memberLr needs one positive learning rate per member (${specs.length}), got ` +
          JSON.stringify(rates),
      );
    }
    this.#memberLr = [...rates];
    this.#step = options.startStep ?? 0;
    this.#logEvery = options.logEvery ?? 100;
    // a resumed sweep counts quiet features since the log step before it, as an uninterrupted one does
    this.#lastLogStep = this.#logEvery > 0 ? this.#step - (this.#step % this.#logEvery) : this.#step;
    this.#onLog = options.onLog;
    this.#lrAt = options.lrAt;
    this.#logAlso = options.logAlso;
    this.#l1Warmup = options.l1WarmupSteps ?? 0;
    if (!(Number.isInteger(this.#l1Warmup) && this.#l1Warmup >= 0)) {
      throw new RangeError(`Cannot train a sweep: l1WarmupSteps ${this.#l1Warmup} is not a whole number ≥ 0`);
    }
    const seed = options.seed ?? 0;
    const init = options.decoderBiasInit;
    if (init && init.length !== dIn) {
      throw new RangeError(`Cannot train a sweep: decoderBiasInit has ${init.length} values, not dIn = ${dIn}`);
    }
    const weights = options.weights ?? this.specs.map((s, i) => {
      const w = initWeights(s, { seed: seed + i, initThreshold: options.thresholds?.initThreshold });
      return init && w.decoderBias ? { ...w, decoderBias: Float32Array.from(init) } : w;
    });
    const byKey = new Map<string, number[]>();
    this.specs.forEach((s, i) => {
      const aux = `${s.auxK}/${s.auxAlpha}/${s.deadWindow}`;
      const key = `${s.kind}/${s.dDict}/${s.k}/${this.#memberLr[i]}/${s.l1Penalty}/${s.decoderBias}/` +
        `${s.prefixes.join("-")}/${aux}`;
      byKey.set(key, [...(byKey.get(key) ?? []), i]);
    });
    for (const same of byKey.values()) {
      // members of one size share buffers: split them so each packed buffer stays bindable
      const s = this.specs[same[0]];
      const fit = membersPerGroup(gpu, mode, {
        kind: s.kind,
        d: dIn,
        n: s.dDict,
        batch,
        decoderBias: s.decoderBias,
        levels: s.prefixes.length + 1,
      });
      if (fit.members < 1) {
        throw new RangeError(
          `Cannot train ${specName(s)}: its ${fit.what} need ${fit.bytes} bytes, more than the device's largest ` +
            `bindable buffer (${gpu.maxTensorBytes} bytes)`,
        );
      }
      for (let at = 0; at < same.length; at += fit.members) {
        const members = same.slice(at, at + fit.members);
        const group = new MemberGroup(gpu, {
          specs: members.map((i) => this.specs[i]),
          weights: members.map((i) => weights[i]),
          batch,
          operands: mode,
          bandwidth: options.thresholds?.bandwidth,
          sparseLimit: options.sparseLimit,
        });
        this.#groups.push({ group, members });
        this.#stats.push(gpu.zeros([members.length * batch * 4], "f32", "sae.row_stats"));
      }
    }
    this.#input = {
      xe: createMatrix(gpu, mode, { shape: [1, batch, dIn + 4], label: "sae.input_xe" }),
      xt: createMatrix(gpu, mode, { shape: [1, dIn, batch], label: "sae.input_xt" }),
    };
    this.#upload = gpu.zeros([batch * dIn], "f32", "sae.input");
  }

  /** @internal The shared input operands, valid after {@linkcode SweepTrainer.stage}. */
  get staged(): StagedInput {
    return this.#input;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** Member groups and the member indices of their layers (for evaluation and checkpoints). */
  get groups(): readonly { group: MemberGroup; members: readonly number[] }[] {
    return this.#groups;
  }

  /**
   * Stage a batch into the shared input operands.
   *
   * @param batch `[rows, dIn]` host rows or a GPU tensor.
   * @returns The number of rows.
   */
  stage(batch: Float32Array | Tensor<"f32">): number {
    const d = this.dIn;
    const values = batch instanceof Float32Array ? batch.length : batch.size;
    const rows = values / d;
    if (!Number.isInteger(rows) || rows < 4 || rows % 4 !== 0 || rows > this.batchSize) {
      throw new RangeError(
        `Cannot train on a batch of ${values} values: it must hold a multiple of 4 rows of ${d}, ` +
          `at most ${this.batchSize}`,
      );
    }
    let src: Tensor<"f32"> = batch as Tensor<"f32">;
    if (batch instanceof Float32Array) {
      this.#gpu.flush(); // earlier steps read the upload buffer: submit them before overwriting it
      this.#gpu.device.queue.writeBuffer(this.#upload.buffer, 0, batch as Float32Array<ArrayBuffer>);
      src = this.#upload;
    }
    prepInput(this.#gpu, src, { ...this.#input, rows, d });
    return rows;
  }

  /**
   * Record one training step of every member on a batch. Never waits on the GPU;
   * throws a {@linkcode TrainingDivergedError} raised by an earlier log.
   *
   * @param batch `[rows, dIn]` rows (host or GPU), rows a multiple of 4.
   */
  step(batch: Float32Array | Tensor<"f32">): void {
    if (this.#error) throw this.#error;
    const rows = this.stage(batch);
    const step = ++this.#step;
    const lr = this.#lrAt ? this.#lrAt(step) : this.adam.lr;
    const l1Factor = l1WarmupFactor(step, this.#l1Warmup);
    if (l1Factor !== this.#l1Factor) {
      this.#l1Factor = l1Factor;
      for (const { group } of this.#groups) group.scaleL1(l1Factor);
    }
    for (const { group, members } of this.#groups) {
      const scale = this.#memberLr[members[0]] / this.adam.lr;
      group.step(this.#input, rows, step, { ...this.adam, lr: scale === 1 ? lr : lr * scale });
    }
    if ((this.#logEvery > 0 && step % this.#logEvery === 0) || step === this.#logAlso) {
      this.#log(step, rows, batch instanceof Float32Array ? batchVariance(batch, this.dIn) : NaN);
    }
    this.#gpu.flush();
  }

  /** Wait for outstanding logs; throws if one found a non-finite loss. */
  async settle(): Promise<void> {
    await this.#pending;
    if (this.#error) throw this.#error;
  }

  #log(step: number, rows: number, variance: number): void {
    const reads = this.#groups.map(({ group }, g) => {
      group.stats(this.#stats[g], rows);
      return Promise.all([
        this.#gpu.readBuffer(this.#stats[g].buffer, group.specs.length * rows * 16),
        group.fired.read(),
      ]);
    });
    const since = this.#lastLogStep;
    const l1Factor = l1WarmupFactor(step, this.#l1Warmup);
    this.#lastLogStep = step;
    this.#pending = this.#pending.then(async () => {
      const members: MemberLog[] = new Array(this.specs.length);
      const results = await Promise.all(reads);
      results.forEach(([bytes, fired], g) => {
        const { group, members: idx } = this.#groups[g];
        const stats = new Float32Array(bytes);
        const n = group.layout.n, d = this.dIn;
        idx.forEach((i, z) => {
          let se = 0, l0 = 0, l1 = 0;
          for (let b = 0; b < rows; b++) {
            se += stats[(z * rows + b) * 4];
            l0 += stats[(z * rows + b) * 4 + 1];
            l1 += stats[(z * rows + b) * 4 + group.l1Component];
          }
          let quiet = 0;
          for (let j = 0; j < n; j++) if (fired[z * n + j] <= since) quiet++;
          const mse = se / (rows * d);
          const loss = mse +
            sparsityLoss({ ...this.specs[i], l1: this.specs[i].l1 * l1Factor }, { l0: l0 / rows, l1: l1 / rows });
          members[i] = {
            name: this.names[i],
            loss,
            mse,
            fvu: se / variance,
            l1: l1 / rows,
            l0: l0 / rows,
            quietFraction: quiet / n,
          };
        });
      });
      const bad = members.find((m) => !Number.isFinite(m.loss));
      if (bad && !this.#error) {
        this.#error = new TrainingDivergedError(
          `Training diverged: ${bad.name} has a non-finite loss (${bad.loss}) at step ${step}; ` +
            `lower the learning rate or α, or check the activations for NaN/Inf`,
        );
      }
      this.#onLog?.({ step, members });
    }).catch((e) => {
      this.#error ??= e instanceof Error ? e : new Error(String(e));
    });
  }

  /**
   * The current weights of every member (waits for the GPU).
   *
   * @returns One {@linkcode SaeWeights} per member, in member order.
   */
  async weights(): Promise<SaeWeights[]> {
    return await this.#gather("params");
  }

  /**
   * Adam's moments, the step count and the features' last-fired steps, for resuming.
   *
   * @returns First and second moments in the layout of the weights, the step, and per member the step at
   *   which each feature last fired (`[dDict]`).
   */
  async optimizerState(): Promise<{ m: SaeWeights[]; v: SaeWeights[]; step: number; fired: Uint32Array[] }> {
    const fired: Uint32Array[] = new Array(this.specs.length);
    for (const { group, members } of this.#groups) {
      (await group.readFired()).forEach((f, z) => fired[members[z]] = f);
    }
    return { m: await this.#gather("m"), v: await this.#gather("v"), step: this.#step, fired };
  }

  /**
   * Restore Adam's moments and, when given, the features' last-fired steps (e.g. from a checkpoint);
   * weights come with the constructor.
   *
   * @param state Moments in member order, and last-fired steps per member.
   */
  loadOptimizerState(state: { m: SaeWeights[]; v: SaeWeights[]; fired?: Uint32Array[] }): void {
    for (const { group, members } of this.#groups) {
      group.write("m", members.map((i) => state.m[i]));
      group.write("v", members.map((i) => state.v[i]));
      if (state.fired) group.writeFired(members.map((i) => state.fired![i]));
    }
  }

  async #gather(which: "params" | "m" | "v"): Promise<SaeWeights[]> {
    const out: SaeWeights[] = new Array(this.specs.length);
    for (const { group, members } of this.#groups) {
      const ws = await group.read(which);
      members.forEach((i, z) => out[i] = ws[z]);
    }
    return out;
  }

  /** Free every GPU resource of the sweep. */
  dispose(): void {
    for (const { group } of this.#groups) group.dispose();
    for (const s of this.#stats) s.dispose();
    this.#input.xe.destroy();
    this.#input.xt.destroy();
    this.#upload.dispose();
  }
}

/**
 * How many members of one size a group holds: with textures, at most the device's texture
 * array layers and as many as the packed parameters allow in one bindable buffer; with storage
 * operands, as many as the largest per-member buffer (parameters or an operand) allows.
 */
function membersPerGroup(
  gpu: Gpu,
  mode: OperandMode,
  size: { kind: Required<SaeSpec>["kind"]; d: number; n: number; batch: number; decoderBias: boolean; levels: number },
): { members: number; bytes: number; what: string } {
  const { kind, d, n, decoderBias } = size;
  if (mode === "storage") {
    const bytes = memberBindingBytes(kind, size);
    return { members: Math.floor(gpu.maxTensorBytes / bytes), bytes, what: "parameters or operands" };
  }
  const bytes = groupLayout(kind, { d, n, members: 1, decoderBias }).total * 4;
  const members = Math.min(gpu.limits.maxTextureArrayLayers, Math.floor(gpu.maxTensorBytes / bytes));
  return { members, bytes, what: "parameters" };
}
