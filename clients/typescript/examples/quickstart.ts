// The shortest working example: chat through memorid (deltas printed as they
// arrive), wait for the memory work, recall what was learned.
//
//   MEMORID_TARGET=localhost:50051 MEMORID_API_KEY=... MEMORID_MODEL=openai/gpt-4o-mini \
//     node build/examples/quickstart.js

import { MemoridClient } from "@memorid/client";

const client = new MemoridClient({
  target: process.env["MEMORID_TARGET"] ?? "localhost:50051",
  apiKey: process.env["MEMORID_API_KEY"],
});
const mem = client.attribution({ entityId: "user_123", processId: "my_agent" });
const model = process.env["MEMORID_MODEL"] ?? "openai/gpt-4o-mini";

for await (const event of mem.chat({ model, messages: [{ role: "user", content: "I prefer async Python." }] })) {
  if (event.type === "delta") process.stdout.write(event.text); // each delta as memorid mirrors it
}
process.stdout.write("\n");

await mem.waitForAugmentation(); // memory is written in the background
for (const hit of await mem.recall("coding preferences", { limit: 5 })) {
  console.log(hit.score.toFixed(3), hit.content); // "prefers async Python"
}
client.close();
