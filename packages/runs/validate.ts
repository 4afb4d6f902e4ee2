/**
 * Validators for every file of the run-folder format (valibot schemas, see `_schema.ts`). Each returns the
 * list of problems found (empty when the value conforms); extra fields are always allowed.
 *
 * @module
 */
import {
  all,
  any,
  arr,
  bool,
  type Check,
  nullable,
  num,
  obj,
  oneOf,
  opt,
  problems,
  rec,
  str,
  where,
} from "./_schema.ts";
import { ID_PATTERN } from "./paths.ts";

const id: Check = all(
  str(true),
  where((v: string) => (ID_PATTERN.test(v) ? null : `${JSON.stringify(v)} is not a valid id`)),
);
const iso: Check = all(
  str(true),
  where((v: string) => (Number.isNaN(Date.parse(v)) ? `${JSON.stringify(v)} is not a date` : null)),
);
const nonneg: Check = num({ min: 0 });
const count: Check = num({ min: 0, int: true });
const frac: Check = num({ min: 0, max: 1 });

const stage: Check = obj({
  status: oneOf(["pending", "running", "done", "failed", "skipped", "interrupted"]),
  started: opt(iso),
  finished: opt(iso),
  done: opt(nonneg),
  total: opt(nonneg),
  unit: opt(str()),
  error: opt(str()),
});

const runJson: Check = obj({
  format: num({ int: true, min: 1 }),
  id,
  created: iso,
  updated: opt(iso),
  status: oneOf(["running", "done", "failed", "interrupted"]),
  error: opt(str()),
  synthetic: opt(bool),
  config: rec(any),
  model: obj({
    name: str(true),
    path: nullable(str()),
    isDefaultModel: bool,
    note: opt(str()),
    losses: opt(obj({ model: nonneg, bigram: nonneg })),
  }),
  hook: str(true),
  timings: rec(nonneg),
  stages: rec(stage),
});

const metricRow: Check = obj({
  member: id,
  step: count,
  loss: num(),
  mse: num(),
  l0: nonneg,
  l1: opt(num()),
  fvu: opt(num()),
  deadFraction: opt(frac),
  tokens: opt(nonneg),
  lr: opt(num()),
});

const saeCfg: Check = all(
  obj({
    d_in: num({ int: true, min: 1 }),
    d_sae: num({ int: true, min: 1 }),
    hook_name: opt(str()),
    model_name: opt(str()),
    l1_coefficient: opt(num()),
    metadata: opt(rec(any)),
  }),
);

const spliced: Check = obj({ clean: num(), spliced: num(), zeroAblation: num() });
const dictEval: Check = obj({
  kind: oneOf(["sae", "baseline"]),
  method: str(true),
  dIn: num({ int: true, min: 1 }),
  dSae: num({ int: true, min: 1 }),
  ratio: opt(num({ min: 0 })),
  l1Coefficient: opt(num({ min: 0 })),
  fvu: num(),
  mse: opt(num()),
  l0: nonneg,
  deadFraction: frac,
  tokens: opt(nonneg),
  splicedLoss: opt(spliced),
  mmcs: opt(obj({ reference: str(true), value: num({ min: -1, max: 1 }) })),
  deadResolution: opt(frac),
  denseFraction: opt(frac),
  deltaCe: opt(num()),
  klDiv: opt(num()),
  lossRecovered: opt(nullable(num())),
  lossRecoveredZero: opt(nullable(num())),
  spliced: opt(obj({ tokens: nonneg, clean: num(), meanAblation: num(), zeroAblation: num(), spliced: num() })),
  trainingVectors: opt(nonneg),
  distinctVectors: opt(nonneg),
  converged: opt(nullable(bool)),
  fvuImprovement: opt(nullable(num())),
  mmcsChance: opt(num({ min: -1, max: 1 })),
  mmcsSmallerToLarger: opt(num({ min: -1, max: 1 })),
});

const summaryFields: Record<string, Check> = {
  index: count,
  density: frac,
  maxActivation: num(),
  meanActivation: opt(num()),
  explanation: opt(str()),
  score: opt(num({ min: -1, max: 1 })),
  topTokens: opt(arr(str())),
};

const featureIndex: Check = obj({
  dict: id,
  method: str(true),
  tokens: nonneg,
  backend: opt(str()),
  features: arr(obj(summaryFields)),
  sampled: opt(arr(count)),
  atlasShard: opt(num({ int: true, min: 1 })),
});

const fragment: Check = all(
  obj({ tokens: arr(str()), acts: arr(num()), doc: opt(str()), start: opt(count), peak: opt(count) }),
  where((f: { tokens: unknown[]; acts: unknown[] }) =>
    Array.isArray(f?.tokens) && Array.isArray(f?.acts) && f.tokens.length !== f.acts.length
      ? `${f.tokens.length} tokens but ${f.acts.length} activations`
      : null
  ),
);
const histogram: Check = all(
  obj({ edges: arr(num()), counts: arr(nonneg), zeros: opt(nonneg) }),
  where((h: { edges: unknown[]; counts: unknown[] }) =>
    Array.isArray(h?.edges) && Array.isArray(h?.counts) && h.edges.length !== h.counts.length + 1
      ? `${h.edges.length} edges for ${h.counts.length} bins (expected bins + 1)`
      : null
  ),
);
const tokenValue: Check = obj({ token: str(), value: num() });
const logitEffects: Check = obj({ positive: arr(tokenValue), negative: arr(tokenValue), histogram: opt(histogram) });

const fuzzing: Check = obj({
  balancedAccuracy: frac,
  correctAccuracy: frac,
  fuzzedAccuracy: frac,
  nCorrect: count,
  nFuzzed: count,
});
const simulated: Check = arr(obj({ role: oneOf(["top", "random"]), method: oneOf(["expected-value", "sampled"]) }));

const featureDetail: Check = obj({
  ...summaryFields,
  dict: id,
  backend: opt(str()),
  results: opt(rec(obj({
    explanation: str(),
    score: nullable(num()),
    topScore: opt(nullable(num())),
    randomScore: opt(nullable(num())),
    detection: opt(nullable(obj({ accuracy: frac, auc: nullable(frac), n: count }))),
    fuzzing: opt(nullable(fuzzing)),
    simulated: opt(simulated),
    heldOut: opt(arr(obj({
      role: oneOf(["top", "random"]),
      at: count,
      simulated: arr(num()),
      score: num({ min: -1, max: 1 }),
    }))),
    error: opt(str()),
  }))),
  top: arr(fragment),
  random: arr(fragment),
  histogram,
  logits: opt(logitEffects),
  neighbours: opt(arr(obj({ index: count, cosine: num({ min: -1.0001, max: 1.0001 }) }))),
});

const atlasShard: Check = obj({
  dict: id,
  first: count,
  features: arr(obj({
    index: count,
    density: frac,
    maxActivation: num(),
    meanActivation: num(),
    fragments: count,
    histogram,
    top: arr(fragment),
    intervals: arr(obj({ low: num(), high: num(), share: frac, fragments: arr(fragment) })),
    topTokens: arr(obj({ token: str(), max: num(), count })),
    logits: opt(logitEffects),
  })),
});

const interval: Check = all(
  arr(num(), { length: 2 }),
  where((c: number[]) => (Array.isArray(c) && c[0] > c[1] ? "interval low is above high" : null)),
);
const meanInterval: Check = obj({ mean: num(), ci95: interval, n: count });
const scoreReference: Check = nullable(obj({ dict: str(true), mean: num(), ci95: interval, n: count }));
const scoreEntry: Check = obj({
  kind: oneOf(["sae", "baseline"]),
  method: str(true),
  mean: num(),
  ci95: interval,
  n: count,
  backend: str(true),
  measures: opt(str()),
  references: opt(obj({ random: scoreReference, neurons: scoreReference })),
  verdict: opt(str()),
  fuzzing: opt(obj({ balancedAccuracy: meanInterval })),
});
const scores: Check = obj({
  dicts: rec(scoreEntry),
  backends: opt(rec(rec(scoreEntry))),
});

const patch: Check = obj({
  task: str(true),
  metric: str(true),
  clean: opt(num()),
  patched: opt(num()),
  curves: arr(obj({ dict: str(true), method: str(true), points: arr(obj({ k: nonneg, value: num() })) })),
});

const circuits: Check = obj({
  metric: opt(str()),
  nodes: arr(obj({ id: str(true), layer: count, dict: str(true), feature: count, label: opt(str()) })),
  edges: arr(obj({ source: str(true), target: str(true), weight: num() })),
});

const chance: Check = arr(obj({ ratio: num({ min: 0 }), value: num({ min: -1, max: 1 }) }));
const cosine: Check = num({ min: -1.0001, max: 1.0001 });
const toyMeasured = {
  name: str(true),
  kind: str(true),
  ratio: num({ min: 0 }),
  l1: nonneg,
  l0: nonneg,
  deadFraction: frac,
  mmcsTruth: cosine,
};
const toy: Check = all(
  obj({
    members: arr(
      obj({
        ...toyMeasured,
        mmcsBetween: nullable(cosine),
        mmcsBetweenAlive: opt(nullable(cosine)),
        largerAlive: opt(nullable(nonneg)),
      }),
      { minLength: 1 },
    ),
    chosen: str(true),
    kinds: opt(arr(obj({
      kind: str(true),
      chosen: str(true),
      chosenMmcsTruth: cosine,
      chance: nullable(cosine),
      best: str(true),
      bestMmcsTruth: cosine,
      recovered: bool,
      pickedWell: bool,
    }))),
    truthChance: opt(chance),
    betweenChance: opt(chance),
    toy: opt(rec(any)),
    training: opt(
      all(
        rec(any),
        obj({
          partner: opt(
            nullable(obj({ ratio: num({ min: 0 }), truthChance: opt(cosine), members: arr(obj(toyMeasured)) })),
          ),
        }),
      ),
    ),
    choose: opt(rec(any)),
  }),
  where((t: { members: { name: unknown }[]; chosen: unknown }) =>
    Array.isArray(t?.members) && !t.members.some((m) => m?.name === t.chosen)
      ? `chosen ${JSON.stringify(t.chosen)} names no member`
      : null
  ),
);

/** Names of the file kinds {@linkcode validate} knows. */
export type FileKind =
  | "run"
  | "metricRow"
  | "saeCfg"
  | "dictEval"
  | "featureIndex"
  | "featureDetail"
  | "atlasShard"
  | "scores"
  | "patch"
  | "circuits"
  | "toy";

/** Every file kind of the format with its check. */
const CHECKS: Record<FileKind, Check> = {
  run: runJson,
  metricRow,
  saeCfg,
  dictEval,
  featureIndex,
  featureDetail,
  atlasShard,
  scores,
  patch,
  circuits,
  toy,
};

/**
 * Check a parsed file against its format.
 *
 * @param kind Which file it is (`"run"`, `"metricRow"`, `"saeCfg"`, `"dictEval"`, `"featureIndex"`,
 *   `"featureDetail"`, `"atlasShard"`, `"scores"`, `"patch"`, `"circuits"`, `"toy"`).
 * @param value The parsed JSON.
 * @returns Problems, each `path: why`; empty when the value conforms.
 * @example
 * ```ts
 * import { validate } from "@saelab/runs";
 * validate("metricRow", { member: "r1", step: 0, loss: 1, mse: 1, l0: 2 }); // []
 * validate("metricRow", { member: "r1", step: -1 }).length > 0; // true
 * ```
 */
export function validate(kind: FileKind, value: unknown): string[] {
  const check = CHECKS[kind];
  if (!check) throw new TypeError(`Cannot validate: unknown file kind ${JSON.stringify(kind)}`);
  return problems(check, value).slice(0, 50);
}
