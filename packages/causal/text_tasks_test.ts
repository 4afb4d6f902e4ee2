import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Tokenizer } from "@saelab/tokenizer";
import { checkTask, IOI_NAMES, ioiTask, PHRASES, phraseTask, repeatTask } from "./mod.ts";

const path = "../shared/reference/pythia-tokenizer/tokenizer.json";
const have = existsSync(path);
if (!have) console.warn(`skipping the tokenizer-aware task tests: ${path} is absent`);
const tok = have ? await Tokenizer.fromFile(path) : null;

Deno.test({
  name: "IOI pairs for the Pythia tokenizer: single-token names, equal lengths, answers the two names",
  ignore: !have,
  fn() {
    const { task, names, droppedNames } = ioiTask(tok!, { pairs: 60, seed: 1 });
    assert.equal(task.pairs.length, 60);
    assert.equal(names.length + droppedNames.length, IOI_NAMES.length);
    for (const n of names) assert.equal(tok!.encode(" " + n).length, 1, n);
    for (const n of droppedNames) assert.ok(tok!.encode(" " + n).length > 1, n);
    checkTask(task, { vocabSize: tok!.vocabSize, maxPositions: 2048 });
    for (const p of task.pairs) {
      assert.equal(p.clean[0], 0, "starts with <|endoftext|>");
      assert.equal(tok!.decode(p.clean.slice(1)), p.text!.clean);
      const io = tok!.decode([p.answers!.clean]).trim(), other = tok!.decode([p.answers!.counterfactual]).trim();
      assert.notEqual(io, other);
      // the indirect object appears once, the subject twice; the counterfactual swaps only the indirect object
      assert.equal(p.text!.clean.split(` ${io} `).length + p.text!.clean.split(` ${io},`).length - 2, 1);
      assert.equal(p.text!.counterfactual, p.text!.clean.replace(new RegExp(`\\b${io}\\b`), other));
      const diff = p.clean.flatMap((t, i) => (t !== p.counterfactual[i] ? [i] : []));
      assert.equal(diff.length, 1);
      assert.ok(p.text!.clean.endsWith(" to"));
    }
    // seeded
    assert.deepEqual(ioiTask(tok!, { pairs: 5, seed: 1 }).task.pairs, task.pairs.slice(0, 5));
  },
});

Deno.test({
  name: "repeat and phrase tasks: the counterfactual changes one earlier token and the answer",
  ignore: !have,
  fn() {
    const rep = repeatTask(tok!, { pairs: 10, length: 6, shown: 2, seed: 2 });
    checkTask(rep, { vocabSize: tok!.vocabSize, maxPositions: 2048 });
    for (const p of rep.pairs) {
      const s = p.clean.slice(1);
      assert.equal(s.length, 8);
      assert.deepEqual(s.slice(6), s.slice(0, 2), "the sequence starts again");
      assert.equal(p.answers!.clean, s[2]);
      assert.equal(p.counterfactual[3], p.answers!.counterfactual);
      assert.ok(!s.includes(p.answers!.counterfactual));
    }
    const ph = phraseTask(tok!, { pairs: 12 });
    for (const p of ph.pairs) {
      const first = p.text!.clean.split(" ").at(-1);
      assert.ok(PHRASES.some(([a, b]) => a === first && tok!.decode([p.answers!.clean]) === ` ${b}`), first);
    }
    for (const p of ph.pairs) assert.equal(p.clean.length, p.counterfactual.length);
    assert.throws(() => repeatTask(tok!, { length: 3, shown: 3 }), RangeError);
  },
});
