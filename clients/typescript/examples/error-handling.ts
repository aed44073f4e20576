// Typed errors and opt-in retries.
//
//   MEMORID_TARGET=... MEMORID_API_KEY=... MEMORID_MODEL=... node build/examples/error-handling.js

import {
  InvalidArgumentError,
  MemoridClient,
  QuotaExceededError,
  RetryPolicy,
  UnavailableError,
} from "@memorid/client";

const client = new MemoridClient({
  target: process.env["MEMORID_TARGET"] ?? "localhost:50051",
  apiKey: process.env["MEMORID_API_KEY"],
  // Unary calls (and Recall / Attribute before any answer) retry on
  // UNAVAILABLE and RESOURCE_EXHAUSTED, waiting at least the server's delay.
  retry: new RetryPolicy({ maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 5_000 }),
});
const mem = client.attribution({ entityId: "user_123" });
const model = process.env["MEMORID_MODEL"] ?? "openai/gpt-4o-mini";

// A bad request names its fields.
try {
  await mem.chat({ model, messages: [] }).collect();
} catch (error) {
  if (!(error instanceof InvalidArgumentError)) throw error;
  console.log("invalid:", error.violations.map((v) => `${v.field}: ${v.description}`).join("; "));
}

// A rate-limited upstream says how long to wait. Chat streams are never
// retried by the client, so the app decides.
async function chatOnce(text: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await mem.chat({ model, messages: [{ role: "user", content: text }] }).collect()).text;
    } catch (error) {
      if (error instanceof QuotaExceededError && attempt < 3) {
        console.log(`rate limited (${error.reason}); retrying in ${error.retryAfterMs ?? 1_000} ms`);
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1_000));
        continue;
      }
      if (error instanceof UnavailableError) console.log(`unavailable (${error.reason || "memorid unreachable"})`);
      throw error;
    }
  }
}
console.log("answer:", await chatOnce("Hello!"));
client.close();
