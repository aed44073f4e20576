// Cancellation: an AbortSignal, cancel(), break and `await using` each stop
// the call, and memorid stops the upstream request and stores the turn as
// interrupted.

import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError, type AttributionScope, type Session } from "@memorid/client";
import { entity, modelName, useMemorid } from "./support/setup.js";

const env = useMemorid();
const USER = [{ role: "user", content: "Tell me everything" }] as const;

/** The session's only turn once memorid marked it interrupted (or after 10 s). */
async function interruptedTurn(mem: AttributionScope, sessionId: string): Promise<Session["turns"][number]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [turn] = (await mem.getSession(sessionId)).turns;
    assert.ok(turn);
    if (turn.status === "interrupted" || Date.now() > deadline) return turn;
    await sleep(50);
  }
}

test("aborting the signal mid-stream stops the upstream request", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["first", "never sent"], stallAfter: 1 });
  const mem = env.client.attribution({ entityId: entity() });
  const controller = new AbortController();
  const stream = mem.chat({ model: `openai/${model}`, messages: USER }, { signal: controller.signal });
  const seen: string[] = [];
  let sessionId = "";
  await assert.rejects(
    (async () => {
      for await (const event of stream) {
        if (event.type === "started") sessionId = event.sessionId;
        if (event.type === "delta") {
          seen.push(event.text);
          controller.abort(new Error("the user closed the tab"));
        }
      }
    })(),
    (error: unknown) => {
      assert.ok(error instanceof CancelledError, String(error));
      assert.equal(error.code, "CANCELLED");
      assert.match(error.message, /the user closed the tab/);
      return true;
    },
  );
  assert.deepEqual(seen, ["first"]);
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true, "memorid kept the upstream request open");
  const turn = await interruptedTurn(mem, sessionId);
  assert.equal(turn.status, "interrupted");
  assert.equal(turn.messages.at(-1)?.content, "first");
});

test("break out of for await cancels the call", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["first", "never sent"], stallAfter: 1 });
  const mem = env.client.attribution({ entityId: entity() });
  const stream = mem.chat({ model: `openai/${model}`, messages: USER });
  for await (const event of stream) {
    if (event.type === "delta") break;
  }
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true);
  assert.equal((await stream.next()).done, true);
  const started = stream.started;
  assert.ok(started);
  assert.equal((await interruptedTurn(mem, started.sessionId)).status, "interrupted");
});

test("cancel() ends the iteration without an error; collect() then says it was cancelled", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["first", "never sent"], stallAfter: 1 });
  const stream = env.client.attribution({ entityId: entity() }).chat({ model: `openai/${model}`, messages: USER });
  const types: string[] = [];
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === "delta") setTimeout(() => stream.cancel(), 50);
  }
  assert.deepEqual(types, ["started", "delta"]);
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true);
  await assert.rejects(stream.collect(), CancelledError);
});

test("leaving an `await using` block cancels the call", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["first", "never sent"], stallAfter: 1 });
  {
    await using stream = env.client
      .attribution({ entityId: entity() })
      .chat({ model: `openai/${model}`, messages: USER });
    await stream.start();
  }
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true);
});

test("a signal aborted before the first token cancels before anything streams", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["late"], delayMs: 5_000 });
  const stream = env.client
    .attribution({ entityId: entity() })
    .chat({ model: `openai/${model}`, messages: USER }, { signal: AbortSignal.timeout(300) });
  const started = Date.now();
  await assert.rejects(stream.start(), CancelledError);
  assert.ok(Date.now() - started < 2_000);
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true);
});

test("an already aborted signal fails unary calls at once", async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    env.client.attribution({ entityId: entity() }).listFacts({}, { signal: controller.signal }),
    CancelledError,
  );
});
