import assert from "node:assert/strict";
import { markdownHtml } from "./mod.ts";

Deno.test("markdown notes: the subset renders, raw HTML and unsafe links stay text", () => {
  const note = "Pythia **70m** (*deduped*), see [the card](https://huggingface.co/EleutherAI/pythia-70m).\n\n" +
    "- trained on `the Pile`\n- 6 layers\n\n<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>";
  const html = String(markdownHtml(note));
  assert.equal(
    html,
    '<p>Pythia <strong>70m</strong> (<em>deduped</em>), see <a href="https://huggingface.co/EleutherAI/pythia-70m" ' +
      'rel="noopener noreferrer">the card</a>.</p>\n<ul><li>trained on <code>the Pile</code></li><li>6 layers</li></ul>\n' +
      "<p>&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1)) &lt;img src=x onerror=y&gt;</p>",
  );
  // Quotes in a link target cannot leave the attribute; protocol-relative links are refused.
  assert.equal(
    String(markdownHtml('[a](/x"onclick=y) [b](//evil.example)')),
    '<p><a href="/x&quot;onclick=y" rel="noopener noreferrer">a</a> [b](//evil.example)</p>',
  );
  assert.equal(String(markdownHtml("")), "");
});
