package io.memorid.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real memorid release binary ({@code $MEMORID_BIN}, default
 * /var/tmp/memorid-target/release/memorid) on a free port, on SQLite in a folder of its own, with
 * its {@code openai} provider, extraction model and embeddings pointing at a {@link FakeUpstream}.
 * A missing binary fails the test run with what to build; it is never skipped. With {@link Tls},
 * memorid serves TLS itself and a plaintext health port beside it.
 */
final class MemoridServer implements AutoCloseable {

  static final String BIN =
      System.getenv().getOrDefault("MEMORID_BIN", "/var/tmp/memorid-target/release/memorid");
  static final Map<String, String> KEYS = Map.of("acme", "test-key-acme", "globex", "test-key-globex");
  static final String API_KEY = KEYS.get("acme");
  static final String UPSTREAM_KEY = "sk-fake-upstream-key";

  /**
   * memorid's own TLS ({@code server.tls}): PEM files, and a CA whose client certificates it then
   * requires (mTLS) when {@code clientCaFile} is not null.
   */
  record Tls(Path certFile, Path keyFile, Path clientCaFile) {}

  private final Process process;
  private final Path directory;
  private final int port;
  private final Integer healthPort;

  private MemoridServer(Process process, Path directory, int port, Integer healthPort) {
    this.process = process;
    this.directory = directory;
    this.port = port;
    this.healthPort = healthPort;
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String config(FakeUpstream upstream, String storageUrl, int port, Tls tls, Integer healthPort) {
    StringBuilder keys = new StringBuilder();
    for (Map.Entry<String, String> key : KEYS.entrySet()) {
      if (keys.length() > 0) {
        keys.append(", ");
      }
      keys.append("{ namespace = \"").append(key.getKey()).append("\", key = \"").append(key.getValue()).append("\" }");
    }
    String serverTls = "";
    if (tls != null) {
      // [server.tls] is a table inside [server], so it goes last: keys after it would be its own.
      serverTls = String.join(
          "\n",
          "[server.tls]",
          "cert_file = \"" + tls.certFile() + "\"",
          "key_file = \"" + tls.keyFile() + "\"",
          "reload_secs = 1",
          tls.clientCaFile() != null ? "client_ca_file = \"" + tls.clientCaFile() + "\"" : "",
          "");
    }
    return String.join(
        "\n",
        "[server]",
        "listen = \"127.0.0.1:" + port + "\"",
        "shutdown_grace_secs = 1",
        healthPort != null ? "health_listen = \"127.0.0.1:" + healthPort + "\"" : "",
        "",
        "[storage]",
        "url = \"" + storageUrl + "\"",
        "",
        "[auth]",
        "keys = [" + keys + "]",
        "",
        "[routing]",
        "max_attempts = 2",
        "initial_backoff_ms = 10",
        "max_backoff_ms = 50",
        "max_retry_after_secs = 1",
        "",
        "[augmentation]",
        "extraction_model = \"openai/extractor\"",
        "poll_interval_ms = 100",
        "retry_backoff_ms = 100",
        "",
        "[embeddings]",
        "backend = \"openai\"",
        "base_url = \"" + upstream.baseUrl() + "\"",
        "model = \"fake-bow-256\"",
        "",
        "[log]",
        "filter = \"warn\"",
        "",
        // The default `openai` provider points at the fake, so model names are the real ones.
        "[providers.openai]",
        "kind = \"openai\"",
        "base_url = \"" + upstream.baseUrl() + "\"",
        "api_key_env = \"FAKE_UPSTREAM_KEY\"",
        "",
        serverTls);
  }

  static MemoridServer start(FakeUpstream upstream) {
    return start(upstream, freePort());
  }

  /** Starts memorid on {@code port} and waits until it is SERVING (60 s at most). */
  static MemoridServer start(FakeUpstream upstream, int port) {
    return start(upstream, port, null);
  }

  /**
   * Starts memorid serving TLS on a free port; readiness is then probed on a plaintext health port,
   * since the main one needs certificates.
   */
  static MemoridServer start(FakeUpstream upstream, Tls tls) {
    return start(upstream, freePort(), Objects.requireNonNull(tls, "tls"));
  }

  private static MemoridServer start(FakeUpstream upstream, int port, Tls tls) {
    Path bin = Paths.get(BIN);
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException(
          "no memorid binary at " + BIN + ": build it with `cargo build --release`"
              + " (CARGO_TARGET_DIR=/var/tmp/memorid-target) or point MEMORID_BIN at one");
    }
    try {
      Path directory = Files.createTempDirectory("memorid-java.");
      Path config = directory.resolve("memorid.toml");
      Integer healthPort = tls != null ? freePort() : null;
      Files.writeString(
          config,
          config(upstream, "sqlite://" + directory.resolve("memorid.db"), port, tls, healthPort),
          StandardCharsets.UTF_8);
      ProcessBuilder builder =
          new ProcessBuilder(BIN, "--config", config.toString(), "serve")
              .redirectErrorStream(true)
              .redirectOutput(directory.resolve("memorid.log").toFile());
      builder.environment().keySet().removeIf(name -> name.startsWith("MEMORID_"));
      builder.environment().put("FAKE_UPSTREAM_KEY", UPSTREAM_KEY);
      MemoridServer server = new MemoridServer(builder.start(), directory, port, healthPort);
      server.awaitServing(Duration.ofSeconds(60));
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void awaitServing(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String probeTarget = healthPort != null ? "127.0.0.1:" + healthPort : target();
    try (MemoridClient probe = MemoridClient.builder(probeTarget).build()) {
      while (!probe.health(Duration.ofSeconds(1))) {
        if (!process.isAlive()) {
          String logs = logs();
          close();
          throw new IllegalStateException(
              "memorid exited while starting (" + process.exitValue() + "):\n" + tail(logs));
        }
        if (System.nanoTime() > deadline) {
          String logs = logs();
          close();
          throw new IllegalStateException("memorid was not SERVING within " + timeout + ":\n" + tail(logs));
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new IllegalStateException("interrupted while starting memorid", e);
    }
  }

  private static String tail(String logs) {
    return logs.length() > 4000 ? logs.substring(logs.length() - 4000) : logs;
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  String logs() {
    try {
      return Files.readString(directory.resolve("memorid.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** A client of this server with the {@code acme} namespace's key. */
  MemoridClient client() {
    return MemoridClient.builder(target()).apiKey(API_KEY).build();
  }

  /** Stops memorid (SIGTERM, then SIGKILL after 10 s) and removes its folder. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException ignored) {
      // Best effort: a temp folder left behind is not a test failure.
    }
  }
}
