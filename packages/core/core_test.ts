import assert from "node:assert/strict";
import { canonicalJson, gaussian, hashString, randomInt, seededRandom, shuffleInPlace } from "./mod.ts";
import { writeBytesAtomic, writeChunksAtomic, writeJsonAtomic } from "./fs.ts";
import { hashJson } from "./hash.ts";

Deno.test("seededRandom: reproducible, in [0, 1), seeds differ, roughly uniform", () => {
  const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
  const xs = Array.from({ length: 20000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.notDeepEqual(xs[0], c());
  assert(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.throws(() => seededRandom(NaN), TypeError);
});

Deno.test("seededRandom keeps the stream that corpus splits and shuffles were made with", () => {
  // The first draws of seed 0; a change here reorders every shuffled corpus and every sample.
  const r = seededRandom(0);
  assert.deepEqual([r(), r(), r()].map((x) => Math.floor(x * 2 ** 32)), [409561075, 1463630767, 1690395274]);
  assert.equal(hashString("abc"), 8052097847141825);
  assert.notDeepEqual(hashString("abc"), hashString("abd"));
});

Deno.test("gaussian has mean 0 and variance 1; randomInt and shuffle stay in range", () => {
  const r = seededRandom(5);
  const n = 40000;
  let s = 0, ss = 0;
  for (let i = 0; i < n; i++) {
    const g = gaussian(r);
    s += g;
    ss += g * g;
  }
  assert(Math.abs(s / n) < 0.03 && Math.abs(ss / n - 1) < 0.03, `mean ${s / n}, var ${ss / n}`);
  const counts = new Array(3).fill(0);
  for (let i = 0; i < 3000; i++) counts[randomInt(r, 3)]++;
  assert(counts.every((c) => c > 900), counts.join());
  assert.deepEqual([...shuffleInPlace(new Uint32Array([3, 1, 2]), r)].sort(), [1, 2, 3]);
});

Deno.test("canonicalJson and hashJson ignore key order and undefined fields", () => {
  assert.deepEqual(canonicalJson({ b: 1, a: [{ y: 2, x: undefined, w: null }] }), '{"a":[{"w":null,"y":2}],"b":1}');
  assert.deepEqual(hashJson({ a: 1, b: 2 }), hashJson({ b: 2, a: 1, c: undefined }));
  assert.notDeepEqual(hashJson({ a: 1 }), hashJson({ a: 2 }));
  assert.deepEqual(hashJson({}).length, 64);
});

Deno.test("atomic writes replace whole files, clean up on failure and name the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a/b.json`;
    await writeJsonAtomic(path, { x: 1 });
    assert.deepEqual(await Deno.readTextFile(path), '{\n  "x": 1\n}\n');
    await assert.rejects(
      () => writeJsonAtomic(path, { x: Infinity }),
      (e) => e instanceof RangeError && e.message.includes(path),
    );
    await assert.rejects(
      () =>
        writeChunksAtomic(path, function* () {
          yield new Uint8Array([1]);
          throw new Error("producer failed");
        }),
      /producer failed/,
    );
    assert.deepEqual(await Deno.readTextFile(path), '{\n  "x": 1\n}\n');
    assert.deepEqual([...Deno.readDirSync(`${dir}/a`)].map((e) => e.name), ["b.json"]);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(
      () => writeBytesAtomic(`${dir}/file/x`, new Uint8Array(1)),
      (e) => e instanceof Error && e.message.includes(`${dir}/file/x`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
