package io.memorid.client;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.memorid.client.internal.gen.memori.v1.AttributeRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A connection to memorid. One client holds one gRPC channel that every call, thread and scope
 * shares: create one per process (or per server you talk to) and close it at the end.
 *
 * <pre>{@code
 * try (MemoridClient client = MemoridClient.builder("localhost:50051").apiKey(key).build()) {
 *   AttributionScope mem = client.attribution("user_123", "support-bot");
 *   try (ChatStream stream = mem.chat("openai/gpt-4o-mini", List.of(Message.user("Hi")))) {
 *     stream.textStream().forEach(System.out::print);
 *   }
 * }
 * }</pre>
 *
 * <p>Most code talks through an {@link AttributionScope} ({@link #attribution(String)}); the client
 * itself adds what spans entities: {@link #attribute(List)} of many turns in one stream, and the
 * server's {@link #health()}.
 */
public final class MemoridClient implements AutoCloseable {

  /** The default deadline of every call but chat. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** The default largest message received: 64 MiB. */
  public static final int DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

  static final String VERSION = "0.1.0";

  private static final System.Logger LOG = System.getLogger("io.memorid.client");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String target;
  private final boolean tls;
  private final ManagedChannel channel;
  private final ScheduledThreadPoolExecutor timer;
  private final Calls calls;
  private final Duration timeout;
  private final Duration chatTimeout;

  private MemoridClient(Builder b, Target parsed) {
    this.target = parsed.authority();
    this.tls = parsed.tls();
    this.timeout = b.timeout;
    this.chatTimeout = b.chatTimeout;
    ManagedChannelBuilder<?> channelBuilder;
    try {
      channelBuilder = Grpc.newChannelBuilderForAddress(parsed.host(), parsed.port(), credentials(b, parsed.tls()));
    } catch (IllegalArgumentException e) {
      // Netty parses the PEM here and says only "Input stream does not contain valid private
      // key"; say which of the caller's certificates it was about.
      throw parsed.tls() ? new IllegalArgumentException(
          "memorid: unusable TLS certificates (" + b.certificateSources() + "): " + e.getMessage(), e) : e;
    }
    channelBuilder
        .userAgent(b.userAgent == null ? "memorid-java/" + VERSION : b.userAgent)
        .maxInboundMessageSize(b.maxMessageSize);
    if (b.authority != null) {
      channelBuilder.overrideAuthority(b.authority);
    }
    if (b.keepAliveTime != null) {
      channelBuilder
          .keepAliveTime(b.keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(b.keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveWithoutCalls(true);
    }
    if (b.executor != null) {
      channelBuilder.executor(b.executor);
    }
    if (b.apiKey != null) {
      if (!parsed.tls()) {
        LOG.log(
            System.Logger.Level.WARNING,
            "memorid: sending an API key to {0} without TLS; anyone on the path can read it (use an"
                + " https:// target or tls(true) outside a trusted network)",
            target);
      }
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + b.apiKey);
      channelBuilder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.channel = channelBuilder.build();
    this.timer = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "memorid-retry-timer");
      thread.setDaemon(true);
      return thread;
    });
    this.timer.setRemoveOnCancelPolicy(true);
    this.calls = new Calls(channel, b.retry, timer);
  }

  private static ChannelCredentials credentials(Builder b, boolean tls) {
    if (!tls) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder();
    try {
      if (b.caPem != null) {
        creds.trustManager(new ByteArrayInputStream(b.caPem));
      } else if (b.caFile != null) {
        creds.trustManager(b.caFile.toFile());
      }
      // Otherwise the JDK's default trust store: the system's roots.
    } catch (IOException e) {
      throw new UncheckedIOException("reading the CA certificates for memorid", e);
    }
    try {
      if (b.clientCertPem != null) {
        creds.keyManager(new ByteArrayInputStream(b.clientCertPem), new ByteArrayInputStream(b.clientKeyPem));
      } else if (b.clientCertFile != null) {
        creds.keyManager(b.clientCertFile.toFile(), b.clientKeyFile.toFile());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading the client certificate for memorid", e);
    }
    return creds.build();
  }

  /** A builder for a client of memorid at {@code localhost:50051}. */
  public static Builder builder() {
    return new Builder("localhost:50051");
  }

  /**
   * A builder for a client of memorid at {@code target}: {@code host:port} (plaintext), {@code
   * http://host[:port]} or {@code https://host[:port]} (TLS; port 443 by default).
   */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** {@code host:port} of the server. */
  public String target() {
    return target;
  }

  /** Whether the connection uses TLS. */
  public boolean isTls() {
    return tls;
  }

  // --- scopes -------------------------------------------------------------------------------------

  /** The client bound to this entity (no process, no session). */
  public AttributionScope attribution(String entityId) {
    return attribution(Attribution.of(entityId));
  }

  /** The client bound to this entity and process. */
  public AttributionScope attribution(String entityId, String processId) {
    return attribution(Attribution.of(entityId, processId));
  }

  /** The client bound to this attribution. */
  public AttributionScope attribution(Attribution attribution) {
    Objects.requireNonNull(attribution, "attribution");
    if (attribution.entityId().isEmpty()) {
      throw new IllegalArgumentException("entityId is required");
    }
    return new AttributionScope(calls, attribution, timeout, chatTimeout);
  }

  // --- calls spanning entities ------------------------------------------------------------------

  /**
   * Stores finished turns — of any entities — in one stream and returns one result per turn, in
   * order, each once its turn is durably stored. A turn without an idempotency key gets a random
   * one, so a retry (with a {@link RetryPolicy}) resends only the turns not answered yet and never
   * stores one twice.
   */
  public List<AttributeResult> attribute(List<AttributeTurn> turns) {
    return Calls.await(attributeAsync(turns));
  }

  public CompletableFuture<List<AttributeResult>> attributeAsync(List<AttributeTurn> turns) {
    return attribute(calls, turns, timeout);
  }

  static CompletableFuture<List<AttributeResult>> attribute(
      Calls calls, List<AttributeTurn> turns, Duration timeout) {
    List<AttributeRequest> requests = new ArrayList<>(turns.size());
    Set<String> keys = new HashSet<>();
    for (AttributeTurn turn : turns) {
      String key = turn.options().idempotencyKey();
      if (key.isEmpty()) {
        key = "memorid-java-" + UUID.randomUUID();
      } else if (!keys.add(key)) {
        throw new IllegalArgumentException("two turns share the idempotency key " + key);
      }
      requests.add(Convert.attributeRequest(turn, key));
    }
    return calls.attribute(requests, timeout);
  }

  /** True when memorid reports SERVING (storage migrated, embedder loaded); 5 s at most. */
  public boolean health() {
    return health(Duration.ofSeconds(5));
  }

  /** True when memorid reports SERVING within {@code timeout}; false on any failure. */
  public boolean health(Duration timeout) {
    return Calls.await(calls.health(timeout));
  }

  /** Blocks until {@link #health()} is true; {@link DeadlineExceededException} after {@code timeout}. */
  public void waitUntilReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (health(Duration.ofNanos(Math.max(Duration.ofMillis(100).toNanos(), Math.min(left, Duration.ofSeconds(5).toNanos()))))) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw Errors.local(
            io.grpc.Status.Code.DEADLINE_EXCEEDED,
            "memorid at " + target + " was not SERVING within " + timeout);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw Errors.local(io.grpc.Status.Code.CANCELLED, "interrupted while waiting for memorid");
      }
    }
  }

  /**
   * Closes the channel: calls still running get 5 s to finish, then are cancelled (memorid stops
   * their upstream requests); a call waiting to retry fails at once with its last error.
   * Idempotent.
   */
  @Override
  public void close() {
    calls.close();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      timer.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "MemoridClient[" + (tls ? "https://" : "http://") + target + "]";
  }

  /** Where the client connects. */
  record Target(String host, int port, boolean tls) {
    String authority() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * {@code host:port}, {@code [v6]:port}, or a URL with scheme http, https, grpc or grpcs (the
     * last two as aliases of the first two).
     */
    static Target parse(String target, Boolean tls) {
      Objects.requireNonNull(target, "target");
      String address = target.trim();
      Boolean schemeTls = null;
      int sep = address.indexOf("://");
      if (sep >= 0) {
        String scheme = address.substring(0, sep).toLowerCase(java.util.Locale.ROOT);
        switch (scheme) {
          case "http":
          case "grpc":
            schemeTls = false;
            break;
          case "https":
          case "grpcs":
            schemeTls = true;
            break;
          default:
            throw new IllegalArgumentException(
                "unsupported target scheme " + scheme + ": use host:port, http:// or https://");
        }
        address = address.substring(sep + 3);
        while (address.endsWith("/")) {
          address = address.substring(0, address.length() - 1);
        }
      }
      if (address.isEmpty() || address.contains("/")) {
        throw new IllegalArgumentException("not a memorid target: " + target);
      }
      boolean secure = tls != null ? tls : Boolean.TRUE.equals(schemeTls);
      String host;
      String port = null;
      if (address.startsWith("[")) {
        int close = address.indexOf(']');
        if (close < 0) {
          throw new IllegalArgumentException("not a memorid target: " + target);
        }
        host = address.substring(1, close);
        if (address.length() > close + 1) {
          if (address.charAt(close + 1) != ':') {
            throw new IllegalArgumentException("not a memorid target: " + target);
          }
          port = address.substring(close + 2);
        }
      } else {
        int colon = address.lastIndexOf(':');
        host = colon < 0 ? address : address.substring(0, colon);
        port = colon < 0 ? null : address.substring(colon + 1);
      }
      int number;
      if (port == null) {
        if (schemeTls == null) {
          throw new IllegalArgumentException("the target needs a port (host:port): " + target);
        }
        number = schemeTls ? 443 : 80;
      } else {
        try {
          number = Integer.parseInt(port);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a port in target " + target + ": " + port, e);
        }
      }
      if (host.isEmpty() || number <= 0 || number > 65535) {
        throw new IllegalArgumentException("not a memorid target: " + target);
      }
      return new Target(host, number, secure);
    }
  }

  /** Builds a {@link MemoridClient}. */
  public static final class Builder {
    private String target;
    private String apiKey;
    private Boolean tls;
    private Path caFile;
    private byte[] caPem;
    private Path clientCertFile;
    private Path clientKeyFile;
    private byte[] clientCertPem;
    private byte[] clientKeyPem;
    private String authority;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Duration chatTimeout;
    private Duration keepAliveTime;
    private Duration keepAliveTimeout = Duration.ofSeconds(20);
    private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
    private RetryPolicy retry;
    private String userAgent;
    private Executor executor;

    private Builder(String target) {
      this.target = Objects.requireNonNull(target, "target");
    }

    /** {@code host:port} (plaintext), {@code http://...} or {@code https://...} (TLS). */
    public Builder target(String target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /**
     * The API key, sent as {@code authorization: Bearer <key>} on every call. Without TLS a
     * warning is logged (logger {@code io.memorid.client}): anyone on the path could read it.
     */
    public Builder apiKey(String apiKey) {
      Objects.requireNonNull(apiKey, "apiKey");
      this.apiKey = apiKey.isEmpty() ? null : apiKey;
      return this;
    }

    /**
     * TLS on or off, whatever the target's scheme says. Default: on for {@code https://} targets
     * and when CA certificates or a client certificate are given.
     */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** Trust these PEM CA certificates instead of the system's roots (turns TLS on). */
    public Builder caFile(Path caFile) {
      this.caFile = Objects.requireNonNull(caFile, "caFile");
      this.caPem = null;
      return this;
    }

    /** Trust these PEM CA certificates instead of the system's roots (turns TLS on). */
    public Builder trustedCertificates(byte[] pem) {
      this.caPem = Objects.requireNonNull(pem, "pem").clone();
      this.caFile = null;
      return this;
    }

    /**
     * Presents this client certificate to a server that requires one (memorid with {@code
     * server.tls.client_ca_file}: mTLS); turns TLS on. {@code certChainFile} is the PEM chain, leaf
     * first, and {@code privateKeyFile} its PEM private key, unencrypted PKCS#8 ({@code BEGIN
     * PRIVATE KEY}, what OpenSSL 3 writes; grpc-java reads no PKCS#1 {@code BEGIN RSA PRIVATE
     * KEY}). Both are needed: one without the other is an {@link IllegalArgumentException} naming
     * both. {@link #build()} reads and parses them.
     */
    public Builder clientCertificate(Path certChainFile, Path privateKeyFile) {
      requirePair(certChainFile, privateKeyFile, "certChainFile", "privateKeyFile");
      this.clientCertFile = certChainFile;
      this.clientKeyFile = privateKeyFile;
      this.clientCertPem = null;
      this.clientKeyPem = null;
      return this;
    }

    /** {@link #clientCertificate(Path, Path)} with the PEM text itself. */
    public Builder clientCertificate(byte[] certChainPem, byte[] privateKeyPem) {
      requirePair(certChainPem, privateKeyPem, "certChainPem", "privateKeyPem");
      this.clientCertPem = certChainPem.clone();
      this.clientKeyPem = privateKeyPem.clone();
      this.clientCertFile = null;
      this.clientKeyFile = null;
      return this;
    }

    /** What certificates were given, for an error about them. */
    String certificateSources() {
      List<String> sources = new ArrayList<>();
      if (caFile != null) {
        sources.add("CA file " + caFile);
      } else if (caPem != null) {
        sources.add("trusted certificates (PEM)");
      }
      if (clientCertFile != null) {
        sources.add("client certificate " + clientCertFile + " with key " + clientKeyFile);
      } else if (clientCertPem != null) {
        sources.add("client certificate and key (PEM)");
      }
      return sources.isEmpty() ? "the system's roots" : String.join(", ", sources);
    }

    // Half a client certificate would only show as a handshake the server refuses, without saying
    // why; refuse it here instead, naming both halves.
    private static void requirePair(Object certChain, Object privateKey, String certName, String keyName) {
      if (certChain == null || privateKey == null) {
        throw new IllegalArgumentException(
            "a client certificate needs both " + certName + " and " + keyName + " ("
                + (certChain == null ? certName : keyName) + " is null)");
      }
    }

    /** The name to check the server's certificate against (and send as authority). */
    public Builder authority(String authority) {
      this.authority = Objects.requireNonNull(authority, "authority");
      return this;
    }

    /** The default deadline of every call but chat (30 s); each scope can override it. */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout, "timeout");
      return this;
    }

    /** No default deadline for calls but chat. */
    public Builder noTimeout() {
      this.timeout = null;
      return this;
    }

    /** The default deadline of chat streams (none by default: answers can be long). */
    public Builder chatTimeout(Duration chatTimeout) {
      this.chatTimeout = positive(chatTimeout, "chatTimeout");
      return this;
    }

    /**
     * HTTP/2 keepalive pings every {@code time} (off by default; gRPC raises anything under 10 s
     * to 10 s), even without calls, the connection dropped when one is not answered within 20 s.
     */
    public Builder keepAlive(Duration time) {
      this.keepAliveTime = positive(time, "keepAlive");
      return this;
    }

    /** Keepalive pings every {@code time}, each to be answered within {@code timeout}. */
    public Builder keepAlive(Duration time, Duration timeout) {
      this.keepAliveTime = positive(time, "keepAlive");
      this.keepAliveTimeout = positive(timeout, "keepAliveTimeout");
      return this;
    }

    /** The largest message received (64 MiB by default). */
    public Builder maxMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxMessageSize must be positive");
      }
      this.maxMessageSize = bytes;
      return this;
    }

    /** Turns retries on (off by default); see {@link RetryPolicy}. */
    public Builder retry(RetryPolicy retry) {
      this.retry = Objects.requireNonNull(retry, "retry");
      return this;
    }

    /** The user agent sent to the server (default {@code memorid-java/<version>}). */
    public Builder userAgent(String userAgent) {
      this.userAgent = Objects.requireNonNull(userAgent, "userAgent");
      return this;
    }

    /**
     * Where gRPC runs callbacks: async futures complete and chat observers are called on it
     * (default: gRPC's shared cached thread pool).
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Opens the channel (lazily: the first call connects). */
    public MemoridClient build() {
      Boolean secure = tls;
      boolean clientCert = clientCertFile != null || clientCertPem != null;
      if (secure == null && (caFile != null || caPem != null || clientCert)) {
        secure = true;
      }
      if (Boolean.FALSE.equals(tls) && (caFile != null || caPem != null)) {
        throw new IllegalArgumentException("CA certificates need TLS, but tls(false) was set");
      }
      if (Boolean.FALSE.equals(tls) && clientCert) {
        throw new IllegalArgumentException("a client certificate needs TLS, but tls(false) was set");
      }
      if (caFile != null && !Files.isReadable(caFile)) {
        throw new IllegalArgumentException("cannot read the CA file " + caFile);
      }
      if (clientCertFile != null && !Files.isReadable(clientCertFile)) {
        throw new IllegalArgumentException("cannot read the client certificate file " + clientCertFile);
      }
      if (clientKeyFile != null && !Files.isReadable(clientKeyFile)) {
        throw new IllegalArgumentException("cannot read the client key file " + clientKeyFile);
      }
      return new MemoridClient(this, Target.parse(target, secure));
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive");
      }
      return d;
    }
  }
}
