// Chat through the real memorid: deltas mirrored one by one, the whole turn,
// sessions, and 50 concurrent streams on one client.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatEvent } from "@memorid/client";
import { entity, modelName, useMemorid } from "./support/setup.js";
import { Barrier, Gate } from "./support/upstream.js";

const env = useMemorid();
const USER = { role: "user", content: "Tell me a story" } as const;

test("deltas arrive one by one, as the upstream sends them", async () => {
  const model = modelName();
  const gate = new Gate();
  env.upstream.script(model, { pieces: ["Once", " upon", " a time"], gate, usage: [21, 3, 4] });
  const mem = env.client.attribution({ entityId: entity(), processId: "storyteller" });
  const stream = mem.chat({ model: `openai/${model}`, messages: [USER] });
  const events = stream[Symbol.asyncIterator]();

  const started = (await events.next()).value as ChatEvent;
  assert.equal(started.type, "started");
  assert.ok(started.type === "started" && started.turnId && started.sessionId);
  assert.equal(started.type === "started" && started.model, `openai/${model}`);
  // The upstream holds its second piece until the gate opens: the client
  // has the first delta while the rest of the answer does not exist yet.
  assert.deepEqual((await events.next()).value, { type: "delta", text: "Once", toolCalls: [], reasoning: "" });
  assert.equal(env.upstream.finishedStreams(model), 0);
  assert.equal(env.upstream.openStreams(model), 1);
  gate.release();
  assert.deepEqual((await events.next()).value, { type: "delta", text: " upon", toolCalls: [], reasoning: "" });
  assert.equal(env.upstream.finishedStreams(model), 0);
  gate.release();
  assert.deepEqual((await events.next()).value, { type: "delta", text: " a time", toolCalls: [], reasoning: "" });
  const completed = (await events.next()).value as ChatEvent;
  assert.deepEqual(completed, {
    type: "completed",
    turnId: started.type === "started" ? started.turnId : "",
    finishReason: "stop",
    usage: { inputTokens: 21, outputTokens: 3, cachedInputTokens: 4, reasoningTokens: 0 },
  });
  assert.equal((await events.next()).done, true);
  assert.deepEqual(stream.completed, completed);
  assert.equal(stream.text, "Once upon a time");

  // What the upstream got: the user's message last, the model without its
  // provider, a stream with usage asked for.
  const [sent, ...more] = env.upstream.requests({ model });
  assert.equal(more.length, 0);
  const messages = sent?.body["messages"] as { role: string; content: string }[];
  assert.deepEqual(messages.at(-1), { role: "user", content: "Tell me a story" });
  assert.equal(sent?.body["stream"], true);
  assert.equal(sent?.headers["authorization"], "Bearer sk-fake-upstream-key");
});

test("for await over a gated stream sees each delta before the next exists", async () => {
  const model = modelName();
  const gate = new Gate();
  env.upstream.script(model, { pieces: ["a", "b", "c"], gate });
  const seen: string[] = [];
  for await (const text of env.client
    .attribution({ entityId: entity() })
    .chat({ model: `openai/${model}`, messages: [USER] })
    .textDeltas()) {
    seen.push(text);
    // Until the last piece is out, the upstream is still holding the next one.
    if (seen.length < 3) assert.equal(env.upstream.finishedStreams(model), 0, `finished before "${text}" was read`);
    gate.release();
  }
  assert.deepEqual(seen, ["a", "b", "c"]);
  assert.equal(env.upstream.finishedStreams(model), 1);
});

test("collect() returns the whole turn with tool calls, and the session keeps it", async () => {
  const model = modelName();
  env.upstream.script(
    model,
    {
      pieces: ["Let me look."],
      toolCalls: [["call_1", "get_weather", ['{"city":', ' "Lisbon"}']]],
      finishReason: "tool_calls",
    },
    { pieces: ["Sunny."] },
  );
  const mem = env.client.attribution({ entityId: entity(), processId: "weather-bot" });
  const result = await mem
    .chat({
      model: `openai/${model}`,
      messages: [{ role: "user", content: "Weather in Lisbon?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "The weather in a city",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          },
        },
      ],
      temperature: 0.2,
      maxTokens: 50,
      metadata: { ticket: "T-1" },
    })
    .collect();
  assert.equal(result.text, "Let me look.");
  assert.equal(result.finishReason, "tool_calls");
  assert.deepEqual(result.toolCalls, [{ id: "call_1", name: "get_weather", arguments: '{"city": "Lisbon"}' }]);
  const first = env.upstream.requests({ model })[0];
  const tools = first?.body["tools"] as { function: { name: string; parameters: unknown } }[];
  assert.equal(tools[0]?.function.name, "get_weather");
  assert.deepEqual(tools[0]?.function.parameters, {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
  });
  assert.equal(first?.body["temperature"], 0.2);

  // The next turn continues the session; memorid prepends the history.
  const followUp = await mem
    .withSession(result.sessionId)
    .chat({
      model: `openai/${model}`,
      messages: [{ role: "tool", tool_call_id: "call_1", content: '{"sky": "clear"}' }],
    })
    .collect();
  assert.equal(followUp.sessionId, result.sessionId);
  const history = env.upstream.requests({ model })[1]?.body["messages"] as { role: string }[];
  assert.deepEqual(
    history.slice(-3).map((m) => m.role),
    ["user", "assistant", "tool"],
  );

  const session = await mem.getSession(result.sessionId);
  assert.equal(session.entityId, mem.entityId);
  assert.equal(session.processId, "weather-bot");
  assert.deepEqual(
    session.turns.map((t) => t.status),
    ["completed", "completed"],
  );
  const [t1, t2] = session.turns;
  assert.deepEqual(t1?.metadata, { ticket: "T-1" });
  assert.deepEqual(
    t1?.messages.map((m) => m.role),
    ["user", "assistant"],
  );
  assert.equal(t1?.messages[1]?.toolCalls?.[0]?.name, "get_weather");
  assert.deepEqual(t2?.messages[0], { role: "tool", content: '{"sky": "clear"}', toolCallId: "call_1" });
  assert.equal(t2?.usage?.outputTokens, 3);
  assert.ok(session.createdAt instanceof Date && session.updatedAt instanceof Date);
});

test("start() returns the started event and iteration still yields it first", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["x"] });
  const stream = env.client
    .attribution({ entityId: entity() })
    .chat({ model: `openai/${model}`, messages: [USER], memory: { recall: false, history: false } });
  const started = await stream.start();
  const types: string[] = [];
  for await (const event of stream) types.push(event.type);
  assert.deepEqual(types, ["started", "delta", "completed"]);
  assert.equal(stream.started, started);
  assert.throws(() => stream[Symbol.asyncIterator](), /only once/);
});

test("50 concurrent streams share one client, all open at once", async () => {
  const model = modelName();
  // No stream gets its first piece before all 50 are open upstream: they
  // really run at the same time over the client's one connection.
  const barrier = new Barrier(50);
  env.upstream.script(model, { pieces: ["hi", " there"], barrier });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, n) =>
      env.client
        .attribution({ entityId: `crowd-${model}-${n}` })
        .chat({ model: `openai/${model}`, messages: [{ role: "user", content: `I am user ${n}` }] })
        .collect(),
    ),
  );
  assert.equal(barrier.waiting, 50);
  assert.deepEqual(
    results.map((r) => r.text),
    Array(50).fill("hi there"),
  );
  assert.equal(new Set(results.map((r) => r.turnId)).size, 50);
  const received = env.upstream.requests({ model }).map((r) => {
    const messages = r.body["messages"] as { content: string }[];
    return messages.at(-1)?.content;
  });
  assert.deepEqual(received.sort(), Array.from({ length: 50 }, (_, n) => `I am user ${n}`).sort());
});
