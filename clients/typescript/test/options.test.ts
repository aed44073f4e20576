// Connection options against the real memorid: the warning for a key sent in
// the clear, HTTP/2 keepalive noticing a dead path, targets, the version
// (TLS is in tls.test.ts).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoridClient, UnavailableError, VERSION } from "@memorid/client";
import { API_KEY } from "./support/memorid.js";
import { Proxy } from "./support/proxy.js";
import { entity, modelName, useMemorid, warningsOf } from "./support/setup.js";
import { Gate } from "./support/upstream.js";

const env = useMemorid();

test("an API key sent without TLS warns once per client; warnInsecure: false silences it", async () => {
  const warned = await warningsOf(() => new MemoridClient({ target: env.server.target, apiKey: API_KEY }).close());
  assert.equal(warned.length, 1);
  assert.equal(warned[0]?.name, "MemoridInsecureApiKeyWarning");
  assert.match(warned[0]?.message ?? "", /without TLS/);
  const quiet = await warningsOf(() =>
    new MemoridClient({ target: env.server.target, apiKey: API_KEY, warnInsecure: false }).close(),
  );
  assert.deepEqual(quiet, []);
  const keyless = await warningsOf(() => new MemoridClient({ target: env.server.target }).close());
  assert.deepEqual(keyless, []);
});

test("keepalive pings notice a dead connection under an open stream", async () => {
  const proxy = await Proxy.tcp(env.server.port);
  const client = new MemoridClient({
    target: `127.0.0.1:${proxy.port}`,
    apiKey: API_KEY,
    warnInsecure: false,
    keepalive: { intervalMs: 200, timeoutMs: 500 },
  });
  try {
    const model = modelName();
    const gate = new Gate();
    env.upstream.script(model, { pieces: ["alive", "never"], gate });
    const stream = client.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: [{ role: "user", content: "hi" }] });
    const events = stream[Symbol.asyncIterator]();
    assert.equal((await events.next()).value?.type, "started");
    assert.equal((await events.next()).value?.type, "delta");
    // Quiet but healthy for several ping intervals: the pings are answered.
    await sleep(800);
    proxy.freeze();
    const frozenAt = Date.now();
    await assert.rejects(events.next(), UnavailableError);
    const noticed = Date.now() - frozenAt;
    assert.ok(noticed < 3_000, `a dead path went unnoticed for ${noticed} ms`);
    gate.release();
  } finally {
    client.close();
    await proxy.close();
  }
});

test("targets: host:port, http(s):// with default ports, IPv6; bad ones are refused", () => {
  const made = (target: string) => {
    const client = new MemoridClient({ target });
    client.close();
    return client.target;
  };
  assert.equal(made("localhost:50051"), "localhost:50051");
  assert.equal(made("https://memorid.example.com"), "memorid.example.com:443");
  assert.equal(made("http://memorid.internal"), "memorid.internal:80");
  assert.equal(made("http://127.0.0.1:8080/"), "127.0.0.1:8080");
  assert.equal(made("[::1]:50051"), "[::1]:50051");
  assert.throws(() => made("ftp://x:1"), /unsupported target scheme/);
  assert.throws(() => made("memorid"), /needs a port/);
  assert.throws(() => made("https://x:1/api"), /no path/);
  assert.throws(() => new MemoridClient({ target: "https://x", tls: false }), /needs TLS/);
  assert.throws(() => new MemoridClient({ target: "x:1", tls: { caFile: "/nonexistent" } }), /ENOENT/);
  // Half a client certificate is refused, naming both halves.
  const half = /both cert \(or certFile\) and key \(or keyFile\)/;
  assert.throws(() => new MemoridClient({ target: "x:1", tls: { certFile: "/nonexistent" } }), half);
  assert.throws(() => new MemoridClient({ target: "x:1", tls: { key: "PEM" } }), half);
  assert.throws(() => new MemoridClient({ target: "x:1", tls: { certFile: "/nonexistent", keyFile: "/none" } }), /ENOENT/);
  assert.throws(() => env.client.attribution({ entityId: "" }), /entityId is required/);
});

test("VERSION is the package's version", () => {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  assert.equal(VERSION, manifest.version);
});
