/**
 * Scoring the patched runs of a feature-patching sweep: per row of `[k·G]`
 * candidate prompts, the KL divergence from the counterfactual output and the
 * logit difference of the task's answers.
 *
 * By default the KL is taken on the GPU (`klDiv`, float32) against the
 * counterfactual's log-probabilities, uploaded once per group, and only the
 * KL and the two answer logits of each row are read back. With `host`, every
 * row's logits are read back and the KL is taken in float64 — the reference
 * of the GPU path.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { klDiv } from "@saelab/kernels";
import type { Downstream } from "./downstream.ts";
import type { TaskRun } from "./task_run.ts";

/** Per row of one call: KL (nats, ≥ 0) and, when the task has answers, the logit difference. */
export interface RowScores {
  kl: Float64Array;
  diff?: Float64Array;
}

/** Scores the patched rows of one task run's groups. Dispose when done. */
export class PatchScorer {
  #gpu: Gpu;
  #run: TaskRun;
  #reverse: boolean;
  #answers: readonly (readonly [number, number])[] | undefined;
  /** Per group, the counterfactual's log-probabilities `[G, V]` on the GPU (GPU path only). */
  #cf: Tensor<"f32">[];
  /** Counterfactual probabilities `[P, V]` (host path, reversed direction only). */
  #cfProb?: Float64Array;

  /**
   * @param run The task run (counterfactual outputs, groups).
   * @param options `gpu`; `reverse`: KL(counterfactual ‖ patched); `answers` per pair; `host`: float64 on the host.
   */
  constructor(
    run: TaskRun,
    options: { gpu: Gpu; reverse: boolean; answers: readonly (readonly [number, number])[] | undefined; host: boolean },
  ) {
    const v = run.vocabSize;
    this.#gpu = options.gpu;
    this.#run = run;
    this.#reverse = options.reverse;
    this.#answers = options.answers;
    this.#cf = options.host ? [] : run.groups.map((g) => {
      const lp = new Float32Array(g.pairs.length * v);
      g.pairs.forEach((pair, i) => lp.set(run.logProbCounterfactual.subarray(pair * v, (pair + 1) * v), i * v));
      return options.gpu.upload(lp, [g.pairs.length, v], "causal.counterfactual_logprobs");
    });
    if (options.host && options.reverse) this.#cfProb = run.logProbCounterfactual.map(Math.exp);
  }

  /**
   * Run the downstream model on `k` copies of a group's prompts and score every row.
   *
   * @param down The downstream model.
   * @param call `group` index, `ids` `[k·G][T]`, `act` `[k·G, T, width]` and `residPre` (both taken over).
   * @returns Per row `c·G + i`: KL and logit difference.
   */
  async score(
    down: Downstream,
    call: { group: number; ids: number[][]; act: Tensor<"f32">; residPre?: Tensor<"f32"> },
  ): Promise<RowScores> {
    const g = this.#run.groups[call.group], v = this.#run.vocabSize, answers = this.#answers;
    const n = call.ids.length, kl = new Float64Array(n), diff = answers ? new Float64Array(n) : undefined;
    const pairOf = (r: number) => g.pairs[r % g.pairs.length];
    if (this.#cf.length === 0) {
      const logits = await down.lastLogits(call.ids, call.act, call.residPre); // [k·G, V]
      for (let r = 0; r < n; r++) {
        const pair = pairOf(r), row = logits.subarray(r * v, (r + 1) * v);
        kl[r] = this.#hostKl(row, pair);
        if (diff) diff[r] = row[answers![pair][0]] - row[answers![pair][1]];
      }
      return { kl, diff };
    }
    const gpu = this.#gpu, cf = this.#cf[call.group];
    using logits = down.lastLogitsGpu(call.ids, call.act, call.residPre); // [k·G, V], stays on the GPU
    // klDiv takes KL(P ‖ Q) with P from its first argument: the direction swaps the arguments
    using d = this.#reverse ? klDiv(gpu, cf, logits) : klDiv(gpu, logits, cf); // [k·G]
    // one read: the KLs, then the two answer logits of each row
    using out = gpu.empty([n * (answers ? 3 : 1)], "f32", "causal.patched_scores");
    const enc = gpu.encoder();
    enc.copyBufferToBuffer(d.buffer, 0, out.buffer, 0, n * 4);
    if (answers) {
      for (let r = 0; r < n; r++) {
        const [a, b] = answers[pairOf(r)];
        enc.copyBufferToBuffer(logits.buffer, (r * v + a) * 4, out.buffer, (n + 2 * r) * 4, 4);
        enc.copyBufferToBuffer(logits.buffer, (r * v + b) * 4, out.buffer, (n + 2 * r + 1) * 4, 4);
      }
    }
    const got = await out.read();
    for (let r = 0; r < n; r++) {
      kl[r] = Math.max(0, got[r]);
      if (diff) diff[r] = got[n + 2 * r] - got[n + 2 * r + 1];
    }
    return { kl, diff };
  }

  /** Free the uploaded counterfactual outputs. Safe to call twice. */
  dispose(): void {
    for (const t of this.#cf) t.dispose();
    this.#cf = [];
  }

  /** KL of one patched row of logits against the counterfactual, in float64 with one exp per entry. */
  #hostKl(x: Float32Array, pair: number): number {
    const v = this.#run.vocabSize;
    const lq = this.#run.logProbCounterfactual.subarray(pair * v, (pair + 1) * v);
    let max = -Infinity;
    for (let j = 0; j < v; j++) if (x[j] > max) max = x[j];
    let sum = 0, dot = 0;
    if (this.#cfProb) {
      const q = this.#cfProb.subarray(pair * v, (pair + 1) * v);
      for (let j = 0; j < v; j++) sum += Math.exp(x[j] - max), dot += q[j] * (lq[j] - x[j]);
      return Math.max(0, dot + max + Math.log(sum)); // Σ q (log q − x) + logsumexp(x)
    }
    for (let j = 0; j < v; j++) {
      const e = Math.exp(x[j] - max);
      sum += e;
      dot += e * (x[j] - lq[j]);
    }
    return Math.max(0, dot / sum - max - Math.log(sum)); // Σ p (x − log q) − logsumexp(x)
  }
}
