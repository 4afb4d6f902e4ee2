// One benchmark target in its own process, so that it does not share an event loop with the load
// generator. argv: <kind> <runsDir> <jsonFile>; prints its URL on the first stdout line.
//   saelab           the report server (createApp over the runs folder), default 1 s response reuse
//   saelab-uncached  the same with the response cache off: every request reads the run folder
//   deno-static  Deno.serve answering every request with the bytes of <jsonFile>, read once
//   node-http    node:http reading <jsonFile> from disk on every request
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { startServer } from "@saelab/server";

const [kind, runsDir, jsonFile] = Deno.args;
if (kind === "saelab" || kind === "saelab-uncached") {
  const cacheMs = kind === "saelab" ? 1000 : 0;
  await startServer({ runsDir, port: 0, cacheMs, onListen: (url) => console.log(url) });
} else if (kind === "deno-static") {
  const body = await Deno.readFile(jsonFile);
  Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (a) => console.log(`http://127.0.0.1:${a.port}`) },
    () => new Response(body, { headers: { "content-type": "application/json" } }),
  );
} else if (kind === "node-http") {
  const server = createServer(async (_req, res) => {
    const body = await readFile(jsonFile);
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address() as { port: number };
    console.log(`http://127.0.0.1:${addr.port}`);
  });
} else {
  console.error(`unknown target ${kind}`);
  Deno.exit(2);
}
