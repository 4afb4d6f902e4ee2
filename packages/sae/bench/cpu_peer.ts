/**
 * The benchmark's CPU peer: one training step of an untied SAE (forward,
 * backward through the decoder-row normalisation, Adam) in plain Float32
 * JavaScript loops, ordered for cache locality but without SIMD or threads.
 *
 * @module
 */

/** Parameters and Adam state of one untied SAE, `W_e [n, d]`, `b_e [n]`, `D [n, d]`. */
export interface CpuSae {
  d: number;
  n: number;
  we: Float32Array;
  be: Float32Array;
  dec: Float32Array;
  m: Float32Array[];
  v: Float32Array[];
  t: number;
}

/** A fresh SAE with small random weights. */
export function cpuSae(d: number, n: number): CpuSae {
  const r = () => (Math.random() * 2 - 1) * Math.sqrt(6 / (d + n));
  const we = Float32Array.from({ length: n * d }, r), dec = Float32Array.from({ length: n * d }, r);
  const be = new Float32Array(n);
  return {
    d,
    n,
    we,
    be,
    dec,
    m: [we, be, dec].map((p) => new Float32Array(p.length)),
    v: [we, be, dec].map((p) => new Float32Array(p.length)),
    t: 0,
  };
}

/** One step on `x [rows, d]` with L1 coefficient `alpha`; returns the loss. */
export function cpuStep(s: CpuSae, x: Float32Array, alpha: number, lr = 1e-3): number {
  const { d, n } = s;
  const rows = x.length / d;
  const norms = new Float32Array(n), dh = new Float32Array(n * d);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += s.dec[j * d + i] ** 2;
    norms[j] = Math.max(Math.sqrt(ss), 1e-8);
    for (let i = 0; i < d; i++) dh[j * d + i] = s.dec[j * d + i] / norms[j];
  }
  const c = new Float32Array(rows * n), xh = new Float32Array(rows * d);
  for (let b = 0; b < rows; b++) {
    const xb = x.subarray(b * d, (b + 1) * d);
    for (let j = 0; j < n; j++) {
      let acc = s.be[j];
      const w = s.we.subarray(j * d, (j + 1) * d);
      for (let i = 0; i < d; i++) acc += w[i] * xb[i];
      c[b * n + j] = acc > 0 ? acc : 0;
    }
    const out = xh.subarray(b * d, (b + 1) * d);
    for (let j = 0; j < n; j++) {
      const cj = c[b * n + j];
      const row = dh.subarray(j * d, (j + 1) * d);
      for (let i = 0; i < d; i++) out[i] += cj * row[i];
    }
  }
  let se = 0, l1 = 0;
  const g = new Float32Array(rows * d), scale = 2 / (rows * d);
  for (let e = 0; e < g.length; e++) {
    const diff = xh[e] - x[e];
    se += diff * diff;
    g[e] = scale * diff;
  }
  const gwe = new Float32Array(n * d), gbe = new Float32Array(n), gdh = new Float32Array(n * d);
  const dp = new Float32Array(n);
  for (let b = 0; b < rows; b++) {
    const gb = g.subarray(b * d, (b + 1) * d), xb = x.subarray(b * d, (b + 1) * d);
    for (let j = 0; j < n; j++) {
      const cj = c[b * n + j];
      l1 += cj;
      const row = dh.subarray(j * d, (j + 1) * d);
      let acc = alpha / rows;
      for (let i = 0; i < d; i++) acc += gb[i] * row[i];
      dp[j] = cj > 0 ? acc : 0;
    }
    for (let j = 0; j < n; j++) {
      const cj = c[b * n + j], pj = dp[j];
      const gw = gwe.subarray(j * d, (j + 1) * d), gd = gdh.subarray(j * d, (j + 1) * d);
      for (let i = 0; i < d; i++) {
        gw[i] += pj * xb[i];
        gd[i] += cj * gb[i];
      }
      gbe[j] += pj;
    }
  }
  const gdec = new Float32Array(n * d);
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += gdh[j * d + i] * dh[j * d + i];
    for (let i = 0; i < d; i++) gdec[j * d + i] = (gdh[j * d + i] - dot * dh[j * d + i]) / norms[j];
  }
  s.t++;
  const c1 = 1 / (1 - 0.9 ** s.t), c2 = 1 / (1 - 0.999 ** s.t);
  [[s.we, gwe], [s.be, gbe], [s.dec, gdec]].forEach(([p, gr], k) => {
    const m = s.m[k], v = s.v[k];
    for (let e = 0; e < p.length; e++) {
      m[e] = 0.9 * m[e] + 0.1 * gr[e];
      v[e] = 0.999 * v[e] + 0.001 * gr[e] * gr[e];
      p[e] -= (lr * m[e] * c1) / (Math.sqrt(v[e] * c2) + 1e-8);
    }
  });
  return se / (rows * d) + (alpha * l1) / rows;
}
