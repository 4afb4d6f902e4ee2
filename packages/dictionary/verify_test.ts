import assert from "node:assert/strict";
import { join } from "node:path";
import { overwriteFirstFloat32 } from "@saelab/safetensors/testing";
import { CheckpointError, loadDictionary, payloadSha256, verifySaeWeights, writeSaeLens } from "./mod.ts";

const D = 3, F = 4;
const tensors = () => ({
  W_enc: Float32Array.from({ length: D * F }, (_, i) => i / 10),
  b_enc: new Float32Array(F).fill(0.5),
  W_dec: Float32Array.from({ length: F * D }, (_, i) => -i / 10),
  b_dec: new Float32Array(D).fill(0.25),
});

Deno.test("every reader of a SAELens folder checks the SHA-256 in its header: an altered finite weight is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = tensors();
    await writeSaeLens(dir, t, {
      cfg: { d_in: D, d_sae: F, architecture: "standard" },
      metadata: { saelab_sha256: payloadSha256({ ...t }) },
    });
    assert.equal((await loadDictionary(dir)).dDict, F);
    await verifySaeWeights(dir);
    const path = join(dir, "sae_weights.safetensors");
    await overwriteFirstFloat32(path, "W_enc", 7.5);
    const refused = (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.equal(e.file, path);
      assert.match(e.message, /SHA-256 of its tensors differs/);
      assert.ok(e.message.includes(path), e.message);
      return true;
    };
    await assert.rejects(() => loadDictionary(dir), refused);
    await assert.rejects(() => verifySaeWeights(dir), refused);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a SAELens folder without a SHA-256 in its header (trained elsewhere) loads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSaeLens(dir, tensors(), { cfg: { d_in: D, d_sae: F, architecture: "standard" } });
    await verifySaeWeights(dir);
    assert.equal((await loadDictionary(dir)).dIn, D);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
