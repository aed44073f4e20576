// A minimal OpenAI-compatible Chat Completions server on a real local model
// (node-llama-cpp, CPU), for memorid's end-to-end test. Streams SSE frames
// in OpenAI's format (role frame, content frames, finish frame, usage
// frame, [DONE]); answers stream:false requests whole. One model context is
// shared, so requests are served one at a time.
//
//   node openai_server.mjs MODEL.gguf [PORT]   (prints "listening PORT")
import http from "node:http";
import { getLlama, LlamaChatSession } from "node-llama-cpp";

const [modelPath, portArg] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node openai_server.mjs MODEL.gguf [PORT]");
  process.exit(2);
}

const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
// More threads than cores makes llama.cpp's barriers spin: ~50x slower.
const context = await model.createContext({ contextSize: 2048, threads: llama.cpuMathCores });
const sequence = context.getSequence();
const session = new LlamaChatSession({ contextSequence: sequence });
const modelName = "smollm2-135m-instruct";

let queue = Promise.resolve();
const serially = (task) => (queue = queue.then(task, task));

function history(messages) {
  const out = [];
  for (const m of messages.slice(0, -1)) {
    if (m.role === "system") out.push({ type: "system", text: m.content ?? "" });
    else if (m.role === "assistant") out.push({ type: "model", response: [m.content ?? ""] });
    else out.push({ type: "user", text: m.content ?? "" });
  }
  return out;
}

function chunk(delta, finishReason, usage) {
  return {
    id: "chatcmpl-local",
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: modelName,
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: usage ?? null,
  };
}

async function complete(body, res, signal) {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  session.setChatHistory(history(messages));
  const promptTokens = model.tokenize(messages.map((m) => m.content ?? "").join("\n")).length;
  const stream = body.stream === true;
  const send = (frame) => res.write(`data: ${JSON.stringify(frame)}\n\n`);
  if (stream) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    send(chunk({ role: "assistant", content: "" }, null));
  }
  let answer = "";
  let finish = "stop";
  try {
    answer = await session.prompt(last?.content ?? "", {
      maxTokens: body.max_tokens ?? 64,
      temperature: body.temperature ?? 0,
      signal,
      stopOnAbortSignal: true,
      onTextChunk(text) {
        if (stream && text) send(chunk({ content: text }, null));
      },
    });
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  const completionTokens = model.tokenize(answer).length;
  if (completionTokens >= (body.max_tokens ?? 64)) finish = "length";
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (stream) {
    send(chunk({}, finish));
    if (body.stream_options?.include_usage) send(chunk(null, null, usage));
    res.end("data: [DONE]\n\n");
  } else {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      id: "chatcmpl-local", object: "chat.completion", created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: finish }],
      usage,
    }));
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
    return;
  }
  let raw = "";
  req.on("data", (d) => (raw += d));
  req.on("end", () => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    serially(async () => {
      try {
        await complete(JSON.parse(raw), res, abort.signal);
      } catch (error) {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: String(error), type: "server_error" } }));
        } else {
          res.end();
        }
      }
    });
  });
});
server.listen(Number(portArg ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
