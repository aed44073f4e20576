// A plain node:http backend that relays memorid's chat deltas to the browser
// as Server-Sent Events, one `delta` event per delta as it arrives.
//
//   POST /chat   Authorization: Bearer <user token>   {"message": "...", "sessionId": "..."}
//   → text/event-stream:
//     event: started  data: {"sessionId": "...", "turnId": "..."}
//     event: delta    data: {"text": "..."}            (one per delta)
//     event: done     data: {"finishReason": "stop", "usage": {...}}
//     event: error    data: {"reason": "...", "message": "..."}   (a failure mid-stream)
//
// The bearer token maps the caller to a memorid entity (here a fixed table;
// in an app, your session or JWT). A failure before the first token is a
// plain HTTP error (429 with Retry-After, 400 naming the fields, 503); a
// browser that goes away aborts the chat, and memorid stops the upstream
// request at once.
//
//   MEMORID_TARGET=... MEMORID_API_KEY=... MEMORID_MODEL=... PORT=8080 node build/examples/sse-server.js
//   curl -N -H 'authorization: Bearer token-alice' -d '{"message":"Hi"}' localhost:8080/chat

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import {
  InvalidArgumentError,
  MemoridClient,
  MemoridError,
  QuotaExceededError,
  UnauthenticatedError,
  UnavailableError,
  type ChatStream,
} from "@memorid/client";

export interface ChatServerOptions {
  readonly client: MemoridClient;
  readonly model: string;
  /** Bearer token → entity id. */
  readonly users: Readonly<Record<string, string>>;
  readonly processId?: string;
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function fail(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** The HTTP answer to an error before the first token. */
function httpError(res: ServerResponse, error: unknown): void {
  if (error instanceof QuotaExceededError) {
    const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1_000));
    return fail(res, 429, { error: error.reason, message: error.message }, { "retry-after": String(seconds) });
  }
  if (error instanceof InvalidArgumentError) {
    return fail(res, 400, { error: error.reason, violations: error.violations });
  }
  if (error instanceof UnavailableError) return fail(res, 503, { error: error.reason || "UNAVAILABLE" });
  if (error instanceof UnauthenticatedError) return fail(res, 500, { error: "memorid refused this backend's key" });
  if (error instanceof MemoridError) return fail(res, 502, { error: error.reason || error.code });
  throw error;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function createChatServer(options: ChatServerOptions): Server {
  return createServer(async (req, res) => {
    if (req.method !== "POST" || req.url !== "/chat") return fail(res, 404, { error: "not found" });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const entityId = token === undefined ? undefined : options.users[token];
    if (entityId === undefined) return fail(res, 401, { error: "unknown user" });
    const body = await readJson(req);
    if (typeof body?.["message"] !== "string") return fail(res, 400, { error: "message must be a string" });
    const sessionId = typeof body["sessionId"] === "string" ? body["sessionId"] : "";

    // The browser going away aborts the chat: memorid stops the upstream.
    const browser = new AbortController();
    res.on("close", () => {
      if (!res.writableEnded) browser.abort(new Error("the browser went away"));
    });
    const stream: ChatStream = options.client
      .attribution({ entityId, processId: options.processId ?? "sse-example", sessionId })
      .chat({ model: options.model, messages: [{ role: "user", content: body["message"] }] }, { signal: browser.signal });

    let started;
    try {
      started = await stream.start(); // an error before the first token is still an HTTP status
    } catch (error) {
      if (!browser.signal.aborted) httpError(res, error);
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no", // proxies must not buffer the stream either
    });
    try {
      for await (const event of stream) {
        if (event.type === "started") sse(res, "started", { sessionId: started.sessionId, turnId: started.turnId });
        else if (event.type === "delta" && event.text) sse(res, "delta", { text: event.text });
        else if (event.type === "completed") sse(res, "done", { finishReason: event.finishReason, usage: event.usage });
      }
    } catch (error) {
      if (browser.signal.aborted) return;
      const typed = error instanceof MemoridError ? error : undefined;
      sse(res, "error", { reason: typed?.reason ?? "", message: typed?.message ?? String(error) });
    }
    res.end();
  });
}

// Run as a program: node build/examples/sse-server.js
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const client = new MemoridClient({
    target: process.env["MEMORID_TARGET"] ?? "localhost:50051",
    apiKey: process.env["MEMORID_API_KEY"],
  });
  const server = createChatServer({
    client,
    model: process.env["MEMORID_MODEL"] ?? "openai/gpt-4o-mini",
    users: { "token-alice": "alice", "token-bob": "bob" },
  });
  const port = Number(process.env["PORT"] ?? 8080);
  server.listen(port, () => console.log(`listening on http://localhost:${port}/chat`));
  process.once("SIGTERM", () => {
    server.close();
    client.close();
  });
}
