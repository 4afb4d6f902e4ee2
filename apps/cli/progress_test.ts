import assert from "node:assert/strict";
import { createProgressBar, formatCount, formatDuration, formatProgress } from "./mod.ts";

Deno.test("formatDuration and formatCount", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(Infinity), "--:--");
  assert.equal(formatDuration(NaN), "--:--");
  assert.equal(formatCount(950), "950");
  assert.equal(formatCount(1234), "1.23k");
  assert.equal(formatCount(12345), "12.3k");
  assert.equal(formatCount(4.5e6), "4.5M");
  assert.equal(formatCount(2.5), "2.5");
  assert.equal(formatCount(1000), "1k");
  assert.equal(formatCount(20_000), "20k");
});

Deno.test("formatProgress shows bar, percentage, counts, rate and ETA", () => {
  const line = formatProgress({ label: "harvest", done: 50, total: 200, unit: "tok", info: "doc 3" }, {
    rate: 10,
    width: 8,
  });
  assert.equal(line, "harvest ██░░░░░░  25.0% 50/200 tok  10 tok/s  ETA 0:15  doc 3");
  assert.equal(formatProgress({ label: "x", done: 7 }, { rate: NaN }), "x 7");
  assert.match(formatProgress({ label: "x", done: 5, total: 10 }, { rate: NaN, width: 4 }), /ETA --:--$/);
  assert.ok(
    formatProgress({ label: "x", done: 10, total: 10 }, { rate: 3, width: 4 }).endsWith("████ 100.0% 10/10  3/s  done"),
  );
});

Deno.test("on a terminal the bar redraws in place, throttled, and ends with a newline", () => {
  let out = "";
  let t = 0;
  const bar = createProgressBar({ write: (s) => (out += s), isTTY: true, now: () => t, width: 4, intervalMs: 100 });
  bar({ label: "train", done: 0, total: 100, unit: "step" });
  t = 50;
  bar({ label: "train", done: 5, total: 100, unit: "step" }); // within 100 ms: not drawn
  t = 1000;
  bar({ label: "train", done: 50, total: 100, unit: "step" });
  const frames = out.split("\r").filter(Boolean);
  assert.equal(frames.length, 2);
  assert.equal(frames[1], "train ██░░  50.0% 50/100 step  50 step/s  ETA 0:01\x1b[K");
  t = 2000;
  bar({ label: "train", done: 100, total: 100, unit: "step" });
  assert.ok(out.endsWith("done\x1b[K\n"));
  out = "";
  bar({ label: "eval", done: 1, total: 4 });
  bar.clear();
  assert.ok(out.endsWith("\r\x1b[K"));
  bar({ label: "eval", done: 2, total: 4 });
  bar({ label: "score", done: 1 }); // a new label closes the previous line
  assert.ok(out.includes("2/4") && out.includes("\n\rscore 1"));
  bar.finish();
  assert.ok(out.endsWith("\n"));
});

Deno.test("in a log, lines are throttled and each label's completion is written", () => {
  const lines: string[] = [];
  let t = 0;
  const bar = createProgressBar({ write: (s) => lines.push(s), isTTY: false, now: () => t, intervalMs: 5000 });
  for (let i = 0; i <= 100; i++) {
    t = i * 100; // 10 s in all
    bar({ label: "harvest", done: i * 10, total: 1000, unit: "tok" });
  }
  assert.equal(lines.length, 3); // t = 0, t = 5 s, completion at t = 10 s
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  assert.ok(lines[1].includes(" 50.0% 500/1k tok  100 tok/s  ETA 0:05"), lines[1]);
  assert.ok(lines[2].includes("100.0% 1k/1k tok  100 tok/s  done"), lines[2]);
});
