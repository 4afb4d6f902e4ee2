/**
 * The conformance suite every dictionary runs through — each SAE kind and each baseline (one
 * interface, several implementations, one set of checks):
 *
 * 1. shapes: the GPU dictionary refuses inputs of the wrong width and returns `[rows, dDict]` codes
 *    and `[rows, dIn]` reconstructions;
 * 2. encode/decode on the host and on the GPU agree with the case's float64 reference;
 * 3. save → load through a SAELens folder gives the same codes and reconstructions;
 * 4. the folder's `cfg.json` has the SAELens fields a SAELens loader reads (`d_in`, `d_sae`,
 *    `architecture`, `activation_fn_str`, `activation_fn_kwargs.k` for TopK, `apply_b_dec_to_input`,
 *    `normalize_activations`, `dtype`) and whatever the case expects besides.
 *
 * ```ts ignore
 * import { checkDictionary } from "@saelab/dictionary/dictionary_case";
 * Deno.test("pca conforms", () => checkDictionary(gpu, { dictionary: pca, reference, rows }));
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu, Tensor } from "@saelab/gpu";
import type { Dictionary } from "./dictionary.ts";
import type { LinearDictionary } from "./linear.ts";
import { loadDictionary, readSaeLensCfg, type SaeLensCfg, saveDictionary } from "./saelens.ts";

/** A float64 reference of a dictionary, written independently of the implementation under test. */
export interface DictionaryReference {
  /** Codes of rows `[rows, dIn]` → `[rows, dDict]`. */
  encode(x: Float32Array): ArrayLike<number>;
  /** Reconstruction of codes `[rows, dDict]` → `[rows, dIn]`. */
  decode(c: Float32Array): ArrayLike<number>;
}

/** One dictionary to check. */
export interface DictionaryCase {
  /** The dictionary under test (host weights). */
  dictionary: LinearDictionary;
  /** Its float64 reference (default {@linkcode affineReference} of the dictionary's own weights). */
  reference?: DictionaryReference;
  /** Input rows `[rows, dIn]`. */
  rows: Float32Array;
  /** Write the dictionary as a SAELens folder (default `saveDictionary`), as its producer does. */
  save?: (dir: string) => Promise<void>;
  /** `cfg.json` fields the folder must hold besides the SAELens ones. */
  cfg?: Partial<SaeLensCfg>;
  /** Tolerance against the reference: `|a − b| ≤ atol + rtol·|b|`. Default 1e-5 and 1e-4. */
  tolerance?: { atol: number; rtol: number };
}

/**
 * The float64 reference of an affine dictionary written from its weights alone:
 * `c = topk?(act(W_e x + b_e))`, `x̂ = Dᵀ c + b_d` (ties in the top-k go to the lower index).
 *
 * @param dict The dictionary.
 * @returns Its reference.
 * @example
 * ```ts
 * import { LinearDictionary } from "@saelab/dictionary";
 * import { affineReference } from "@saelab/dictionary/dictionary_case";
 * const u = new Float32Array([1, 0, 0, 1]);
 * const d = new LinearDictionary({ name: "id", kind: "neurons", dIn: 2, dDict: 2, encoder: u,
 *   encoderBias: new Float32Array(2), decoder: u, decoderBias: new Float32Array(2) });
 * const c = affineReference(d).encode(new Float32Array([-1, 2]));
 * if (c[0] !== 0 || c[1] !== 2) throw new Error("relu");
 * ```
 */
export function affineReference(dict: LinearDictionary): DictionaryReference {
  const { dIn: d, dDict: n } = dict;
  return {
    encode(x) {
      const rows = x.length / d;
      const out = new Float64Array(rows * n);
      for (let b = 0; b < rows; b++) {
        const row = out.subarray(b * n, (b + 1) * n);
        for (let j = 0; j < n; j++) {
          let s = dict.encoderBias[j];
          for (let i = 0; i < d; i++) s += dict.encoder[j * d + i] * x[b * d + i];
          row[j] = dict.activation === "relu" ? Math.max(s, 0) : s;
        }
        if (dict.k > 0) {
          const order = Array.from(row.keys()).sort((p, q) => row[q] - row[p] || p - q);
          for (const j of order.slice(dict.k)) row[j] = 0;
        }
      }
      return out;
    },
    decode(c) {
      const rows = c.length / n;
      const out = new Float64Array(rows * d);
      for (let b = 0; b < rows; b++) {
        for (let i = 0; i < d; i++) {
          let s = dict.decoderBias[i];
          for (let j = 0; j < n; j++) s += c[b * n + j] * dict.decoder[j * d + i];
          out[b * d + i] = s;
        }
      }
      return out;
    },
  };
}

/**
 * Run every check of the suite on one dictionary.
 *
 * @param gpu The context the GPU checks run in.
 * @param c The case.
 * @returns Nothing; resolves when every check passed.
 * @throws {Error} Naming the dictionary and the check that failed.
 * @example
 * ```ts ignore
 * Deno.test("neurons conform", () => checkDictionary(gpu, { dictionary: neuronDictionary(8), rows }));
 * ```
 */
export async function checkDictionary(gpu: Gpu, c: DictionaryCase): Promise<void> {
  const dict = c.dictionary;
  const { dIn: d, dDict: n, name } = dict;
  const tol = c.tolerance ?? { atol: 1e-5, rtol: 1e-4 };
  const fail = (what: string): never => {
    throw new Error(`Dictionary ${JSON.stringify(name)} does not conform: ${what}`);
  };
  if (c.rows.length === 0 || c.rows.length % d !== 0) fail(`the case's rows are not a non-empty [rows, ${d}]`);
  const rows = c.rows.length / d;
  const ref = c.reference ?? affineReference(dict);
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
    if (got.length !== want.length) fail(`${what}: ${got.length} values, expected ${want.length}`);
    for (let e = 0; e < want.length; e++) {
      if (!(Math.abs(got[e] - want[e]) <= tol.atol + tol.rtol * Math.abs(want[e]))) {
        fail(`${what}: element ${e} is ${got[e]}, the reference ${want[e]}`);
      }
    }
  };

  // 2. host against the reference
  const codes = Float32Array.from(ref.encode(c.rows));
  close(dict.encodeHost(c.rows), codes, "host codes");
  close(dict.decodeHost(codes), ref.decode(codes), "host reconstruction");

  // 1 and 2. the GPU dictionary: shapes, then values
  using bound = dict.bind(gpu);
  const gpuRun = async (f: (g: Dictionary) => Tensor<"f32">, shape: [number, number], what: string) => {
    using out = f(bound);
    if (out.shape[0] !== shape[0] || out.shape[1] !== shape[1]) {
      fail(`${what} has shape [${out.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
    return await out.read();
  };
  using x = gpu.upload(c.rows, [rows, d], `${name}.case_rows`);
  using ct = gpu.upload(codes, [rows, n], `${name}.case_codes`);
  for (
    const [width, run] of [[d + 1, (t: Tensor<"f32">) => bound.encode(t)], [n + 1, bound.decode.bind(bound)]] as const
  ) {
    using wrong = gpu.zeros([2, width], "f32", `${name}.case_wrong`);
    let threw = false;
    try {
      run(wrong).dispose();
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) fail(`a [2, ${width}] input was not refused with a RangeError`);
  }
  close(await gpuRun((g) => g.encode(x), [rows, n], "GPU codes"), codes, "GPU codes");
  close(await gpuRun((g) => g.decode(ct), [rows, d], "GPU reconstruction"), ref.decode(codes), "GPU reconstruction");

  // 3 and 4. save → load, cfg fields
  const dir = await Deno.makeTempDir({ prefix: "dictionary-case-" });
  try {
    const folder = join(dir, name);
    await (c.save ? c.save(folder) : saveDictionary(folder, dict).then(() => {}));
    const cfg = await readSaeLensCfg(folder);
    const want: Partial<SaeLensCfg> = {
      d_in: d,
      d_sae: n,
      architecture: dict.gate ? "gated" : dict.k > 0 ? "topk" : "standard",
      normalize_activations: "none",
      dtype: "float32",
      ...c.cfg,
    };
    for (const [key, value] of Object.entries(want)) {
      if (JSON.stringify(cfg[key]) !== JSON.stringify(value)) {
        fail(`cfg.json ${key} is ${JSON.stringify(cfg[key])}, expected ${JSON.stringify(value)}`);
      }
    }
    if (typeof cfg.apply_b_dec_to_input !== "boolean") fail("cfg.json has no boolean apply_b_dec_to_input");
    if (dict.k > 0 && (cfg.activation_fn_str !== "topk" || cfg.activation_fn_kwargs?.k !== dict.k)) {
      fail(
        `cfg.json of a top-${dict.k} dictionary has activation ${cfg.activation_fn_str}, k ${cfg.activation_fn_kwargs?.k}`,
      );
    }
    if (dict.k === 0 && cfg.activation_fn_str !== dict.activation) {
      fail(`cfg.json activation_fn_str is ${cfg.activation_fn_str}, expected ${dict.activation}`);
    }
    const back = await loadDictionary(folder, { name, kind: dict.origin });
    if (back.dIn !== d || back.dDict !== n || back.k !== dict.k || back.activation !== dict.activation) {
      fail(`the loaded dictionary is [${back.dIn}, ${back.dDict}] k ${back.k} ${back.activation}`);
    }
    close(back.encodeHost(c.rows), codes, "codes after save → load");
    close(back.decodeHost(codes), ref.decode(codes), "reconstruction after save → load");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
