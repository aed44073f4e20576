/**
 * One chat's events as an async iterable: `started`, one `delta` per
 * upstream delta as memorid mirrors it, `completed`.
 *
 * The call opens on first use (iteration or `start()`). It is cancelled —
 * and memorid stops the upstream request at once, storing the turn as
 * interrupted — when the caller's `AbortSignal` fires (iteration then throws
 * a `CancelledError`), on `cancel()`, on `break` out of a `for await` loop,
 * or when an `await using` block is left. A stream is read once.
 */

import type { ChatResponse } from "./gen/memori/v1/chat_service_pb.js";
import { chatEvent } from "./convert.js";
import { CancelledError, InternalError, toMemoridError } from "./errors.js";
import type { ChatCompleted, ChatEvent, ChatResult, ChatStarted, ToolCall } from "./types.js";

/** Opens the underlying gRPC call with the stream's own signal. */
export type OpenChat = (signal: AbortSignal) => AsyncIterable<ChatResponse>;

class Accumulator {
  started: ChatStarted | undefined;
  completed: ChatCompleted | undefined;
  text = "";
  reasoning = "";
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  add(event: ChatEvent): void {
    switch (event.type) {
      case "started":
        this.started = event;
        break;
      case "completed":
        this.completed = event;
        break;
      case "delta":
        this.text += event.text;
        this.reasoning += event.reasoning;
        for (const piece of event.toolCalls) {
          const call = this.calls.get(piece.index) ?? { id: "", name: "", arguments: "" };
          call.id ||= piece.id;
          call.name ||= piece.name;
          call.arguments += piece.arguments;
          this.calls.set(piece.index, call);
        }
        break;
    }
  }

  toolCalls(): ToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ ...call }));
  }
}

export class ChatStream implements AsyncIterable<ChatEvent>, AsyncIterator<ChatEvent> {
  private readonly controller = new AbortController();
  private readonly acc = new Accumulator();
  private readonly buffered: ChatEvent[] = [];
  private responses: AsyncIterator<ChatResponse> | undefined;
  private finished = false;
  private reading = false;
  private readonly onCallerAbort: (() => void) | undefined;

  /** @internal Built by `MemoridClient.chat`. */
  constructor(
    private readonly open: OpenChat,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    if (callerSignal !== undefined) {
      if (callerSignal.aborted) this.controller.abort(callerSignal.reason);
      else {
        this.onCallerAbort = () => this.controller.abort(callerSignal.reason);
        callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
      }
    }
  }

  /** Marks the stream over and lets go of the caller's signal. */
  private finish(): void {
    this.finished = true;
    if (this.onCallerAbort !== undefined) this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    if (this.reading) throw new TypeError("a ChatStream can be iterated only once");
    this.reading = true;
    return this;
  }

  async next(): Promise<IteratorResult<ChatEvent>> {
    const event = this.buffered.shift();
    if (event !== undefined) return { value: event, done: false };
    if (this.finished) return { value: undefined, done: true };
    const read = await this.read();
    return read === undefined ? { value: undefined, done: true } : { value: read, done: false };
  }

  /** Called on `break` out of `for await`: cancels the call. */
  async return(): Promise<IteratorResult<ChatEvent>> {
    this.cancel();
    return { value: undefined, done: true };
  }

  private async read(): Promise<ChatEvent | undefined> {
    try {
      this.responses ??= this.open(this.controller.signal)[Symbol.asyncIterator]();
      for (;;) {
        const result = await this.responses.next();
        if (result.done) {
          this.finish();
          if (this.acc.completed === undefined) {
            throw new InternalError("the chat stream ended without a completed event", { code: "INTERNAL" });
          }
          return undefined;
        }
        const event = chatEvent(result.value);
        if (event !== undefined) {
          this.acc.add(event);
          return event;
        }
      }
    } catch (thrown) {
      const cancelledHere = this.finished && !this.callerSignal?.aborted;
      this.finish();
      if (cancelledHere) return undefined; // cancel() or break: the caller asked for the end
      throw toMemoridError(thrown, this.controller.signal.aborted ? this.controller.signal : undefined);
    }
  }

  /**
   * Waits for the `started` event and returns it; iteration still yields it
   * first. Lets a web handler fail cleanly (say, with HTTP 429) before it
   * starts streaming: an error before the first token throws here.
   */
  async start(): Promise<ChatStarted> {
    if (this.acc.started === undefined) {
      const event = await this.read();
      if (event !== undefined) this.buffered.push(event);
    }
    if (this.acc.started === undefined) {
      throw new InternalError("the chat stream ended before its started event", { code: "INTERNAL" });
    }
    return this.acc.started;
  }

  /** Reads the stream to its end and returns the whole turn. */
  async collect(): Promise<ChatResult> {
    while (!(await this.next()).done) {
      // Accumulated as it goes.
    }
    const started = this.acc.started;
    const completed = this.acc.completed;
    if (started === undefined || completed === undefined) {
      throw new CancelledError("the chat stream was cancelled before it completed", { code: "CANCELLED" });
    }
    return {
      turnId: completed.turnId,
      sessionId: started.sessionId,
      model: started.model,
      text: this.acc.text,
      reasoning: this.acc.reasoning,
      toolCalls: this.acc.toolCalls(),
      finishReason: completed.finishReason,
      ...(completed.usage !== undefined ? { usage: completed.usage } : {}),
      recalledMemoryIds: started.recalledMemoryIds,
    };
  }

  /** Only the answer's text, piece by piece. */
  async *textDeltas(): AsyncGenerator<string, void, undefined> {
    try {
      for (let r = await this.next(); !r.done; r = await this.next()) {
        if (r.value.type === "delta" && r.value.text) yield r.value.text;
      }
    } finally {
      // A `break` out of the caller's loop lands here: cancel the call.
      if (!this.finished) this.cancel();
    }
  }

  /** Cancels the call; iteration then ends without an error. */
  cancel(reason?: unknown): void {
    if (this.finished && this.controller.signal.aborted) return;
    this.finish();
    this.controller.abort(reason ?? new Error("the chat stream was cancelled"));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
  }

  /** The `started` event, once it arrived. */
  get started(): ChatStarted | undefined {
    return this.acc.started;
  }

  /** The `completed` event, once the stream completed. */
  get completed(): ChatCompleted | undefined {
    return this.acc.completed;
  }

  /** The answer's text so far. */
  get text(): string {
    return this.acc.text;
  }
}
