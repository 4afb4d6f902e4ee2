// A CLI process with one fake stage that works in steps until Ctrl-C, then writes a checkpoint.
// Used by cli_test.ts to check real signal handling; argv: <checkpoint file>.
import * as v from "valibot";
import { defineStage } from "../../../tasks/_runtime.ts";
import { processIo, runCli, type StageEntry } from "../mod.ts";

const checkpoint = Deno.args[0];
const stages: Record<string, StageEntry> = {
  work: {
    describe: "count until interrupted",
    examples: [],
    file: new URL(import.meta.url),
    load: () =>
      Promise.resolve({
        stage: defineStage({
          name: "work",
          schema: v.strictObject({}),
          run: async (deps) => {
            let step = 0;
            deps.log.info("ready");
            while (!deps.signal.aborted) {
              step++;
              deps.progress({ label: "work", done: step, unit: "step" });
              await new Promise((r) => setTimeout(r, 10));
            }
            await Deno.writeTextFile(checkpoint, String(step));
            return { message: `checkpoint at step ${step}` };
          },
        }),
      }),
  },
};
Deno.exit(await runCli(["work"], { io: processIo(), stages }));
