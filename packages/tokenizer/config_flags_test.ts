import assert from "node:assert/strict";
import { checkTokenizerJson } from "./config.ts";
import { trainBpe } from "./mod.ts";

const base = trainBpe(["a cat sat on a mat, a rat sat on a hat"], { vocabSize: 270 });

Deno.test("the decoder's and post-processor's flags must be JSON booleans, and the file is named", () => {
  for (const part of ["decoder", "post_processor"] as const) {
    for (const key of ["add_prefix_space", "trim_offsets", "use_regex"]) {
      for (const bad of ["false", "true", 0, 1]) {
        const json = { ...structuredClone(base), [part]: { type: "ByteLevel", [key]: bad } };
        assert.throws(
          () => checkTokenizerJson(json, { file: "m/tokenizer.json" }),
          (e) =>
            e instanceof TypeError &&
            e.message ===
              `Cannot load tokenizer m/tokenizer.json: ${part}.${key} must be true or false, got ${
                JSON.stringify(bad)
              }`,
          `${part}.${key} ${JSON.stringify(bad)}`,
        );
      }
      for (const good of [true, false, null]) {
        checkTokenizerJson({ ...structuredClone(base), [part]: { type: "ByteLevel", [key]: good } });
      }
    }
  }
});
