/**
 * Mutation fuzzing: valid files are damaged thousands of ways (bit flips, truncation, header
 * edits, length-field edits, JSON text edits) and each result must either be refused with a
 * SafetensorsError or read back exactly as an independent reading (./_oracle.ts) reads it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { baseFiles, mutate, pick, rng } from "./_mutate.ts";
import { firstDifference, oracleRead, type Verdict } from "./_oracle.ts";
import { SafetensorsError } from "./errors.ts";
import { openSafetensors } from "./file.ts";
import { bytesSource, openSafetensorsFrom, parseSafetensors, type SafetensorsFile } from "./reader.ts";

const CASES = 10000;
const NAME = "fuzz.safetensors";

function checkRead(f: SafetensorsFile, verdict: Verdict & { ok: true }, label: string, sync: boolean) {
  assert.deepEqual(new Set(f.names), new Set(verdict.tensors.keys()), `${label}: names`);
  assert.deepEqual({ ...f.metadata }, { ...verdict.metadata }, `${label}: metadata`);
  const reads: Promise<void>[] = [];
  for (const [name, want] of verdict.tensors) {
    const info = f.info(name);
    assert.equal(info.dtype, want.dtype, `${label}: dtype of ${name}`);
    assert.deepEqual(info.shape, want.shape, `${label}: shape of ${name}`);
    const compare = (t: { data: ArrayLike<number | bigint> } | undefined, e: unknown) => {
      if (want.values === undefined) {
        assert.ok(e instanceof SafetensorsError, `${label}: raw-only ${name} must refuse to decode`);
        return;
      }
      assert.equal(e, undefined, `${label}: ${name} must decode: ${e}`);
      const at = firstDifference(t!.data, want.values);
      assert.equal(at, -1, `${label}: ${name}[${at}] = ${t!.data[at]}, oracle ${want.values[at]}`);
    };
    if (sync) {
      try {
        compare(f.getSync(name), undefined);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        compare(undefined, e);
      }
    } else {
      reads.push(f.get(name).then((t) => compare(t, undefined), (e) => compare(undefined, e)));
      reads.push(f.getRaw(name).then((raw) => assert.deepEqual(raw, want.bytes, `${label}: raw ${name}`)));
    }
  }
  return Promise.all(reads);
}

async function runCase(
  bytes: Uint8Array,
  label: string,
  open: (b: Uint8Array) => SafetensorsFile | Promise<SafetensorsFile>,
  sync: boolean,
): Promise<boolean> {
  const verdict = oracleRead(bytes);
  let f: SafetensorsFile;
  try {
    f = await open(bytes);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`${label}: threw ${e} instead of a SafetensorsError`);
    assert.ok(!verdict.ok, `${label}: refused a valid file: ${e.message}`);
    assert.ok(e.message.includes(e.file), `${label}: the message names the file: ${e.message}`);
    if (e.tensor !== undefined) assert.ok(e.message.includes(JSON.stringify(e.tensor)), e.message);
    return false;
  }
  try {
    assert.ok(verdict.ok, `${label}: accepted a file the oracle refuses (${!verdict.ok && verdict.why})`);
    await checkRead(f, verdict, label, sync);
  } finally {
    f.close();
  }
  return true;
}

Deno.test(`fuzz: ${CASES} mutated files are refused cleanly or read exactly as the oracle reads them`, async () => {
  const r = rng(20231005);
  const bases = baseFiles();
  for (const b of bases) assert.ok(oracleRead(b).ok, "base files are valid");
  const tally: Record<string, [number, number]> = {};
  const dir = await Deno.makeTempDir({ prefix: "saelab-fuzz-" });
  try {
    for (let i = 0; i < CASES; i++) {
      const { kind, bytes } = mutate(r, pick(r, bases));
      const label = `case ${i} (${kind})`;
      const ok = await runCase(bytes, label, (b) => parseSafetensors(b, { name: NAME }), true);
      if (i % 8 === 0) {
        await runCase(bytes, label + " via a byte source", (b) => openSafetensorsFrom(bytesSource(b, NAME)), false);
      }
      if (i % 40 === 0) {
        const path = join(dir, `${i}.safetensors`);
        await Deno.writeFile(path, bytes);
        await runCase(bytes, label + " via a file", () => openSafetensors(path), false);
      }
      tally[kind] ??= [0, 0];
      tally[kind][ok ? 0 : 1]++;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log("read / refused by mutation:", tally);
  const read = Object.values(tally).reduce((a, [v]) => a + v, 0);
  assert.ok(read > CASES * 0.1 && read < CASES * 0.9, `a useful mix of valid and invalid cases (${read} read)`);
});
