/**
 * A small, safe subset of Markdown for notes written into run files (the model card note):
 * paragraphs, `-`/`*` lists, `` `code` ``, `**bold**`, `*emphasis*` and `[links](https://…)`.
 * Every character of the source is escaped; raw HTML in the note shows as text, and a link keeps
 * only `http(s)://`, site-relative (`/…`) and `#…` targets.
 *
 * @module
 */
import { type Html, joinHtml, markup } from "./html.ts";

const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\*([^*\n]+)\*|\[([^\]\n]+)\]\(([^)\s]+)\)/g;

const safeUrl = (url: string) => /^(https?:\/\/|\/(?!\/)|#)/i.test(url);

function inline(text: string): Html {
  const parts: Html[] = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    parts.push(markup`${text.slice(at, m.index)}`);
    const [whole, code, bold, em, label, url] = m;
    if (code !== undefined) parts.push(markup`<code>${code}</code>`);
    else if (bold !== undefined) parts.push(markup`<strong>${inline(bold)}</strong>`);
    else if (em !== undefined) parts.push(markup`<em>${inline(em)}</em>`);
    else if (safeUrl(url)) parts.push(markup`<a href="${url}" rel="noopener noreferrer">${inline(label)}</a>`);
    else parts.push(markup`${whole}`);
    at = m.index + whole.length;
  }
  parts.push(markup`${text.slice(at)}`);
  return joinHtml(parts);
}

/**
 * Render a note's Markdown subset as HTML; everything else is escaped text.
 *
 * @param text The note.
 * @returns Paragraphs and lists.
 * @example
 * ```ts
 * import { markdownHtml } from "@saelab/report";
 * String(markdownHtml("**Pythia** <b>70m</b>")); // "<p><strong>Pythia</strong> &lt;b&gt;70m&lt;/b&gt;</p>"
 * ```
 */
export function markdownHtml(text: string): Html {
  const blocks = text.replaceAll("\r\n", "\n").split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return joinHtml(
    blocks.map((block) => {
      const lines = block.split("\n");
      if (lines.every((l) => /^\s*[-*]\s+/.test(l))) {
        return markup`<ul>${lines.map((l) => markup`<li>${inline(l.replace(/^\s*[-*]\s+/, ""))}</li>`)}</ul>`;
      }
      return markup`<p>${inline(lines.join(" "))}</p>`;
    }),
    "\n",
  );
}
