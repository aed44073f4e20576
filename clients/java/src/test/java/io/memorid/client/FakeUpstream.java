package io.memorid.client;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fake OpenAI-compatible upstream that speaks the real wire format, on a plain HTTP/1.1 server
 * (raw sockets, a thread per connection, keep-alive), so that it sees the moment memorid hangs up.
 *
 * <ul>
 *   <li>{@code POST /v1/chat/completions}: Chat Completions, streamed as the API streams it (a role
 *       frame, one frame per content piece, tool-call frames, a finish frame, a usage frame with
 *       {@code choices: []} when {@code stream_options.include_usage} is set, then {@code data:
 *       [DONE]}, in chunked transfer encoding) or whole. Requests whose {@code response_format} is
 *       memorid's extraction schema ({@code json_schema} named {@code memories}) are answered by a
 *       rule-based extraction model: each first-person sentence of the turn's user text becomes a
 *       fact ("I prefer async Python" → "prefers async Python"); a fact equal to a known one is
 *       answered {@code same}.
 *   <li>{@code POST /v1/embeddings}: deterministic bag-of-words vectors (crudely stemmed words
 *       hashed into 256 signed dimensions, L2-normalized), base64 or floats as asked, so texts that
 *       share words are close.
 * </ul>
 *
 * <p>Chat answers follow a {@link Script} chosen by the request's model name, so tests never share
 * one. Knobs: the pieces, a delay before each, an HTTP error before the stream, an error frame or a
 * cut-off mid-stream, a stall until the client hangs up, and a gate that holds every piece after
 * the first until the test releases it.
 */
final class FakeUpstream implements AutoCloseable {

  static final int DIMENSIONS = 256;
  private static final Gson GSON = new Gson();
  private static final Set<String> STOP_WORDS =
      Set.of(
          "a", "an", "the", "i", "my", "me", "is", "am", "are", "to", "of", "and", "in", "on",
          "for", "with", "what", "do", "does", "you", "your", "it", "that", "this", "be", "at",
          "about", "user");

  /** An HTTP error answer instead of a stream. */
  record Reject(int status, String body, Map<String, String> headers) {
    static Reject of(int status, String type) {
      JsonObject error = new JsonObject();
      error.addProperty("message", "fake " + status);
      error.addProperty("type", type);
      error.add("param", JsonNull.INSTANCE);
      error.add("code", JsonNull.INSTANCE);
      JsonObject body = new JsonObject();
      body.add("error", error);
      return new Reject(status, body.toString(), Map.of());
    }

    Reject withHeader(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Reject(status, body, h);
    }
  }

  /** How the fake answers one chat request. */
  static final class Script {
    List<String> pieces = List.of("Hello", ", ", "world");
    String finishReason = "stop";
    int[] usage = {11, 3, 0};
    Duration delay = Duration.ZERO;
    Reject reject;
    Integer errorAfter;
    Integer cutAfter;
    Integer stallAfter;
    Semaphore gate;
    List<String[]> toolCalls = new ArrayList<>();

    static Script pieces(String... pieces) {
      Script s = new Script();
      s.pieces = List.of(pieces);
      return s;
    }

    static Script rejecting(Reject reject) {
      Script s = new Script();
      s.reject = reject;
      return s;
    }

    /** Content piece n ≥ 1 waits for a release of {@code gate}. */
    Script gate(Semaphore gate) {
      this.gate = gate;
      return this;
    }

    Script delay(Duration delay) {
      this.delay = delay;
      return this;
    }

    Script usage(int prompt, int completion, int cached) {
      this.usage = new int[] {prompt, completion, cached};
      return this;
    }

    /** After this many content frames, an error frame and the end of the body. */
    Script errorAfter(int n) {
      this.errorAfter = n;
      return this;
    }

    /** After this many content frames, the body ends without its end marker. */
    Script cutAfter(int n) {
      this.cutAfter = n;
      return this;
    }

    /** After this many content frames, nothing more until the client hangs up. */
    Script stallAfter(int n) {
      this.stallAfter = n;
      return this;
    }

    /** A tool call sent after the text: id, name, then the argument pieces. */
    Script toolCall(String id, String name, String... argumentPieces) {
      String[] call = new String[2 + argumentPieces.length];
      call[0] = id;
      call[1] = name;
      System.arraycopy(argumentPieces, 0, call, 2, argumentPieces.length);
      toolCalls.add(call);
      return this;
    }

    Script finishReason(String reason) {
      this.finishReason = reason;
      return this;
    }
  }

  /** One request the fake received. */
  record Recorded(String path, Map<String, String> headers, JsonObject body) {
    String model() {
      return body.has("model") ? body.get("model").getAsString() : "";
    }

    boolean isExtraction() {
      return FakeUpstream.isExtraction(body);
    }
  }

  private static final class ClientGone extends Exception {
    private static final long serialVersionUID = 1L;
  }

  private final ServerSocket server;
  private final ExecutorService connections;
  private final Map<String, List<Script>> scripts = new ConcurrentHashMap<>();
  private final List<Recorded> requests = new ArrayList<>();
  private final Map<String, CountDownLatch> hangups = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> finished = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> firstPiecesSent = new ConcurrentHashMap<>();
  private volatile boolean closed;

  FakeUpstream() throws IOException {
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    connections =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fake-upstream-connection");
              t.setDaemon(true);
              return t;
            });
    Thread acceptor = new Thread(this::acceptLoop, "fake-upstream");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** For OpenAI-style clients: {@code http://127.0.0.1:PORT/v1}. */
  String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** Answers chats for {@code model} with these scripts, one per request, the last one ever after. */
  void script(String model, Script... answers) {
    scripts.put(model, new ArrayList<>(List.of(answers)));
    hangups.put(model, new CountDownLatch(1));
  }

  private Script scriptFor(String model) {
    List<Script> list = scripts.get(model);
    if (list == null) {
      return new Script();
    }
    synchronized (list) {
      return list.size() > 1 ? list.remove(0) : list.get(0);
    }
  }

  List<Recorded> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** The chat requests (not extraction, not embeddings) for {@code model}. */
  List<Recorded> chatRequests(String model) {
    List<Recorded> found = new ArrayList<>();
    for (Recorded r : requests()) {
      if (r.path().equals("/v1/chat/completions") && r.model().equals(model) && !r.isExtraction()) {
        found.add(r);
      }
    }
    return found;
  }

  List<Recorded> extractionRequests() {
    List<Recorded> found = new ArrayList<>();
    for (Recorded r : requests()) {
      if (r.isExtraction()) {
        found.add(r);
      }
    }
    return found;
  }

  /** True once a stream of {@code model} saw its client hang up before its end. */
  boolean awaitHangup(String model, Duration timeout) throws InterruptedException {
    return hangups.computeIfAbsent(model, m -> new CountDownLatch(1))
        .await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** How many streams of {@code model} were sent to their end. */
  int finishedStreams(String model) {
    return finished.computeIfAbsent(model, m -> new AtomicInteger()).get();
  }

  /** How many streams of {@code model} have sent their first content piece. */
  int firstPiecesSent(String model) {
    return firstPiecesSent.computeIfAbsent(model, m -> new AtomicInteger()).get();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    connections.shutdownNow();
  }

  // --- HTTP plumbing ------------------------------------------------------------------------------

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket socket = server.accept();
        connections.execute(() -> serve(socket));
      } catch (IOException e) {
        if (!closed) {
          e.printStackTrace();
        }
        return;
      }
    }
  }

  /** One connection: requests one after another (keep-alive) until the client closes it. */
  private void serve(Socket socket) {
    try (socket) {
      socket.setTcpNoDelay(true);
      BufferedInputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      while (true) {
        String requestLine = readLine(in);
        if (requestLine == null) {
          return;
        }
        if (requestLine.isEmpty()) {
          continue;
        }
        Map<String, String> headers = new HashMap<>();
        for (String line = readLine(in); line != null && !line.isEmpty(); line = readLine(in)) {
          int colon = line.indexOf(':');
          if (colon > 0) {
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
          }
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] raw = in.readNBytes(length);
        String path = requestLine.split(" ")[1].split("\\?")[0];
        Exchange exchange = new Exchange(socket, in, out);
        try {
          handle(exchange, path, headers, raw);
        } catch (ClientGone gone) {
          return;
        }
        out.flush();
        if ("close".equalsIgnoreCase(headers.get("connection"))) {
          return;
        }
      }
    } catch (IOException e) {
      // The client went away between requests.
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }

  /** The response side of one request. */
  private static final class Exchange {
    final Socket socket;
    final BufferedInputStream in;
    final OutputStream out;

    Exchange(Socket socket, BufferedInputStream in, OutputStream out) {
      this.socket = socket;
      this.in = in;
      this.out = out;
    }

    void json(int status, String body, Map<String, String> headers) throws ClientGone {
      byte[] payload = body.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder();
      head.append("HTTP/1.1 ").append(status).append(' ').append(reasonPhrase(status)).append("\r\n");
      head.append("content-type: application/json\r\n");
      head.append("content-length: ").append(payload.length).append("\r\n");
      headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
      head.append("\r\n");
      write(head.toString().getBytes(StandardCharsets.ISO_8859_1), payload);
    }

    void startSse() throws ClientGone {
      String head =
          "HTTP/1.1 200 OK\r\n"
              + "content-type: text/event-stream; charset=utf-8\r\n"
              + "cache-control: no-cache\r\n"
              + "transfer-encoding: chunked\r\n\r\n";
      write(head.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** One SSE frame, as one HTTP chunk, flushed at once. */
    void chunk(String data) throws ClientGone {
      if (clientGone()) {
        throw new ClientGone();
      }
      byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
      write(
          (Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1),
          bytes,
          "\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    void endChunks() {
      try {
        write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      } catch (ClientGone ignored) {
        // Nobody left to tell.
      }
    }

    private void write(byte[]... parts) throws ClientGone {
      try {
        for (byte[] part : parts) {
          out.write(part);
        }
        out.flush();
      } catch (IOException e) {
        throw new ClientGone();
      }
    }

    /**
     * True when the client closed the connection: the request was read whole, so anything
     * readable now is its end of stream.
     */
    boolean clientGone() {
      try {
        if (in.available() > 0) {
          return false;
        }
        socket.setSoTimeout(1);
        in.mark(1);
        int b = in.read();
        if (b == -1) {
          return true;
        }
        in.reset();
        return false;
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true;
      } finally {
        try {
          socket.setSoTimeout(0);
        } catch (IOException ignored) {
          // The socket is gone; the next write says so.
        }
      }
    }

    /** Sleeps, watching for the client to hang up. */
    void pause(Duration time) throws ClientGone {
      long end = System.nanoTime() + time.toNanos();
      while (System.nanoTime() < end) {
        if (clientGone()) {
          throw new ClientGone();
        }
        sleep(Math.min(20, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      }
    }

    void stall() throws ClientGone {
      long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < end) {
        if (clientGone()) {
          throw new ClientGone();
        }
        sleep(20);
      }
      throw new ClientGone();
    }

    void gate(Semaphore gate) throws ClientGone {
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      try {
        while (!gate.tryAcquire(20, TimeUnit.MILLISECONDS)) {
          if (clientGone() || System.nanoTime() > end) {
            throw new ClientGone();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ClientGone();
      }
    }

    private static void sleep(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private static String reasonPhrase(int status) {
      switch (status) {
        case 200:
          return "OK";
        case 400:
          return "Bad Request";
        case 401:
          return "Unauthorized";
        case 404:
          return "Not Found";
        case 429:
          return "Too Many Requests";
        case 500:
          return "Internal Server Error";
        case 504:
          return "Gateway Timeout";
        default:
          return "Status";
      }
    }
  }

  // --- routes -------------------------------------------------------------------------------------

  private void handle(Exchange ex, String path, Map<String, String> headers, byte[] raw)
      throws ClientGone {
    JsonObject body;
    try {
      body = raw.length == 0 ? new JsonObject() : JsonParser.parseString(new String(raw, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      ex.json(400, "{\"error\":{\"message\":\"invalid JSON\",\"type\":\"invalid_request_error\"}}", Map.of());
      return;
    }
    synchronized (requests) {
      requests.add(new Recorded(path, Map.copyOf(headers), body));
    }
    String model = body.has("model") ? body.get("model").getAsString() : "";
    try {
      switch (path) {
        case "/v1/embeddings":
          embeddings(ex, body);
          break;
        case "/v1/chat/completions":
          chat(ex, body, model);
          break;
        default:
          ex.json(404, "{\"error\":{\"message\":\"no route " + path + "\",\"type\":\"not_found\"}}", Map.of());
      }
    } catch (ClientGone gone) {
      hangups.computeIfAbsent(model, m -> new CountDownLatch(1)).countDown();
      throw gone;
    }
  }

  private void embeddings(Exchange ex, JsonObject body) throws ClientGone {
    List<String> inputs = new ArrayList<>();
    JsonElement input = body.get("input");
    if (input != null && input.isJsonArray()) {
      for (JsonElement e : input.getAsJsonArray()) {
        inputs.add(e.getAsString());
      }
    } else if (input != null) {
      inputs.add(input.getAsString());
    }
    boolean base64 = body.has("encoding_format") && "base64".equals(body.get("encoding_format").getAsString());
    JsonArray data = new JsonArray();
    for (int i = 0; i < inputs.size(); i++) {
      float[] vector = pseudoVector(inputs.get(i));
      JsonObject item = new JsonObject();
      item.addProperty("object", "embedding");
      item.addProperty("index", i);
      if (base64) {
        ByteBuffer buffer = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
          buffer.putFloat(v);
        }
        item.addProperty("embedding", Base64.getEncoder().encodeToString(buffer.array()));
      } else {
        JsonArray values = new JsonArray();
        for (float v : vector) {
          values.add(v);
        }
        item.add("embedding", values);
      }
      data.add(item);
    }
    JsonObject answer = new JsonObject();
    answer.addProperty("object", "list");
    answer.add("data", data);
    answer.add("model", body.get("model"));
    JsonObject usage = new JsonObject();
    usage.addProperty("prompt_tokens", 0);
    usage.addProperty("total_tokens", 0);
    answer.add("usage", usage);
    ex.json(200, answer.toString(), Map.of());
  }

  private void chat(Exchange ex, JsonObject body, String model) throws ClientGone {
    boolean stream = body.has("stream") && body.get("stream").getAsBoolean();
    Script script;
    if (isExtraction(body)) {
      script = Script.pieces(extractionAnswer(body)).usage(50, 20, 0);
    } else {
      script = scriptFor(model);
    }
    if (script.reject != null) {
      ex.json(script.reject.status(), script.reject.body(), script.reject.headers());
      return;
    }
    long created = System.currentTimeMillis() / 1000;
    if (!stream) {
      if (!script.delay.isZero()) {
        ex.pause(script.delay);
      }
      JsonObject message = new JsonObject();
      message.addProperty("role", "assistant");
      message.addProperty("content", String.join("", script.pieces));
      message.add("refusal", JsonNull.INSTANCE);
      message.add("annotations", new JsonArray());
      if (!script.toolCalls.isEmpty()) {
        JsonArray calls = new JsonArray();
        for (String[] call : script.toolCalls) {
          JsonObject function = new JsonObject();
          function.addProperty("name", call[1]);
          function.addProperty("arguments", String.join("", List.of(call).subList(2, call.length)));
          JsonObject c = new JsonObject();
          c.addProperty("id", call[0]);
          c.addProperty("type", "function");
          c.add("function", function);
          calls.add(c);
        }
        message.add("tool_calls", calls);
      }
      JsonObject choice = new JsonObject();
      choice.addProperty("index", 0);
      choice.add("message", message);
      choice.add("logprobs", JsonNull.INSTANCE);
      choice.addProperty("finish_reason", script.finishReason);
      JsonObject answer = frame("chat.completion", created, model);
      JsonArray choices = new JsonArray();
      choices.add(choice);
      answer.add("choices", choices);
      answer.add("usage", usage(script.usage == null ? new int[] {0, 0, 0} : script.usage));
      ex.json(200, answer.toString(), Map.of());
      return;
    }
    boolean includeUsage =
        body.has("stream_options")
            && body.getAsJsonObject("stream_options").has("include_usage")
            && body.getAsJsonObject("stream_options").get("include_usage").getAsBoolean();

    ex.startSse();
    JsonObject roleDelta = new JsonObject();
    roleDelta.addProperty("role", "assistant");
    roleDelta.addProperty("content", "");
    roleDelta.add("refusal", JsonNull.INSTANCE);
    ex.chunk(sse(chunk(created, model, roleDelta, null, includeUsage)));
    for (int n = 0; n < script.pieces.size(); n++) {
      if (script.stallAfter != null && script.stallAfter == n) {
        ex.stall();
      }
      if (script.errorAfter != null && script.errorAfter == n) {
        ex.chunk(
            "data: {\"error\": {\"message\": \"The server had an error while processing your request.\","
                + " \"type\": \"server_error\", \"param\": null, \"code\": null}}\n\n");
        ex.endChunks();
        return;
      }
      if (script.cutAfter != null && script.cutAfter == n) {
        ex.endChunks();
        return;
      }
      if (script.gate != null && n > 0) {
        ex.gate(script.gate);
      }
      if (!script.delay.isZero()) {
        ex.pause(script.delay);
      }
      JsonObject delta = new JsonObject();
      delta.addProperty("content", script.pieces.get(n));
      ex.chunk(sse(chunk(created, model, delta, null, includeUsage)));
      if (n == 0) {
        firstPiecesSent.computeIfAbsent(model, m -> new AtomicInteger()).incrementAndGet();
      }
    }
    for (int index = 0; index < script.toolCalls.size(); index++) {
      String[] call = script.toolCalls.get(index);
      JsonObject function = new JsonObject();
      function.addProperty("name", call[1]);
      function.addProperty("arguments", "");
      JsonObject first = new JsonObject();
      first.addProperty("index", index);
      first.addProperty("id", call[0]);
      first.addProperty("type", "function");
      first.add("function", function);
      ex.chunk(sse(chunk(created, model, toolCallsDelta(first), null, includeUsage)));
      for (int p = 2; p < call.length; p++) {
        JsonObject args = new JsonObject();
        args.addProperty("arguments", call[p]);
        JsonObject piece = new JsonObject();
        piece.addProperty("index", index);
        piece.add("function", args);
        ex.chunk(sse(chunk(created, model, toolCallsDelta(piece), null, includeUsage)));
      }
    }
    ex.chunk(sse(chunk(created, model, new JsonObject(), script.finishReason, includeUsage)));
    if (includeUsage && script.usage != null) {
      JsonObject usageFrame = frame("chat.completion.chunk", created, model);
      usageFrame.add("choices", new JsonArray());
      usageFrame.add("usage", usage(script.usage));
      ex.chunk(sse(usageFrame));
    }
    ex.chunk("data: [DONE]\n\n");
    ex.endChunks();
    finished.computeIfAbsent(model, m -> new AtomicInteger()).incrementAndGet();
  }

  private static JsonObject toolCallsDelta(JsonObject call) {
    JsonArray calls = new JsonArray();
    calls.add(call);
    JsonObject delta = new JsonObject();
    delta.add("tool_calls", calls);
    return delta;
  }

  private static JsonObject frame(String object, long created, String model) {
    JsonObject frame = new JsonObject();
    frame.addProperty("id", "chatcmpl-fake");
    frame.addProperty("object", object);
    frame.addProperty("created", created);
    frame.addProperty("model", model);
    frame.addProperty("service_tier", "default");
    frame.addProperty("system_fingerprint", "fp_fake");
    return frame;
  }

  private static JsonObject chunk(
      long created, String model, JsonObject delta, String finish, boolean includeUsage) {
    JsonObject choice = new JsonObject();
    choice.addProperty("index", 0);
    choice.add("delta", delta);
    choice.add("logprobs", JsonNull.INSTANCE);
    if (finish == null) {
      choice.add("finish_reason", JsonNull.INSTANCE);
    } else {
      choice.addProperty("finish_reason", finish);
    }
    JsonObject frame = frame("chat.completion.chunk", created, model);
    JsonArray choices = new JsonArray();
    choices.add(choice);
    frame.add("choices", choices);
    if (includeUsage) {
      frame.add("usage", JsonNull.INSTANCE);
    }
    return frame;
  }

  private static JsonObject usage(int[] u) {
    JsonObject usage = new JsonObject();
    usage.addProperty("prompt_tokens", u[0]);
    usage.addProperty("completion_tokens", u[1]);
    usage.addProperty("total_tokens", u[0] + u[1]);
    JsonObject prompt = new JsonObject();
    prompt.addProperty("cached_tokens", u[2]);
    prompt.addProperty("audio_tokens", 0);
    usage.add("prompt_tokens_details", prompt);
    JsonObject completion = new JsonObject();
    completion.addProperty("reasoning_tokens", 0);
    completion.addProperty("audio_tokens", 0);
    completion.addProperty("accepted_prediction_tokens", 0);
    completion.addProperty("rejected_prediction_tokens", 0);
    usage.add("completion_tokens_details", completion);
    return usage;
  }

  private static String sse(JsonObject frame) {
    return "data: " + GSON.toJson(frame) + "\n\n";
  }

  // --- the extraction model and the embeddings ----------------------------------------------------

  static boolean isExtraction(JsonObject body) {
    if (!body.has("response_format") || !body.get("response_format").isJsonObject()) {
      return false;
    }
    JsonObject format = body.getAsJsonObject("response_format");
    return format.has("type")
        && "json_schema".equals(format.get("type").getAsString())
        && format.has("json_schema")
        && "memories".equals(format.getAsJsonObject("json_schema").get("name").getAsString());
  }

  static List<String> words(String text) {
    List<String> words = new ArrayList<>();
    Matcher m = Pattern.compile("[a-z0-9]+").matcher(text.toLowerCase(Locale.ROOT));
    while (m.find()) {
      String w = m.group();
      if (!STOP_WORDS.contains(w)) {
        words.add(w.length() > 5 ? w.substring(0, 5) : w);
      }
    }
    return words;
  }

  static float[] pseudoVector(String text) {
    double[] vector = new double[DIMENSIONS];
    List<String> tokens = words(text);
    if (tokens.isEmpty()) {
      tokens = List.of("<empty>");
    }
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (String token : tokens) {
      byte[] digest = sha.digest(token.getBytes(StandardCharsets.UTF_8));
      int index = Math.floorMod(ByteBuffer.wrap(digest, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt(), DIMENSIONS);
      vector[index] += (digest[4] & 1) == 1 ? 1.0 : -1.0;
    }
    double norm = 0;
    for (double v : vector) {
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm == 0) {
      norm = 1;
    }
    float[] out = new float[DIMENSIONS];
    for (int i = 0; i < DIMENSIONS; i++) {
      out[i] = (float) (vector[i] / norm);
    }
    return out;
  }

  private static final Map<String, String> VERBS =
      Map.of("am", "is", "have", "has", "do", "does", "go", "goes", "'m", "is");

  /** "I prefer async Python" → "prefers async Python"; null if not about the speaker. */
  static String thirdPerson(String sentence) {
    String s = sentence.strip().replaceAll("[.!?]+$", "").strip();
    Matcher m = Pattern.compile("^(?:I'm|I am)\\s+(.+)$").matcher(s);
    if (m.matches()) {
      return "is " + m.group(1);
    }
    m = Pattern.compile("^I\\s+(\\w+)\\s*(.*)$").matcher(s);
    if (m.matches()) {
      String verb = m.group(1);
      String rest = m.group(2);
      String lower = verb.toLowerCase(Locale.ROOT);
      if (VERBS.containsKey(lower)) {
        verb = VERBS.get(lower);
      } else if (verb.endsWith("s") || verb.endsWith("sh") || verb.endsWith("ch") || verb.endsWith("x")) {
        verb += "es";
      } else if (verb.endsWith("y") && verb.length() > 1 && "aeiou".indexOf(verb.charAt(verb.length() - 2)) < 0) {
        verb = verb.substring(0, verb.length() - 1) + "ies";
      } else {
        verb += "s";
      }
      return (verb + " " + rest).strip();
    }
    m = Pattern.compile("^My\\s+(.+)$").matcher(s);
    if (m.matches()) {
      return m.group(1);
    }
    return null;
  }

  private static String category(String fact) {
    String first = fact.split(" ", 2)[0];
    switch (first) {
      case "prefers":
      case "likes":
      case "loves":
      case "hates":
      case "dislikes":
      case "enjoys":
      case "wants":
        return "preference";
      case "is":
      case "lives":
      case "has":
        return "attribute";
      case "uses":
      case "knows":
      case "speaks":
      case "works":
      case "writes":
        return "skill";
      default:
        return "other";
    }
  }

  /** What memorid's extraction model would answer for this request. */
  static String extractionAnswer(JsonObject request) {
    String context = "";
    for (JsonElement e : request.getAsJsonArray("messages")) {
      JsonObject message = e.getAsJsonObject();
      if ("user".equals(message.get("role").getAsString()) && message.has("content")) {
        context = message.get("content").getAsString();
      }
    }
    Map<String, String> known = new HashMap<>();
    Pattern knownLine = Pattern.compile("^- (f\\d+): (.*)$");
    for (String line : context.split("\n", -1)) {
      Matcher m = knownLine.matcher(line);
      if (m.matches()) {
        known.put(m.group(2).strip().toLowerCase(Locale.ROOT), m.group(1));
      }
    }
    int at = context.indexOf("The turn:\n");
    String turn = at < 0 ? context : context.substring(at + "The turn:\n".length());
    List<String> userLines = new ArrayList<>();
    boolean speaking = false;
    for (String line : turn.split("\n", -1)) {
      if (line.startsWith("user: ")) {
        speaking = true;
        userLines.add(line.substring("user: ".length()));
      } else if (line.startsWith("assistant: ")) {
        speaking = false;
      } else if (speaking) {
        userLines.add(line);
      }
    }
    String said = String.join(" ", userLines);
    JsonArray facts = new JsonArray();
    for (String sentence : said.split("(?<=[.!?])\\s+|\n")) {
      String content = thirdPerson(sentence);
      if (content == null || content.isEmpty()) {
        continue;
      }
      String existing = known.getOrDefault(content.toLowerCase(Locale.ROOT), "");
      JsonObject fact = new JsonObject();
      fact.addProperty("content", content);
      fact.addProperty("category", category(content));
      fact.addProperty("action", existing.isEmpty() ? "new" : "same");
      fact.addProperty("existing_id", existing);
      facts.add(fact);
    }
    JsonObject answer = new JsonObject();
    answer.add("facts", facts);
    answer.add("triples", new JsonArray());
    answer.add("process_attributes", new JsonArray());
    answer.addProperty("summary", said.length() > 200 ? said.substring(0, 200) : said);
    return answer.toString();
  }
}
