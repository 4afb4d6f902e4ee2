/**
 * Minimal safetensors encoder for the synthetic run's F32 weights: 8-byte little-endian header length,
 * JSON header (`dtype`, `shape`, `data_offsets` per tensor), space padding to 8 bytes, raw data.
 *
 * @module
 */

/** Encode named F32 tensors. */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(`Cannot encode ${name}: shape holds ${n} values, data ${t.data.length}`);
    }
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  const json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  const head = new TextEncoder().encode(json + " ".repeat((8 - (raw.length % 8)) % 8));
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}
