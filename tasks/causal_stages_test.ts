import assert from "node:assert/strict";
import type { ActivationStore } from "@saelab/activations";
import type { DictEntry, SaeCfg } from "@saelab/runs";
import { defaultMembers, entryHook } from "./_causal.ts";
import { memberSpec, storeWindows } from "./_companions.ts";

function entry(name: string, cfg: Partial<SaeCfg>): DictEntry {
  return {
    name,
    kind: "sae",
    cfg: { status: "ok", value: { d_in: 8, d_sae: 32, ...cfg } as SaeCfg },
    eval: { status: "missing" },
    hasFeatures: false,
  };
}

Deno.test("default members: untied, largest ratio, one per α in increasing order, at the hook only", () => {
  const hook = "blocks.2.hook_resid_post";
  const entries = [
    entry("untied_r4_a1.0e-2", { l1_coefficient: 1e-2, hook_name: hook }),
    entry("untied_r4_a1.0e-4", { l1_coefficient: 1e-4, hook_name: hook }),
    entry("untied_r2_a1.0e-3", { d_sae: 16, l1_coefficient: 1e-3, hook_name: hook }),
    entry("tied_r4_a1.0e-3", { l1_coefficient: 1e-3, hook_name: hook }),
    entry("untied_r4_a1.0e-3", { l1_coefficient: 1e-3, metadata: { hook_name: hook } }),
    entry("untied_r4_a3.0e-3", { l1_coefficient: 3e-3, hook_name: "blocks.1.hook_resid_post" }),
  ];
  assert.deepEqual(defaultMembers(entries, hook, 3).map((e) => e.name), [
    "untied_r4_a1.0e-4",
    "untied_r4_a1.0e-3",
    "untied_r4_a1.0e-2",
  ]);
  assert.equal(entryHook(entries[4]), hook);
});

Deno.test("member recipes from cfg.json", () => {
  const base = { d_in: 8, d_sae: 32, l1_coefficient: 3e-3 } as SaeCfg;
  assert.deepEqual(memberSpec({ ...base, kind: "untied" }), { kind: "untied", dIn: 8, dDict: 32, l1: 3e-3 });
  assert.equal(memberSpec({ ...base, tied: true }).kind, "tied");
  assert.deepEqual(memberSpec({ ...base, architecture: "topk", activation_fn_kwargs: { k: 4 } }), {
    kind: "topk",
    dIn: 8,
    dDict: 32,
    l1: 3e-3,
    k: 4,
  });
});

Deno.test("windows from a store: consecutive positions of one document only", async () => {
  // rows: doc 0 positions 0–4, doc 1 positions 0–2, doc 0 positions 7–12 (a gap)
  const doc = [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0];
  const pos = [0, 1, 2, 3, 4, 0, 1, 2, 7, 8, 9, 10, 11, 12];
  const token = pos.map((p, i) => 100 * doc[i] + p);
  const store = {
    async *sequential() {
      for (let at = 0; at < doc.length; at += 5) {
        const end = Math.min(at + 5, doc.length);
        yield {
          rows: end - at,
          doc: Int32Array.from(doc.slice(at, end)),
          pos: Int32Array.from(pos.slice(at, end)),
          token: Int32Array.from(token.slice(at, end)),
        };
      }
    },
  } as unknown as ActivationStore;
  assert.deepEqual(await storeWindows(store, { length: 3, count: 10, split: "train" }), [
    [0, 1, 2],
    [100, 101, 102],
    [7, 8, 9],
    [10, 11, 12],
  ]);
  assert.deepEqual(await storeWindows(store, { length: 3, count: 1, split: "train" }), [[0, 1, 2]]);
});
