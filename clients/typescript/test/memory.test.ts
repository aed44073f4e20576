// Attribute, augmentation, recall and the fact/session management calls,
// through the real memorid and the fake's rule-based extraction model.

import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError, MemoridClient, NotFoundError, type RecallHit } from "@memorid/client";
import { KEYS } from "./support/memorid.js";
import { entity, modelName, useMemorid } from "./support/setup.js";

const env = useMemorid();

function turn(text: string, reply = "Noted.") {
  return [
    { role: "user", content: text },
    { role: "assistant", content: reply },
  ] as const;
}

test("recall after waitForAugmentation returns the facts extracted from a chat", async () => {
  const model = modelName();
  env.upstream.script(model, { pieces: ["Nice", "!"] });
  const mem = env.client.attribution({ entityId: entity(), processId: "coding-agent" });
  const chat = await mem
    .chat({ model: `openai/${model}`, messages: [{ role: "user", content: "I prefer async Python. I live in Lisbon." }] })
    .collect();
  const status = await mem.waitForAugmentation({ timeoutMs: 30_000 });
  assert.deepEqual(status, { completed: true, pendingJobs: 0, deadJobs: 0 });

  const hits = await mem.recall("what are my python preferences", { limit: 5, includeScoreParts: true });
  assert.ok(hits.length > 0, "recall found nothing after augmentation");
  const best = hits[0] as RecallHit;
  assert.equal(best.kind, "fact");
  assert.equal(best.content, "prefers async Python");
  assert.ok(best.kind === "fact" && best.fact.category === "preference");
  assert.ok(best.kind === "fact" && best.fact.firstSeenAt instanceof Date);
  assert.deepEqual(best.kind === "fact" && best.fact.sourceTurnIds, [chat.turnId]);
  assert.ok((best.scoreParts?.dense ?? 0) > 0);
  assert.deepEqual(
    hits.map((h) => h.score),
    hits.map((h) => h.score).sort((a, b) => b - a),
  );
  assert.ok(hits.every((h) => ["prefers async Python", "lives in Lisbon"].includes(h.content)));

  // The extraction model got memorid's schema'd request for this turn.
  const extraction = env.upstream
    .requests({ extraction: true })
    .filter((r) => JSON.stringify(r.body).includes("I prefer async Python"));
  assert.equal(extraction.length, 1);

  // Past messages too, when asked for, as a stream.
  const messages: RecallHit[] = [];
  for await (const hit of mem.recallStream("Lisbon", { kinds: ["message"], limit: 3 })) messages.push(hit);
  assert.equal(messages[0]?.kind, "message");
  assert.equal(messages[0]?.kind === "message" && messages[0].message.turnId, chat.turnId);
  assert.equal(messages[0]?.kind === "message" && messages[0].message.role, "user");
});

test("attribute is idempotent by key", async () => {
  const who = entity();
  const mem = env.client.attribution({ entityId: who, sessionId: `s-${who}` });
  const first = await mem.attribute(turn("I use vim."), { idempotencyKey: "turn-42" });
  const again = await mem.attribute(turn("I use vim."), { idempotencyKey: "turn-42" });
  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true);
  assert.equal(again.turnId, first.turnId);
  assert.equal(again.sessionId, `s-${who}`);
  assert.equal(first.sessionId, `s-${who}`);
  const session = await mem.getSession();
  assert.deepEqual(
    session.turns.map((t) => t.turnId),
    [first.turnId],
  );
});

test("many turns go in one Attribute stream, answered in order", async () => {
  const who = entity();
  const when = new Date("2026-01-02T03:04:05Z");
  const attribution = { entityId: who, processId: "importer", sessionId: `s-${who}` };
  const results = await env.client.attribute(
    Array.from({ length: 5 }, (_, n) => ({
      attribution,
      messages: turn(`message ${n}`),
      occurredAt: new Date(when.getTime() + n * 60_000),
      metadata: { n: String(n) },
    })),
  );
  assert.equal(results.length, 5);
  assert.equal(new Set(results.map((r) => r.turnId)).size, 5);
  assert.ok(results.every((r) => /^[0-9a-f-]{36}$/.test(r.idempotencyKey)), "keys are made up when absent");
  const session = await env.client.getSession({ entityId: who, sessionId: `s-${who}` });
  assert.deepEqual(
    session.turns.map((t) => t.metadata["n"]),
    ["0", "1", "2", "3", "4"],
  );
  assert.equal(session.turns[0]?.occurredAt?.getTime(), when.getTime());
  assert.equal(session.processId, "importer");
});

test("facts: list in pages, iterate, delete, forget", async () => {
  const mem = env.client.attribution({ entityId: entity() });
  await mem.attribute(turn("I like tea. I speak Portuguese. I have two cats."));
  assert.equal((await mem.waitForAugmentation()).completed, true);
  const page = await mem.listFacts({ pageSize: 2 });
  assert.equal(page.facts.length, 2);
  assert.ok(page.nextPageToken);
  const every = [];
  for await (const fact of mem.facts({ pageSize: 2 })) every.push(fact);
  assert.deepEqual(every.map((f) => f.content).sort(), ["has two cats", "likes tea", "speaks Portuguese"]);
  assert.ok(every.every((f) => f.mentionCount === 1 && f.firstSeenAt instanceof Date));

  const tea = every.find((f) => f.content === "likes tea");
  assert.ok(tea);
  await mem.deleteFact(tea.id);
  const left = [];
  for await (const fact of mem.facts()) left.push(fact.content);
  assert.ok(!left.includes("likes tea"));
  await assert.rejects(mem.deleteFact(tea.id), (error: unknown) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.reason, "NOT_FOUND");
    return true;
  });

  const forgotten = await mem.forgetEntity();
  assert.deepEqual(
    [forgotten.factsDeleted, forgotten.turnsDeleted, forgotten.sessionsDeleted],
    [2, 1, 1],
  );
  assert.deepEqual((await mem.listFacts()).facts, []);
  assert.deepEqual(await mem.recall("cats"), []);
});

test("a scope with a process and session still waits, lists and forgets the whole entity", async () => {
  // The entity-wide RPCs refuse a process_id or session_id: the scope sends
  // only the entity id, so these calls work from any scope.
  const who = entity();
  const narrow = env.client.attribution({ entityId: who, processId: "p", sessionId: `s-${who}` });
  await env.client.attribution({ entityId: who, processId: "other" }).attribute(turn("I like jazz."));
  assert.equal((await narrow.waitForAugmentation()).completed, true);
  assert.deepEqual(
    (await narrow.listFacts()).facts.map((f) => f.content),
    ["likes jazz"],
  );
  assert.equal((await narrow.forgetEntity()).factsDeleted, 1);
});

test("a process narrows recalled messages while facts stay the entity's", async () => {
  const who = entity();
  await env.client.attribution({ entityId: who, processId: "a" }).attribute(turn("I like jazz."));
  await env.client.attribution({ entityId: who, processId: "b" }).attribute(turn("I like opera."));
  assert.equal((await env.client.waitForAugmentation({ entityId: who })).completed, true);
  const mem = env.client.attribution({ entityId: who, processId: "a" });
  const facts = await mem.recall("like music jazz opera", { limit: 5, processId: "a" });
  assert.deepEqual(new Set(facts.map((h) => h.content)), new Set(["likes jazz", "likes opera"]));
  const everything = await mem.recall("like jazz opera", { kinds: ["message"], limit: 10 });
  const all = new Set(everything.map((h) => h.content));
  assert.ok(all.has("I like jazz.") && all.has("I like opera."));
  const onlyA = await mem.recall("like jazz opera", { kinds: ["message"], limit: 10, processId: "a" });
  const a = new Set(onlyA.map((h) => h.content));
  assert.ok(a.has("I like jazz.") && !a.has("I like opera."));
});

test("a recall can rank its own way", async () => {
  const mem = env.client.attribution({ entityId: entity() });
  await mem.attribute(turn("I sail on weekends."));
  await mem.attribute(turn("My bike needs new brakes."));
  assert.equal((await mem.waitForAugmentation({ timeoutMs: 30_000 })).completed, true);
  const kinds = ["message"] as const;
  const bike = "My bike needs new brakes.";

  // Lexical only: the score is the lexical part, and only the message
  // holding the word scores above zero (no share of a neighbouring
  // message's relevance, no session window).
  const lexical = { denseWeight: 0, lexicalWeight: 1, recencyWeight: 0, mentionsWeight: 0, contextWeight: 0, neighbourWeight: 0 };
  const hits = await mem.recall("brakes", { kinds, limit: 5, ranking: lexical, includeScoreParts: true });
  assert.equal(hits[0]?.content, bike);
  for (const h of hits) {
    assert.ok(h.scoreParts !== undefined && Math.abs(h.score - h.scoreParts.lexical) < 1e-9, `score ${h.score} is not its lexical part`);
  }
  assert.equal(hits.filter((h) => h.score > 0).length, 1);

  const scaled = await mem.recall("brakes", { kinds, limit: 5, ranking: { fusion: "min_max" } });
  assert.equal(scaled[0]?.content, bike);

  await assert.rejects(mem.recall("brakes", { ranking: { denseWeight: -1 } }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `expected an InvalidArgumentError, got ${String(error)}`);
    assert.ok(error.violations.some((v) => v.field === "ranking.dense_weight"), JSON.stringify(error.violations));
    assert.match(error.message, /ranking\.dense_weight/);
    return true;
  });
  await assert.rejects(mem.recall("brakes", { ranking: { neighbourWeight: -1 } }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `expected an InvalidArgumentError, got ${String(error)}`);
    assert.ok(error.violations.some((v) => v.field === "ranking.neighbour_weight"), JSON.stringify(error.violations));
    assert.match(error.message, /ranking\.neighbour_weight/);
    return true;
  });
  await assert.rejects(mem.recall("brakes", { ranking: { contextWeight: 1.5 } }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `expected an InvalidArgumentError, got ${String(error)}`);
    assert.ok(error.violations.some((v) => v.field === "ranking.context_weight"), JSON.stringify(error.violations));
    assert.match(error.message, /ranking\.context_weight/);
    return true;
  });
  await assert.rejects(mem.recall("brakes", { ranking: { fusion: "best" as "min_max" } }), {
    name: "TypeError",
    message: /unknown fusion "best"/,
  });
});

test("namespaces are isolated by API key", async () => {
  const who = entity();
  const mem = env.client.attribution({ entityId: who });
  await mem.attribute(turn("I am a pilot."));
  assert.equal((await mem.waitForAugmentation()).completed, true);
  const other = new MemoridClient({ target: env.server.target, apiKey: KEYS.globex, warnInsecure: false });
  try {
    assert.deepEqual(await other.attribution({ entityId: who }).recall("pilot"), []);
    assert.deepEqual((await other.attribution({ entityId: who }).listFacts()).facts, []);
  } finally {
    other.close();
  }
  assert.deepEqual(
    (await mem.recall("pilot")).map((h) => h.content),
    ["is a pilot"],
  );
});

test("health and waitUntilReady", async () => {
  assert.equal(await env.client.health(), true);
  await env.client.waitUntilReady(5_000);
  const down = new MemoridClient({ target: "127.0.0.1:1" });
  try {
    assert.equal(await down.health({ timeoutMs: 500 }), false);
    await assert.rejects(down.waitUntilReady(300), { name: "DeadlineExceededError", code: "DEADLINE_EXCEEDED" });
  } finally {
    down.close();
  }
});
