// Opt-in retries: the policy's delays, unary calls reaching a memorid that
// comes up late, Attribute resending under the same keys, no retry without a
// policy, never a retried chat, and a retry stopped by its signal.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  MemoridClient,
  QuotaExceededError,
  RetryPolicy,
  UnavailableError,
  UpstreamUnavailableError,
  toMemoridError,
} from "@memorid/client";
import { API_KEY, freePort, MemoridServer } from "./support/memorid.js";
import { entity, modelName } from "./support/setup.js";
import { FakeUpstream } from "./support/upstream.js";

let upstream: FakeUpstream;
before(async () => {
  upstream = await FakeUpstream.start();
});
after(async () => {
  await upstream.close();
});

test("the policy backs off exponentially with jitter, honours RetryInfo, and gives up", () => {
  const policy = new RetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1_000, maxRetryAfterMs: 30_000 });
  const quota = new QuotaExceededError("slow down", { code: "RESOURCE_EXHAUSTED", retryAfterMs: 7_000 });
  assert.equal(policy.delayMs(1, quota), 7_000);
  const tooLong = new QuotaExceededError("later", { code: "RESOURCE_EXHAUSTED", retryAfterMs: 90_000 });
  assert.equal(policy.delayMs(1, tooLong), undefined);

  const down = new UnavailableError("down", { code: "UNAVAILABLE" });
  assert.equal(policy.delayMs(1, down, () => 0), 50);
  assert.equal(policy.delayMs(1, down, () => 1), 100);
  assert.equal(policy.delayMs(2, down, () => 0), 100);
  assert.equal(policy.delayMs(3, down, () => 1), 400);
  assert.equal(policy.delayMs(6, down, () => 1), undefined); // max attempts (4)
  const capped = new RetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 300, maxAttempts: 10 });
  assert.equal(capped.delayMs(8, down, () => 1), 300);
  assert.equal(policy.delayMs(1, new InvalidArgumentError("bad", { code: "INVALID_ARGUMENT" })), undefined);
  assert.throws(() => new RetryPolicy({ maxAttempts: 0 }), RangeError);
});

test("tonic's CANCELLED \"Timeout expired\" reads as DEADLINE_EXCEEDED", () => {
  const timeout = toMemoridError(new ConnectError("Timeout expired", Code.Canceled));
  assert.ok(timeout instanceof DeadlineExceededError);
  assert.equal(timeout.code, "DEADLINE_EXCEEDED");
  const cancelled = toMemoridError(new ConnectError("Cancelled by the client", Code.Canceled));
  assert.ok(cancelled instanceof CancelledError);
});

test("unary calls and Attribute retry until a memorid that comes up late answers", async () => {
  const port = await freePort();
  const client = new MemoridClient({
    target: `127.0.0.1:${port}`,
    apiKey: API_KEY,
    warnInsecure: false,
    timeoutMs: 30_000,
    retry: { maxAttempts: 60, initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  let server: MemoridServer | undefined;
  const starting = sleep(500).then(async () => {
    server = await MemoridServer.start(upstream, { port });
  });
  try {
    const who = entity();
    const started = Date.now();
    assert.deepEqual((await client.attribution({ entityId: who }).listFacts()).facts, []);
    assert.ok(Date.now() - started >= 400, "the first attempts were refused");
    const [stored] = await client.attribute([
      { attribution: { entityId: who }, messages: [{ role: "user", content: "hello" }] },
    ]);
    assert.equal(stored?.duplicate, false);
  } finally {
    await starting;
    client.close();
    await server?.stop();
  }
});

test("without a policy nothing is retried", async () => {
  const client = new MemoridClient({ target: `127.0.0.1:${await freePort()}`, timeoutMs: 5_000 });
  try {
    const started = Date.now();
    await assert.rejects(client.attribution({ entityId: entity() }).listFacts(), UnavailableError);
    assert.ok(Date.now() - started < 2_000);
  } finally {
    client.close();
  }
});

test("retries stop when the call's signal fires", async () => {
  const client = new MemoridClient({
    target: `127.0.0.1:${await freePort()}`,
    retry: { maxAttempts: 1_000, initialBackoffMs: 100, maxBackoffMs: 100 },
  });
  try {
    const started = Date.now();
    await assert.rejects(
      client.attribution({ entityId: entity() }).listFacts({}, { signal: AbortSignal.timeout(400) }),
      CancelledError,
    );
    assert.ok(Date.now() - started < 2_000);
  } finally {
    client.close();
  }
});

test("closing the client ends a call waiting to retry at once, with its last error", async () => {
  const client = new MemoridClient({
    target: `127.0.0.1:${await freePort()}`,
    retry: { maxAttempts: 1_000, initialBackoffMs: 5_000, maxBackoffMs: 5_000 },
  });
  const call = client.attribution({ entityId: entity() }).listFacts();
  await sleep(300);
  const closedAt = Date.now();
  client.close();
  await assert.rejects(call, UnavailableError);
  assert.ok(Date.now() - closedAt < 500, `the call waited ${Date.now() - closedAt} ms after close()`);
});

test("retries stop before the call's deadline would pass", async () => {
  const client = new MemoridClient({
    target: `127.0.0.1:${await freePort()}`,
    retry: { maxAttempts: 1_000, initialBackoffMs: 200, maxBackoffMs: 200 },
  });
  try {
    const started = Date.now();
    await assert.rejects(client.attribution({ entityId: entity() }).listFacts({}, { timeoutMs: 500 }), UnavailableError);
    assert.ok(Date.now() - started < 1_500);
  } finally {
    client.close();
  }
});

test("a chat stream is never retried, before or after it yielded", async () => {
  const server = await MemoridServer.start(upstream);
  const client = new MemoridClient({
    target: server.target,
    apiKey: API_KEY,
    warnInsecure: false,
    retry: new RetryPolicy({ initialBackoffMs: 10 }),
  });
  try {
    const midStream = modelName();
    upstream.script(midStream, { pieces: ["one", "two"], errorAfter: 1 });
    await assert.rejects(
      client.attribution({ entityId: entity() }).chat({ model: `openai/${midStream}`, messages: [{ role: "user", content: "x" }] }).collect(),
      UpstreamUnavailableError,
    );
    assert.equal(upstream.requests({ model: midStream }).length, 1);

    // Before the first token memorid retries the upstream itself
    // (routing.max_attempts = 2 here); the client adds none.
    const before = modelName();
    upstream.script(before, { reject: { status: 503, body: { error: { message: "busy", type: "server_error" } } } });
    await assert.rejects(
      client.attribution({ entityId: entity() }).chat({ model: `openai/${before}`, messages: [{ role: "user", content: "x" }] }).collect(),
      UpstreamUnavailableError,
    );
    assert.equal(upstream.requests({ model: before }).length, 2);
  } finally {
    client.close();
    await server.stop();
  }
});
