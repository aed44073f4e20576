package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Targets, TLS against the real memorid serving it itself ({@code server.tls}, certificates from a
 * CA of the test's own made by openssl), client certificates where memorid requires them ({@code
 * client_ca_file}), the key warning.
 */
@ExtendWith(MemoridExtension.class)
class ConnectionTest {

  private static TestPki pki;
  private static MemoridServer tlsServer;
  private static MemoridServer mtlsServer;

  @BeforeAll
  static void startTlsServers(FakeUpstream upstream) throws Exception {
    pki = new TestPki();
    tlsServer = MemoridServer.start(upstream, new MemoridServer.Tls(pki.server.cert(), pki.server.key(), null));
    mtlsServer = MemoridServer.start(upstream, new MemoridServer.Tls(pki.server.cert(), pki.server.key(), pki.ca));
  }

  @AfterAll
  static void stopTlsServers() throws Exception {
    if (tlsServer != null) {
      tlsServer.close();
    }
    if (mtlsServer != null) {
      mtlsServer.close();
    }
    if (pki != null) {
      pki.close();
    }
  }

  /** Collects what the client logs. */
  private static final class Captured extends Handler implements AutoCloseable {
    final List<LogRecord> records = new ArrayList<>();
    private final Logger logger = Logger.getLogger("io.memorid.client");

    Captured() {
      logger.addHandler(this);
    }

    @Override
    public synchronized void publish(LogRecord record) {
      records.add(record);
    }

    synchronized List<String> warnings() {
      List<String> texts = new ArrayList<>();
      for (LogRecord r : records) {
        if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
          texts.add(java.text.MessageFormat.format(r.getMessage(), r.getParameters()));
        }
      }
      return texts;
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
      logger.removeHandler(this);
    }
  }

  @Test
  void chatAndMemoryOverTlsWithACaFile(FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("secure", " hello"));
    try (Captured log = new Captured();
        MemoridClient client = MemoridClient.builder("https://localhost:" + tlsServer.port())
            .apiKey(MemoridServer.API_KEY).caFile(pki.ca).keepAlive(Duration.ofSeconds(10)).build()) {
      assertTrue(client.isTls());
      assertTrue(client.health());
      AttributionScope scope = client.attribution(entity());
      assertEquals("secure hello", scope.chat("openai/" + model, List.of(Message.user("hi"))).collect().text());
      assertEquals(List.of(), scope.listFacts().facts());
      assertEquals(List.of(), log.warnings(), "no warning when the key travels over TLS");
      // The key reached memorid through TLS: memorid authenticated the call (a wrong key is refused).
      try (MemoridClient wrong = MemoridClient.builder("localhost:" + tlsServer.port()).tls(true)
          .trustedCertificates(Files.readAllBytes(pki.ca)).apiKey("wrong").build()) {
        assertThrows(UnauthenticatedException.class, () -> wrong.attribution(entity()).listFacts());
      }
    }
  }

  @Test
  void aServerCertificateNotTrustedIsRefused() {
    try (MemoridClient client = MemoridClient.builder("https://127.0.0.1:" + tlsServer.port())
        .timeout(Duration.ofSeconds(5)).build()) {
      // The system's roots do not know the test CA.
      UnavailableException e = assertThrows(UnavailableException.class, () -> client.attribution(entity()).listFacts());
      assertEquals("", e.reason());
      assertFalse(client.health(Duration.ofSeconds(2)));
    }
  }

  @Test
  void theServerNameIsCheckedAgainstTheAuthority() {
    String target = "https://127.0.0.1:" + tlsServer.port();
    try (MemoridClient named = MemoridClient.builder(target).caFile(pki.ca).authority(TestPki.SERVER_NAME)
        .apiKey(MemoridServer.API_KEY).build()) {
      assertEquals(List.of(), named.attribution(entity()).listFacts().facts());
    }
    try (MemoridClient elsewhere = MemoridClient.builder(target).caFile(pki.ca).authority("elsewhere.test")
        .apiKey(MemoridServer.API_KEY).timeout(Duration.ofSeconds(5)).build()) {
      assertThrows(UnavailableException.class, () -> elsewhere.attribution(entity()).listFacts());
    }
  }

  @Test
  void plaintextToTheTlsPortFails() {
    try (MemoridClient plain = MemoridClient.builder(tlsServer.target()).timeout(Duration.ofSeconds(5)).build()) {
      long started = System.nanoTime();
      MemoridException e = assertThrows(MemoridException.class, () -> plain.attribution(entity()).listFacts());
      // memorid answers the HTTP/2 preface with a TLS alert, which grpc-java's HTTP/2 codec reads as
      // a first frame that is not SETTINGS: a protocol error, so INTERNAL (grpc-go and grpcio say
      // UNAVAILABLE). No status came from memorid, and the call did not wait for its deadline.
      assertTrue(e.code() == Status.Code.INTERNAL || e.code() == Status.Code.UNAVAILABLE, e.toString());
      assertEquals("", e.reason());
      assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(4)) < 0, "waited");
    }
  }

  @Test
  void aClientCertificateIsPresentedWhereMemoridRequiresOne() throws Exception {
    String target = "https://127.0.0.1:" + mtlsServer.port();
    try (MemoridClient files = MemoridClient.builder(target).caFile(pki.ca)
            .clientCertificate(pki.client.cert(), pki.client.key()).apiKey(MemoridServer.API_KEY).build();
        MemoridClient pem = MemoridClient.builder(target).caFile(pki.ca)
            .clientCertificate(Files.readAllBytes(pki.client.cert()), Files.readAllBytes(pki.client.key()))
            .apiKey(MemoridServer.API_KEY).build()) {
      assertEquals(List.of(), files.attribution(entity()).listFacts().facts());
      assertEquals(List.of(), pem.attribution(entity()).listFacts().facts());
    }
    // Without a certificate, or with one from another CA, memorid ends the handshake.
    try (MemoridClient none = MemoridClient.builder(target).caFile(pki.ca).apiKey(MemoridServer.API_KEY)
            .timeout(Duration.ofSeconds(5)).build();
        MemoridClient stranger = MemoridClient.builder(target).caFile(pki.ca)
            .clientCertificate(pki.stranger.cert(), pki.stranger.key()).apiKey(MemoridServer.API_KEY)
            .timeout(Duration.ofSeconds(5)).build()) {
      for (MemoridClient refused : List.of(none, stranger)) {
        UnavailableException e =
            assertThrows(UnavailableException.class, () -> refused.attribution(entity()).listFacts());
        assertEquals("", e.reason());
      }
    }
  }

  @Test
  void aClientCertificateNeedsBothHalves() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").clientCertificate(pki.client.cert(), null));
    assertTrue(e.getMessage().contains("certChainFile and privateKeyFile"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").clientCertificate(null, new byte[1]));
    assertTrue(e.getMessage().contains("certChainPem and privateKeyPem"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").tls(false).clientCertificate(pki.client.cert(), pki.client.key()).build());
    e = assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").clientCertificate(pki.client.cert(), pki.directory.resolve("none.key")).build());
    assertTrue(e.getMessage().contains("none.key"), e.getMessage());
    // A file that holds no key is refused when the client is built, naming the files.
    e = assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").clientCertificate(pki.client.cert(), pki.client.cert()).build());
    assertTrue(e.getMessage().contains("client certificate " + pki.client.cert()), e.getMessage());
  }

  @Test
  void anApiKeyWithoutTlsIsWarnedAbout(MemoridServer server) {
    try (Captured log = new Captured()) {
      MemoridClient.builder(server.target()).apiKey("k").build().close();
      List<String> warnings = log.warnings();
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).contains("without TLS") && warnings.get(0).contains(server.target()), warnings.get(0));
      MemoridClient.builder(server.target()).build().close();
      assertEquals(1, log.warnings().size(), "no key, no warning");
    }
  }

  @Test
  void targetsAreParsedLikeTheOtherClients() {
    assertEquals(new MemoridClient.Target("localhost", 50051, false), MemoridClient.Target.parse("localhost:50051", null));
    assertEquals(new MemoridClient.Target("memorid.example.com", 443, true),
        MemoridClient.Target.parse("https://memorid.example.com", null));
    assertEquals(new MemoridClient.Target("memorid.example.com", 8443, true),
        MemoridClient.Target.parse("https://memorid.example.com:8443/", null));
    assertEquals(new MemoridClient.Target("10.0.0.1", 80, false), MemoridClient.Target.parse("http://10.0.0.1", null));
    assertEquals(new MemoridClient.Target("::1", 50051, false), MemoridClient.Target.parse("[::1]:50051", null));
    assertEquals("[::1]:50051", MemoridClient.Target.parse("[::1]:50051", null).authority());
    assertEquals(new MemoridClient.Target("h", 1, true), MemoridClient.Target.parse("h:1", true));
    assertEquals(new MemoridClient.Target("h", 1, false), MemoridClient.Target.parse("grpc://h:1", null));
    for (String bad : List.of("", "localhost", "ftp://h:1", "h:port", "h:0", "https://h/path", "[::1")) {
      assertThrows(IllegalArgumentException.class, () -> MemoridClient.Target.parse(bad, null), bad);
    }
    assertThrows(IllegalArgumentException.class,
        () -> MemoridClient.builder("h:1").tls(false).trustedCertificates(new byte[0]).build());
  }

  @Test
  void scopesAreImmutableViews(MemoridClient client) {
    AttributionScope scope = client.attribution("u", "p");
    AttributionScope session = scope.withSession("s");
    assertEquals(new Attribution("u", "p", ""), scope.attribution());
    assertEquals(new Attribution("u", "p", "s"), session.attribution());
    assertEquals("q", session.withProcess("q").attribution().processId());
    assertFalse(scope.newSession().attribution().sessionId().isEmpty());
    assertTrue(!scope.newSession().attribution().sessionId().equals(scope.newSession().attribution().sessionId()));
    assertThrows(IllegalArgumentException.class, () -> client.attribution(""));
    assertThrows(IllegalStateException.class, scope::getSession);
  }

  @Test
  void toolSchemasRoundTripAsJson() {
    Tool tool = Tool.fromJsonSchema("f", "d",
        "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"n\"], \"x\": null}");
    assertEquals("object", tool.parameters().get("type"));
    assertEquals(List.of("n"), tool.parameters().get("required"));
    assertTrue(tool.parameters().containsKey("x"));
    assertEquals(tool.parameters(), Json.toMap(Json.toStruct(tool.parameters())));
    assertThrows(IllegalArgumentException.class, () -> Tool.fromJsonSchema("f", "d", "[1]"));
    assertThrows(IllegalArgumentException.class, () -> Tool.function("f", "d", java.util.Map.of("bad", new Object())));
  }
}
