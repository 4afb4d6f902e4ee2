import assert from "node:assert/strict";
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import { Tokenizer, type TokenizerJson } from "./mod.ts";
import { codeText, hasPythia, mixedText, mobyDickText, readPythia } from "./_testdata.ts";

const present = hasPythia();

/** Asserts equal id arrays, reporting the first difference with the tokens around it. */
function assertSameIds(what: string, { ours, peer, tok }: { ours: number[]; peer: number[]; tok: Tokenizer }): void {
  let i = 0;
  while (i < ours.length && ours[i] === peer[i]) i++;
  if (i === ours.length && i === peer.length) return;
  const around = (ids: number[]) => ids.slice(Math.max(0, i - 3), i + 4).map((id) => tok.idToToken(id));
  assert.fail(
    `${what}: ids differ at ${i} of ${ours.length}/${peer.length}: ${JSON.stringify(around(ours))} vs ${
      JSON.stringify(around(peer))
    }`,
  );
}

Deno.test({
  name: "Pythia: ids and decoded text equal @huggingface/tokenizers on Moby-Dick, code and mixed Unicode",
  ignore: !present,
  fn: () => {
    const json = readPythia("tokenizer.json") as TokenizerJson;
    const ours = Tokenizer.fromJSON(json);
    const peer = new PeerTokenizer(json, readPythia("tokenizer_config.json") as object);
    // The mixed text leaves out U+0085 (NEL): Hugging Face's Rust tokenizers (Oniguruma) count it as
    // whitespace and so do we; the JavaScript peer does not (see pretokenize_test.ts).
    const texts: Array<[string, string]> = [
      ["Moby-Dick", mobyDickText()],
      ["code", codeText()],
      ["mixed Unicode", mixedText(21, 300_000)],
    ];
    let bytes = 0;
    for (const [what, text] of texts) {
      bytes += new TextEncoder().encode(text).length;
      const ids = ours.encode(text);
      const peerIds = peer.encode(text, { add_special_tokens: false }).ids;
      assertSameIds(what, { ours: ids, peer: peerIds, tok: ours });
      assert.equal(ours.decode(ids), peer.decode(peerIds), `${what}: decoded text`);
      assert.ok(ids.length > text.length / 8, `${what}: ${ids.length} tokens`);
    }
    assert.ok(bytes > 1_500_000, `${bytes} bytes compared`);
  },
});
