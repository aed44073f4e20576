// The examples, run against the real memorid: the SSE relay (deltas reach
// the browser one by one, errors become HTTP statuses, a browser that goes
// away stops the upstream), and the scripts as users run them.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Server } from "node:http";
import { createChatServer } from "../examples/sse-server.js";
import { API_KEY } from "./support/memorid.js";
import { entity, modelName, useMemorid } from "./support/setup.js";
import { Gate } from "./support/upstream.js";

const env = useMemorid();
let app: Server;
let appUrl: string;
const model = modelName();
const alice = entity();

before(async () => {
  await env.ready;
  app = createChatServer({ client: env.client, model: `openai/${model}`, users: { "token-alice": alice } });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/chat`;
});
after(async () => {
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
});

/** Reads SSE events off a fetch body as they arrive. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: unknown }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(frame)?.[1] ?? "message";
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? "null";
      yield { event: name, data: JSON.parse(data) as unknown };
    }
  }
}

function post(message: string, init: RequestInit = {}) {
  return fetch(appUrl, {
    method: "POST",
    headers: { authorization: "Bearer token-alice", "content-type": "application/json" },
    body: JSON.stringify({ message }),
    ...init,
  });
}

test("the SSE relay sends each delta to the browser as the upstream sends it", async () => {
  const gate = new Gate();
  env.upstream.script(model, { pieces: ["Hel", "lo", "!"], gate });
  const response = await post("Hi there");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.ok(response.body);
  const seen: { event: string; data: unknown }[] = [];
  for await (const event of events(response.body)) {
    seen.push(event);
    if (event.event === "delta") {
      // The browser has this piece while the upstream still holds the next.
      const deltas = seen.filter((e) => e.event === "delta").length;
      if (deltas < 3) assert.equal(env.upstream.finishedStreams(model), 0);
      gate.release();
    }
  }
  assert.deepEqual(
    seen.map((e) => e.event),
    ["started", "delta", "delta", "delta", "done"],
  );
  assert.deepEqual(
    seen.filter((e) => e.event === "delta").map((e) => (e.data as { text: string }).text),
    ["Hel", "lo", "!"],
  );
  assert.equal((seen.at(-1)?.data as { finishReason: string }).finishReason, "stop");
  const { sessionId } = seen[0]?.data as { sessionId: string };
  const session = await env.client.attribution({ entityId: alice }).getSession(sessionId);
  assert.equal(session.processId, "sse-example");
  assert.equal(session.turns[0]?.messages[0]?.content, "Hi there");
});

test("a rate-limited upstream is HTTP 429 with Retry-After; a bad user 401", async () => {
  env.upstream.script(model, {
    reject: {
      status: 429,
      body: { error: { message: "slow down", type: "requests" } },
      headers: { "retry-after": "3" },
    },
  });
  const limited = await post("Hi");
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "3");
  const answer = (await limited.json()) as { error: string; message: string };
  assert.equal(answer.error, "UPSTREAM_RATE_LIMITED");
  assert.match(answer.message, /429/);
  const stranger = await fetch(appUrl, { method: "POST", headers: { authorization: "Bearer nope" }, body: "{}" });
  assert.equal(stranger.status, 401);
});

test("a browser that goes away stops the upstream request", async () => {
  env.upstream.script(model, { pieces: ["first", "never"], stallAfter: 1 });
  const browser = new AbortController();
  const response = await post("Tell me a long story", { signal: browser.signal });
  assert.ok(response.body);
  for await (const event of events(response.body)) {
    if (event.event === "delta") break;
  }
  browser.abort();
  assert.equal(await env.upstream.waitForHangup(model, 10_000), true);
});

const run = promisify(execFile);

function exampleEnv(exampleModel: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MEMORID_TARGET: env.server.target,
    MEMORID_API_KEY: API_KEY,
    MEMORID_MODEL: `openai/${exampleModel}`,
    NODE_NO_WARNINGS: "1",
  };
}

function example(name: string): string {
  return new URL(`../examples/${name}.js`, import.meta.url).pathname;
}

test("examples/quickstart prints the deltas, then the recalled fact", async () => {
  const quick = modelName();
  env.upstream.script(quick, { pieces: ["Noted", ", async", " it is."] });
  // The example's fixed entity: start it clean (the file's memorid is shared).
  await env.client.attribution({ entityId: "user_123" }).forgetEntity();
  const { stdout } = await run(process.execPath, [example("quickstart")], { env: exampleEnv(quick), timeout: 60_000 });
  const [answer, ...hits] = stdout.trim().split("\n");
  assert.equal(answer, "Noted, async it is.");
  assert.match(hits[0] ?? "", /^\d\.\d{3} prefers async Python$/);
});

test("examples/error-handling shows the violations and rides out a rate limit", async () => {
  const flaky = modelName();
  env.upstream.script(
    flaky,
    { reject: { status: 429, body: { error: { message: "slow", type: "requests" } }, headers: { "retry-after": "2" } } },
    { pieces: ["Hello", " back"] },
  );
  const { stdout } = await run(process.execPath, [example("error-handling")], {
    env: exampleEnv(flaky),
    timeout: 60_000,
  });
  const lines = stdout.trim().split("\n");
  assert.match(lines[0] ?? "", /^invalid: messages: /);
  assert.equal(lines[1], "rate limited (UPSTREAM_RATE_LIMITED); retrying in 2000 ms");
  assert.equal(lines[2], "answer: Hello back");
});

test("examples/concurrent-users runs 100 chats over one client", async () => {
  const crowd = modelName();
  env.upstream.script(crowd, { pieces: ["hi"] });
  const { stdout } = await run(process.execPath, [example("concurrent-users"), "100"], {
    env: exampleEnv(crowd),
    timeout: 60_000,
  });
  assert.match(stdout, /^100 chats, 100 turns, in \d+ ms$/m);
  assert.equal(env.upstream.requests({ model: crowd }).length, 100);
});
