/**
 * A fake OpenAI-compatible upstream that speaks the real wire format, on
 * node:http (HTTP/1.1, as memorid's provider client talks to it):
 *
 * - `POST /v1/chat/completions`, streamed exactly as the API streams: SSE
 *   `data:` frames of `chat.completion.chunk` objects (a role frame, content
 *   frames, tool-call frames, a finish frame, a usage frame with
 *   `choices: []` when `stream_options.include_usage` is set, `data: [DONE]`),
 *   or one `chat.completion` object when not streamed. Requests whose
 *   `response_format` is memorid's extraction schema (`json_schema` named
 *   `memories`) get a rule-based extraction answer: each first-person
 *   sentence of the turn's user text becomes a fact ("I prefer async
 *   Python" → "prefers async Python").
 * - `POST /v1/embeddings`: deterministic bag-of-words vectors (words hashed
 *   into 256 dimensions, crudely stemmed, L2-normalized), base64 or floats as
 *   asked, so texts sharing words are close.
 *
 * Chat answers follow a `Script` chosen by the request's model name, so tests
 * never share one. Knobs: pieces, a delay, an HTTP error before the stream,
 * an error frame mid-stream, a stall until the client hangs up, a `Gate`
 * that holds each piece after the first until the test releases it, and a
 * `Barrier` that holds the first piece until N streams are open at once.
 */

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const DIMENSIONS = 256;

/** Permits the fake takes one per piece after the first (a semaphore). */
export class Gate {
  private permits = 0;
  private waiters: (() => void)[] = [];

  release(count = 1): void {
    this.permits += count;
    while (this.permits > 0 && this.waiters.length > 0) {
      this.permits--;
      this.waiters.shift()?.();
    }
  }

  /** Resolves with a permit, or false once `gone` says the client left or after 30 s. */
  async acquire(gone: () => boolean): Promise<boolean> {
    if (this.permits > 0) {
      this.permits--;
      return true;
    }
    let grant!: () => void;
    const granted = new Promise<boolean>((resolve) => {
      grant = () => resolve(true);
    });
    this.waiters.push(grant);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const result = await Promise.race([granted, sleep(20).then(() => undefined)]);
      if (result === true) return true;
      if (gone() || Date.now() > deadline) {
        this.waiters = this.waiters.filter((w) => w !== grant);
        return false;
      }
    }
  }
}

/** Holds each stream's first piece until `count` streams of the script are open. */
export class Barrier {
  private arrived = 0;
  private open!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });

  constructor(readonly count: number) {}

  arrive(): Promise<void> {
    this.arrived++;
    if (this.arrived >= this.count) this.open();
    return this.opened;
  }

  get waiting(): number {
    return this.arrived;
  }
}

export interface Reject {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface Script {
  readonly pieces?: readonly string[];
  readonly finishReason?: string;
  /** [prompt, completion, cached] tokens; null sends no usage. */
  readonly usage?: readonly [number, number, number] | null;
  /** Milliseconds before each content frame. */
  readonly delayMs?: number;
  readonly reject?: Reject;
  /** After this many content frames, an error frame and the end. */
  readonly errorAfter?: number;
  /** After this many content frames, nothing until the client hangs up. */
  readonly stallAfter?: number;
  /** Content frame n >= 1 waits for a release. */
  readonly gate?: Gate;
  /** Content frame 0 waits until this many streams arrived. */
  readonly barrier?: Barrier;
  /** [id, name, argument pieces], sent after the text. */
  readonly toolCalls?: readonly (readonly [string, string, readonly string[]])[];
}

export interface Recorded {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
  readonly model: string;
  readonly isExtraction: boolean;
}

// --- embeddings --------------------------------------------------------------

const STOP_WORDS = new Set(
  "a an the i my me is am are to of and in on for with what do does you your it that this be at about user".split(" "),
);

export function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !STOP_WORDS.has(w)).map((w) => w.slice(0, 5));
}

export function pseudoVector(text: string): Float32Array {
  const vector = new Float32Array(DIMENSIONS);
  const tokens = words(text);
  for (const token of tokens.length > 0 ? tokens : ["<empty>"]) {
    const digest = createHash("sha256").update(token).digest();
    const index = digest.readUInt32LE(0) % DIMENSIONS;
    vector[index] = (vector[index] ?? 0) + ((digest[4] ?? 0) & 1 ? 1 : -1);
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0)) || 1;
  return vector.map((v) => v / norm);
}

// --- the extraction model ------------------------------------------------------

const VERBS: Record<string, string> = { am: "is", have: "has", do: "does", go: "goes" };

/** "I prefer async Python" → "prefers async Python"; undefined if not about the speaker. */
export function thirdPerson(sentence: string): string | undefined {
  const s = sentence.trim().replace(/[.!?]+$/, "").trim();
  let m = /^(?:I'm|I am)\s+(.+)$/.exec(s);
  if (m) return `is ${m[1]}`;
  m = /^I\s+(\w+)\s*(.*)$/.exec(s);
  if (m) {
    let verb = m[1] ?? "";
    const rest = m[2] ?? "";
    const lower = verb.toLowerCase();
    if (VERBS[lower] !== undefined) verb = VERBS[lower];
    else if (/(s|sh|ch|x)$/.test(verb)) verb += "es";
    else if (/[^aeiou]y$/.test(verb)) verb = `${verb.slice(0, -1)}ies`;
    else verb += "s";
    return `${verb} ${rest}`.trim();
  }
  m = /^My\s+(.+)$/.exec(s);
  return m ? m[1] : undefined;
}

function category(fact: string): string {
  const first = fact.split(" ", 1)[0] ?? "";
  if (["prefers", "likes", "loves", "hates", "dislikes", "enjoys", "wants"].includes(first)) return "preference";
  if (["is", "lives", "has"].includes(first)) return "attribute";
  if (["uses", "knows", "speaks", "works", "writes"].includes(first)) return "skill";
  return "other";
}

/** What memorid's extraction model would answer for this request body. */
export function extractionAnswer(body: Record<string, unknown>): string {
  let context = "";
  for (const message of (body["messages"] as { role?: string; content?: string }[] | undefined) ?? []) {
    if (message.role === "user") context = message.content ?? "";
  }
  const known = new Map<string, string>();
  for (const line of context.split("\n")) {
    const m = /^- (f\d+): (.*)$/.exec(line);
    if (m) known.set((m[2] ?? "").trim().toLowerCase(), m[1] ?? "");
  }
  const turn = context.split("The turn:\n").slice(-1)[0] ?? "";
  const userLines: string[] = [];
  let speaking = false;
  for (const line of turn.split("\n")) {
    if (line.startsWith("user: ")) {
      speaking = true;
      userLines.push(line.slice("user: ".length));
    } else if (line.startsWith("assistant: ")) speaking = false;
    else if (speaking) userLines.push(line);
  }
  const facts = [];
  for (const sentence of userLines.join(" ").split(/(?<=[.!?])\s+|\n/)) {
    const content = thirdPerson(sentence);
    if (!content) continue;
    const existing = known.get(content.toLowerCase()) ?? "";
    facts.push({ content, category: category(content), action: existing ? "same" : "new", existing_id: existing });
  }
  return JSON.stringify({
    facts,
    triples: [],
    process_attributes: [],
    summary: userLines.join(" ").slice(0, 200),
  });
}

// --- the server ----------------------------------------------------------------

/** A timer that never keeps the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

class ClientGone extends Error {}

export class FakeUpstream {
  private readonly server: Server;
  private readonly scripts = new Map<string, Script[]>();
  private readonly recorded: Recorded[] = [];
  private readonly hangups = new Map<string, { done: boolean; promise: Promise<void>; resolve: () => void }>();
  private readonly finished = new Map<string, number>();
  private readonly open = new Map<string, number>();

  private constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: String(error), type: "server_error" } }));
        } else res.destroy();
      });
    });
    // memorid opens many connections at once in the concurrency tests.
    this.server.maxConnections = 1024;
  }

  static async start(): Promise<FakeUpstream> {
    const fake = new FakeUpstream();
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** For OpenAI-style clients: `http://127.0.0.1:PORT/v1`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Answer chats for `model` with these scripts, one request each; the last answers every request after. */
  script(model: string, ...scripts: Script[]): void {
    this.scripts.set(model, [...scripts]);
  }

  requests(filter: { model?: string; path?: string; extraction?: boolean } = {}): Recorded[] {
    return this.recorded.filter(
      (r) =>
        (filter.model === undefined || r.model === filter.model) &&
        (filter.path === undefined || r.path === filter.path) &&
        (filter.extraction === undefined || r.isExtraction === filter.extraction),
    );
  }

  /** Resolves true once a stream of `model` saw its client hang up early, false after `timeoutMs`. */
  async waitForHangup(model: string, timeoutMs: number): Promise<boolean> {
    const hangup = this.hangup(model);
    return Promise.race([hangup.promise.then(() => true), sleep(timeoutMs).then(() => hangup.done)]);
  }

  hungUp(model: string): boolean {
    return this.hangup(model).done;
  }

  /** Streams of `model` that ran to their end. */
  finishedStreams(model: string): number {
    return this.finished.get(model) ?? 0;
  }

  /** Streams of `model` open right now. */
  openStreams(model: string): number {
    return this.open.get(model) ?? 0;
  }

  private hangup(model: string) {
    let entry = this.hangups.get(model);
    if (entry === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      const created = { done: false, promise, resolve: () => {} };
      created.resolve = () => {
        created.done = true;
        resolve();
      };
      entry = created;
      this.hangups.set(model, entry);
    }
    return entry;
  }

  private scriptFor(model: string): Script {
    const scripts = this.scripts.get(model);
    if (scripts === undefined || scripts.length === 0) return {};
    return (scripts.length > 1 ? scripts.shift() : scripts[0]) ?? {};
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: "invalid JSON", type: "invalid_request_error" } });
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    const model = typeof body["model"] === "string" ? body["model"] : "";
    const format = body["response_format"] as { type?: string; json_schema?: { name?: string } } | undefined;
    const isExtraction = format?.type === "json_schema" && format.json_schema?.name === "memories";
    this.recorded.push({ path, headers: { ...req.headers }, body, model, isExtraction });
    // The client hung up when the response closes before it was ended.
    let gone = false;
    res.on("close", () => {
      if (!res.writableEnded) {
        gone = true;
        this.hangup(model).resolve();
      }
    });
    try {
      if (path === "/v1/embeddings") return this.embeddings(res, body);
      if (path === "/v1/chat/completions") {
        const script: Script = isExtraction
          ? { pieces: [extractionAnswer(body)], usage: [50, 20, 0] }
          : this.scriptFor(model);
        return await this.chat(res, body, model, script, () => gone);
      }
      return json(res, 404, { error: { message: `no route ${path}`, type: "not_found" } });
    } catch (error) {
      if (!(error instanceof ClientGone)) throw error;
      res.destroy();
    }
  }

  private embeddings(res: ServerResponse, body: Record<string, unknown>): void {
    const raw = body["input"];
    const inputs = typeof raw === "string" ? [raw] : ((raw as unknown[] | undefined) ?? []);
    const base64 = body["encoding_format"] === "base64";
    const data = inputs.map((text, index) => {
      const vector = pseudoVector(String(text));
      return {
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(vector.buffer).toString("base64") : Array.from(vector),
      };
    });
    json(res, 200, { object: "list", data, model: body["model"], usage: { prompt_tokens: 0, total_tokens: 0 } });
  }

  private async chat(
    res: ServerResponse,
    body: Record<string, unknown>,
    model: string,
    script: Script,
    gone: () => boolean,
  ): Promise<void> {
    if (script.reject !== undefined) {
      return json(res, script.reject.status, script.reject.body, script.reject.headers);
    }
    const pieces = script.pieces ?? ["Hello", ", ", "world"];
    const finishReason = script.finishReason ?? "stop";
    const usage = script.usage === undefined ? ([11, 3, 0] as const) : script.usage;
    const created = Math.floor(Date.now() / 1000);
    const usageObject = (u: readonly [number, number, number]) => ({
      prompt_tokens: u[0],
      completion_tokens: u[1],
      total_tokens: u[0] + u[1],
      prompt_tokens_details: { cached_tokens: u[2], audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    const pause = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (gone()) throw new ClientGone();
        await sleep(Math.min(10, end - Date.now()));
      }
    };

    if (body["stream"] !== true) {
      if (script.delayMs) await pause(script.delayMs);
      const message: Record<string, unknown> = {
        role: "assistant",
        content: pieces.join(""),
        refusal: null,
        annotations: [],
      };
      if (script.toolCalls?.length) {
        message["tool_calls"] = script.toolCalls.map(([id, name, args]) => ({
          id,
          type: "function",
          function: { name, arguments: args.join("") },
        }));
      }
      return json(res, 200, {
        id: "chatcmpl-fake",
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: usageObject(usage ?? [0, 0, 0]),
        service_tier: "default",
        system_fingerprint: "fp_fake",
      });
    }

    const includeUsage = (body["stream_options"] as { include_usage?: boolean } | undefined)?.include_usage === true;
    const frame = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({
        id: "chatcmpl-fake",
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: "fp_fake",
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      })}\n\n`;
    const send = (data: string) => {
      if (gone()) throw new ClientGone();
      res.write(data);
    };

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    this.open.set(model, (this.open.get(model) ?? 0) + 1);
    try {
      send(frame({ role: "assistant", content: "", refusal: null }, null));
      for (const [n, piece] of pieces.entries()) {
        if (script.stallAfter === n) {
          await pause(60_000);
          throw new ClientGone();
        }
        if (script.errorAfter === n) {
          const error = {
            error: {
              message: "The server had an error while processing your request.",
              type: "server_error",
              param: null,
              code: null,
            },
          };
          send(`data: ${JSON.stringify(error)}\n\n`);
          res.end();
          return;
        }
        if (n === 0 && script.barrier !== undefined) {
          const opened = script.barrier.arrive();
          while (!(await Promise.race([opened.then(() => true), sleep(20).then(() => false)]))) {
            if (gone()) throw new ClientGone();
          }
        }
        if (n > 0 && script.gate !== undefined && !(await script.gate.acquire(gone))) throw new ClientGone();
        if (script.delayMs) await pause(script.delayMs);
        send(frame({ content: piece }, null));
      }
      for (const [index, [id, name, args]] of (script.toolCalls ?? []).entries()) {
        send(frame({ tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] }, null));
        for (const piece of args) send(frame({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
      }
      send(frame({}, finishReason));
      if (includeUsage && usage !== null) {
        send(
          `data: ${JSON.stringify({
            id: "chatcmpl-fake",
            object: "chat.completion.chunk",
            created,
            model,
            service_tier: "default",
            system_fingerprint: "fp_fake",
            choices: [],
            usage: usageObject(usage),
          })}\n\n`,
        );
      }
      send("data: [DONE]\n\n");
      res.end();
      this.finished.set(model, (this.finished.get(model) ?? 0) + 1);
    } finally {
      this.open.set(model, (this.open.get(model) ?? 1) - 1);
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
