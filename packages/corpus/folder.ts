/**
 * A folder of `.txt` and `.jsonl` files as a text source.
 *
 * @module
 */
import { checkSourceName, type Document, makeDocument, type TextSource } from "./document.ts";

/** Options for {@linkcode folderSource}. */
export interface FolderSourceOptions {
  /** Source name (id prefix). Default: the folder's base name. */
  name?: string;
  /** Field of each JSON line that holds the text. Default: `"text"`. */
  field?: string;
  /**
   * Field of each JSON line that holds a stable key; without it (or when a line lacks it)
   * the key is the line number.
   */
  idField?: string;
  /** Other fields of JSON lines kept as metadata when they are strings or numbers. Default: none. */
  metaFields?: readonly string[];
  /** Descend into sub-folders. Default: true. */
  recursive?: boolean;
}

/**
 * A source reading every `.txt` file (one document each, key = relative path) and every
 * `.jsonl` file (one document per non-empty line, key = `path#line` or `path#<idField>`) under a folder,
 * in sorted path order. Files are read one at a time, as documents are consumed.
 *
 * @param dir The folder.
 * @param options Name, JSON field names, recursion.
 * @returns The source.
 * @example
 * ```ts ignore
 * import { folderSource, loadDocuments } from "@saelab/corpus";
 * const docs = await loadDocuments([folderSource("data/texts", { field: "body" })]);
 * ```
 */
export function folderSource(dir: string, options: FolderSourceOptions = {}): TextSource {
  const trimmed = dir.replace(/[\\/]+$/, "");
  const name = options.name ?? (trimmed.split(/[\\/]/).pop() || "folder");
  checkSourceName(name);
  const field = options.field ?? "text";
  return {
    name,
    async *documents(): AsyncGenerator<Document> {
      const files = await listFiles(trimmed, "", options.recursive ?? true);
      for (const rel of files) {
        const path = `${trimmed}/${rel}`;
        const text = await Deno.readTextFile(path);
        if (rel.endsWith(".txt")) {
          yield makeDocument(name, { key: rel, text });
          continue;
        }
        const lines = text.split("\n");
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i].trim();
          if (line.length === 0) continue;
          yield jsonLineDocument(name, line, { rel, lineNo: i + 1, field, options });
        }
      }
    },
  };
}

function jsonLineDocument(
  name: string,
  line: string,
  at: { rel: string; lineNo: number; field: string; options: FolderSourceOptions },
): Document {
  const where = `${at.rel}:${at.lineNo}`;
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new TypeError(`Cannot read ${where}: the line is not valid JSON (${(e as Error).message})`);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new TypeError(`Cannot read ${where}: the line is not a JSON object`);
  }
  const record = obj as Record<string, unknown>;
  const text = record[at.field];
  if (typeof text !== "string") {
    throw new TypeError(`Cannot read ${where}: field "${at.field}" is missing or not a string`);
  }
  const id = at.options.idField === undefined ? undefined : record[at.options.idField];
  const key = typeof id === "string" || typeof id === "number" ? `${at.rel}#${id}` : `${at.rel}#${at.lineNo}`;
  const meta: Record<string, string | number> = {};
  for (const f of at.options.metaFields ?? []) {
    const v = record[f];
    if (typeof v === "string" || typeof v === "number") meta[f] = v;
  }
  return makeDocument(name, Object.keys(meta).length > 0 ? { key, text, meta } : { key, text });
}

async function listFiles(root: string, rel: string, recursive: boolean): Promise<string[]> {
  const here = rel ? `${root}/${rel}` : root;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(here));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(`Cannot read the text folder ${here}: it does not exist`);
    }
    throw e;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory && recursive) out.push(...await listFiles(root, path, recursive));
    else if (e.isFile && (e.name.endsWith(".txt") || e.name.endsWith(".jsonl"))) out.push(path);
  }
  return out;
}
