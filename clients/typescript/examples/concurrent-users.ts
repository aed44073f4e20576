// Many users chatting at once over one client (one HTTP/2 connection).
//
//   MEMORID_TARGET=... MEMORID_API_KEY=... MEMORID_MODEL=... node build/examples/concurrent-users.js [users]

import { MemoridClient } from "@memorid/client";

const client = new MemoridClient({
  target: process.env["MEMORID_TARGET"] ?? "localhost:50051",
  apiKey: process.env["MEMORID_API_KEY"],
});
const model = process.env["MEMORID_MODEL"] ?? "openai/gpt-4o-mini";
const users = Number(process.argv[2] ?? 100);

const started = Date.now();
const results = await Promise.all(
  Array.from({ length: users }, (_, n) =>
    client
      .attribution({ entityId: `user-${n}`, processId: "crowd" })
      .chat({ model, messages: [{ role: "user", content: `Hi, I am user ${n}.` }] })
      .collect(),
  ),
);
console.log(`${results.length} chats, ${new Set(results.map((r) => r.turnId)).size} turns, in ${Date.now() - started} ms`);
client.close();
