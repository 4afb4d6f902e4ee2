import assert from "node:assert/strict";
import { makeDemoRun } from "@saelab/runs";
import { createApp } from "./mod.ts";
import { splitHost } from "./host.ts";

const runs = await Deno.makeTempDir({ prefix: "saelab-host-test-" });
await makeDemoRun(runs, 1, { id: "demo" });
const app = createApp({ runsDir: runs, assets: new Map(), port: 8080, requireHost: true });
const ask = (url: string, init: RequestInit = {}) => app.request(url, init);

Deno.test("splitHost reads names, ports and bracketed IPv6, and refuses what is not a host", () => {
  assert.deepEqual(splitHost("LocalHost:8080"), { name: "localhost", port: 8080 });
  assert.deepEqual(splitHost("127.0.0.1"), { name: "127.0.0.1", port: undefined });
  assert.deepEqual(splitHost("[::1]:1"), { name: "[::1]", port: 1 });
  for (const bad of ["", " ", "a b", "x:99999", "user@localhost", "localhost/x", "[::1", "::1"]) {
    assert.equal(splitHost(bad), null, bad);
  }
});

Deno.test("loopback names on the bound port are served", async () => {
  for (const host of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST", "127.0.0.1"]) {
    const res = await ask("http://127.0.0.1:8080/api/runs", { headers: { host } });
    assert.equal(res.status, 200, host);
    await res.body?.cancel();
  }
});

Deno.test("a foreign, empty, malformed or missing Host gets 421 with the security headers", async () => {
  for (const host of ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1:9999", "", "a b"]) {
    const res = await ask("http://127.0.0.1:8080/api/runs", { headers: { host } });
    assert.equal(res.status, 421, JSON.stringify(host));
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.doesNotMatch(await res.text(), /demo|saelab-host-test/);
  }
  const none = await ask("http://127.0.0.1:8080/api/runs");
  assert.equal(none.status, 421);
  assert.match(await none.text(), /no Host header/);
});

Deno.test("an absolute-form target naming another host gets 421 even with a loopback Host", async () => {
  const res = await ask("http://evil.example/api/runs", { headers: { host: "127.0.0.1:8080" } });
  assert.equal(res.status, 421);
  await res.body?.cancel();
});

Deno.test("methods other than GET and HEAD get 405 with Allow: GET, HEAD", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const res = await ask("http://localhost:8080/api/runs", { method, headers: { host: "localhost:8080" } });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await res.body?.cancel();
  }
  const head = await ask("http://localhost:8080/api/runs", { method: "HEAD", headers: { host: "localhost:8080" } });
  assert.equal(head.status, 200);
});

Deno.test("the Host check comes before the method check", async () => {
  const res = await ask("http://127.0.0.1:8080/", { method: "POST", headers: { host: "evil.example" } });
  assert.equal(res.status, 421);
  await res.body?.cancel();
});

Deno.test("without requireHost an in-process request (no Host header) is judged by its URL", async () => {
  const plain = createApp({ runsDir: runs, assets: new Map() });
  assert.equal((await plain.request("/api/runs")).status, 200);
  const foreign = await plain.request("http://evil.example/api/runs");
  assert.equal(foreign.status, 421);
  const extra = createApp({ runsDir: runs, assets: new Map(), hosts: ["sae.lab"] });
  assert.equal((await extra.request("http://sae.lab/api/runs")).status, 200);
  assert.equal((await extra.request("http://localhost/api/runs")).status, 421);
});
