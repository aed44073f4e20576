// Every error class from a real memorid status, with its details decoded
// from the grpc-status-details-bin trailer; failures before and mid-stream;
// deadlines.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DeadlineExceededError,
  InvalidArgumentError,
  MemoridClient,
  MemoridError,
  NotFoundError,
  QuotaExceededError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRejectedError,
  UpstreamUnauthenticatedError,
  UpstreamUnavailableError,
} from "@memorid/client";
import { freePort } from "./support/memorid.js";
import { entity, modelName, useMemorid } from "./support/setup.js";
import type { Script } from "./support/upstream.js";

const env = useMemorid();
const USER = [{ role: "user", content: "hello" }] as const;

function reject(status: number, type: string, headers: Record<string, string> = {}): Script {
  return {
    reject: { status, body: { error: { message: `fake ${status}`, type, param: null, code: null } }, headers },
  };
}

/** The error `promise` rejects with, checked to be a `cls`. */
async function caught<E extends MemoridError>(promise: Promise<unknown>, cls: abstract new (...a: never[]) => E) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof cls, `expected a ${cls.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected a ${cls.name}, but the call succeeded`);
}

test("INVALID_ARGUMENT names the field in its BadRequest violations", async () => {
  const mem = env.client.attribution({ entityId: entity() });
  const empty = await caught(mem.chat({ model: "openai/gpt-4o-mini", messages: [] }).collect(), InvalidArgumentError);
  assert.equal(empty.code, "INVALID_ARGUMENT");
  assert.equal(empty.grpcCode, 3);
  assert.equal(empty.reason, "INVALID_ARGUMENT");
  assert.equal(empty.domain, "memorid");
  assert.deepEqual(
    empty.violations.map((v) => v.field),
    ["messages"],
  );
  assert.ok(empty.violations[0]?.description);
  assert.equal(empty.name, "InvalidArgumentError");

  const role = await caught(
    mem.attribute([
      { role: "user", content: "x" },
      { role: "robot" as "user", content: "y" },
    ]),
    InvalidArgumentError,
  );
  assert.equal(role.violations[0]?.field, "messages[1].role");

  const longId = await caught(env.client.attribution({ entityId: "x".repeat(200) }).recall("anything"), InvalidArgumentError);
  assert.equal(longId.violations[0]?.field, "attribution.entity_id");
  assert.match(longId.violations[0]?.description ?? "", /128/);

  const badId = await caught(mem.deleteFact("not-a-uuid"), InvalidArgumentError);
  assert.equal(badId.violations[0]?.field, "fact_id");
});

test("a wrong or missing API key is UNAUTHENTICATED", async () => {
  const wrong = env.newClient({ apiKey: "wrong-key" });
  const error = await caught(wrong.attribution({ entityId: entity() }).listFacts(), UnauthenticatedError);
  assert.equal(error.reason, "UNAUTHENTICATED");
  const anonymous = new MemoridClient({ target: env.server.target });
  try {
    await caught(
      anonymous.attribution({ entityId: entity() }).chat({ model: "openai/x", messages: USER }).collect(),
      UnauthenticatedError,
    );
  } finally {
    anonymous.close();
  }
});

test("NOT_FOUND for a missing session or fact", async () => {
  const mem = env.client.attribution({ entityId: entity() });
  const session = await caught(mem.getSession("no-such-session"), NotFoundError);
  assert.equal(session.reason, "NOT_FOUND");
  await caught(mem.deleteFact(crypto.randomUUID()), NotFoundError);
});

test("an upstream 429 is a QuotaExceededError carrying the upstream's retry delay", async () => {
  const model = modelName();
  env.upstream.script(model, reject(429, "requests", { "retry-after": "7" }));
  const error = await caught(
    env.client.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: USER }).start(),
    QuotaExceededError,
  );
  assert.equal(error.code, "RESOURCE_EXHAUSTED");
  assert.equal(error.reason, "UPSTREAM_RATE_LIMITED");
  assert.equal(error.retryAfterMs, 7_000);
  assert.match(String(error), /^QuotaExceededError \[UPSTREAM_RATE_LIMITED\]: /);
});

const beforeFirstToken: [number, abstract new (...a: never[]) => MemoridError, string][] = [
  [500, UpstreamUnavailableError, "UPSTREAM_UNAVAILABLE"],
  [401, UpstreamUnauthenticatedError, "UPSTREAM_UNAUTHENTICATED"],
  [404, NotFoundError, "UPSTREAM_NOT_FOUND"],
  [400, UpstreamRejectedError, "UPSTREAM_REJECTED"],
  [504, DeadlineExceededError, "DEADLINE_EXCEEDED"],
];
for (const [status, cls, reason] of beforeFirstToken) {
  test(`an upstream ${status} before the first token is a ${cls.name} (${reason})`, async () => {
    const model = modelName();
    env.upstream.script(model, reject(status, "server_error"));
    const stream = env.client.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: USER });
    const error = await caught(stream.start(), cls);
    assert.equal(error.reason, reason);
    assert.equal(stream.text, "");
  });
}

test("an error mid-stream throws after the deltas already yielded", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["one", " two", " three"], errorAfter: 2 });
  const seen: string[] = [];
  const stream = env.client.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: USER });
  const error = await caught(
    (async () => {
      for await (const text of stream.textDeltas()) seen.push(text);
    })(),
    UpstreamUnavailableError,
  );
  assert.deepEqual(seen, ["one", " two"]);
  assert.equal(error.reason, "UPSTREAM_UNAVAILABLE");
  assert.equal(stream.completed, undefined);
});

test("a passed deadline is DEADLINE_EXCEEDED, promptly", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["slow"], delayMs: 3_000 });
  const started = Date.now();
  await caught(
    env.client
      .attribution({ entityId: entity() })
      .chat({ model: `openai/${model}`, messages: USER }, { timeoutMs: 500 })
      .collect(),
    DeadlineExceededError,
  );
  assert.ok(Date.now() - started < 2_500, `took ${Date.now() - started} ms`);
  // memorid dropped the upstream request when the deadline passed.
  assert.equal(await env.upstream.waitForHangup(model, 5_000), true);
});

test("chatTimeoutMs is the default deadline of chat streams", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["slow"], delayMs: 3_000 });
  const impatient = env.newClient({ chatTimeoutMs: 400 });
  const started = Date.now();
  const error = await caught(
    impatient.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: USER }).collect(),
    DeadlineExceededError,
  );
  assert.equal(error.code, "DEADLINE_EXCEEDED");
  assert.ok(Date.now() - started < 2_500, `took ${Date.now() - started} ms`);
});

test("connection refused is UNAVAILABLE without a reason", async () => {
  const nowhere = new MemoridClient({ target: `127.0.0.1:${await freePort()}`, timeoutMs: 2_000 });
  try {
    const error = await caught(nowhere.attribution({ entityId: entity() }).listFacts(), UnavailableError);
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.reason, "");
    assert.ok(!(error instanceof UpstreamUnavailableError));
  } finally {
    nowhere.close();
  }
});

test("maxMessageBytes is enforced by the transport", async () => {
  const small = env.newClient({ maxMessageBytes: 1024 });
  const mem = small.attribution({ entityId: entity() });
  await mem.attribute([{ role: "user", content: "short" }]);
  const error = await caught(mem.attribute([{ role: "user", content: "x".repeat(4096) }]), MemoridError);
  assert.equal(error.code, "RESOURCE_EXHAUSTED");
});
