// TLS against the real memorid serving it itself (`server.tls`), with
// certificates from a CA of the test's own (openssl): a CA file or PEM text,
// the certificate's server name, the system's roots refusing the test CA,
// plaintext refused on the TLS port, and client certificates where memorid
// requires them (`client_ca_file`, mTLS).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { CancelledError, MemoridClient, UnavailableError, type TlsOptions } from "@memorid/client";
import { API_KEY, MemoridServer } from "./support/memorid.js";
import { makePki, removePki, SERVER_NAME, type Pki } from "./support/pki.js";
import { entity, modelName, warningsOf } from "./support/setup.js";
import { FakeUpstream } from "./support/upstream.js";

let upstream: FakeUpstream;
let pki: Pki;
let tlsServer: MemoridServer;
let mtlsServer: MemoridServer;

before(async () => {
  pki = makePki();
  upstream = await FakeUpstream.start();
  tlsServer = await MemoridServer.start(upstream, { tls: pki.server });
  mtlsServer = await MemoridServer.start(upstream, { tls: { ...pki.server, clientCaFile: pki.caFile } });
});
after(async () => {
  await tlsServer?.stop();
  await mtlsServer?.stop();
  await upstream?.close();
  if (pki !== undefined) removePki(pki);
});

/** Asserts that a call over these settings fails UNAVAILABLE with no reason: memorid was never reached. */
async function refused(target: string, tls: boolean | TlsOptions | undefined): Promise<void> {
  const client = new MemoridClient({ target, apiKey: API_KEY, tls, timeoutMs: 5_000, warnInsecure: false });
  try {
    await assert.rejects(client.attribution({ entityId: entity() }).listFacts(), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.equal(error.reason, "");
      return true;
    });
  } finally {
    client.close();
  }
}

test("TLS with a CA file and the certificate's server name", async () => {
  const warnings = await warningsOf(async () => {
    const client = new MemoridClient({
      target: `https://127.0.0.1:${tlsServer.port}`,
      apiKey: API_KEY,
      tls: { caFile: pki.caFile, serverName: SERVER_NAME },
    });
    try {
      const mem = client.attribution({ entityId: entity() });
      assert.deepEqual((await mem.listFacts()).facts, []);
      const model = modelName();
      upstream.script(model, { pieces: ["over", " TLS"] });
      assert.equal((await mem.chat({ model: `openai/${model}`, messages: [{ role: "user", content: "hi" }] }).collect()).text, "over TLS");
    } finally {
      client.close();
    }
  });
  assert.deepEqual(warnings, [], "an API key over TLS warns about nothing");
});

test("TLS with the CA as PEM text and tls: {...} on a host:port target", async () => {
  const client = new MemoridClient({ target: `127.0.0.1:${tlsServer.port}`, apiKey: API_KEY, tls: { ca: pki.ca } });
  try {
    assert.equal(await client.health(), true);
    assert.deepEqual((await client.attribution({ entityId: entity() }).listFacts()).facts, []);
  } finally {
    client.close();
  }
});

test("TLS refuses a certificate for another name, and one the system's roots do not know", async () => {
  const target = `https://127.0.0.1:${tlsServer.port}`;
  await refused(target, { caFile: pki.caFile, serverName: "elsewhere.test" });
  await refused(target, true);
});

test("plaintext to memorid's TLS port fails at once", async () => {
  const target = `127.0.0.1:${tlsServer.port}`;
  const client = new MemoridClient({ target, apiKey: API_KEY, timeoutMs: 5_000, warnInsecure: false });
  try {
    const started = Date.now();
    await assert.rejects(client.attribution({ entityId: entity() }).listFacts(), (error: unknown) => {
      // memorid answers the HTTP/2 preface with a TLS alert, which Node's
      // HTTP/2 reads as a malformed frame: it ends the session and cancels
      // the stream, so Connect says CANCELLED (grpc-go and grpcio say
      // UNAVAILABLE). Either way no status came from memorid.
      assert.ok(error instanceof CancelledError || error instanceof UnavailableError, String(error));
      assert.equal(error.reason, "");
      return true;
    });
    assert.ok(Date.now() - started < 4_000, "the call waited for its deadline instead of failing");
  } finally {
    client.close();
  }
});

test("a client certificate is presented where memorid requires one", async () => {
  const target = `https://127.0.0.1:${mtlsServer.port}`;
  for (const tls of [
    { caFile: pki.caFile, ...pki.client },
    // The same certificate as PEM text.
    {
      caFile: pki.caFile,
      cert: readFileSync(pki.client.certFile, "utf8"),
      key: readFileSync(pki.client.keyFile, "utf8"),
    },
  ]) {
    const client = new MemoridClient({ target, apiKey: API_KEY, tls });
    try {
      assert.deepEqual((await client.attribution({ entityId: entity() }).listFacts()).facts, []);
    } finally {
      client.close();
    }
  }
  // Without a certificate, or with one from another CA, memorid ends the handshake.
  await refused(target, { caFile: pki.caFile });
  await refused(target, { caFile: pki.caFile, ...pki.stranger });
});
