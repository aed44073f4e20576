package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Targets, TLS through a TLS-terminating proxy in front of the real memorid, the key warning. */
@ExtendWith(MemoridExtension.class)
class ConnectionTest {

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
  void chatAndMemoryOverTlsWithACaFile(MemoridServer server, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("secure", " hello"));
    try (TlsProxy proxy = new TlsProxy(server.port());
        Captured log = new Captured();
        MemoridClient client = MemoridClient.builder("https://localhost:" + proxy.port())
            .apiKey(MemoridServer.API_KEY).caFile(proxy.caPem()).keepAlive(Duration.ofSeconds(10)).build()) {
      assertTrue(client.isTls());
      assertTrue(client.health());
      AttributionScope scope = client.attribution(entity());
      assertEquals("secure hello", scope.chat("openai/" + model, List.of(Message.user("hi"))).collect().text());
      assertEquals(List.of(), scope.listFacts().facts());
      assertEquals(List.of(), log.warnings(), "no warning when the key travels over TLS");
      // The key reached memorid through TLS: memorid authenticated the call (a wrong key is refused).
      try (MemoridClient wrong = MemoridClient.builder("localhost:" + proxy.port()).tls(true)
          .trustedCertificates(Files.readAllBytes(proxy.caPem())).apiKey("wrong").build()) {
        assertThrows(UnauthenticatedException.class, () -> wrong.attribution(entity()).listFacts());
      }
    }
  }

  @Test
  void aServerCertificateNotTrustedIsRefused(MemoridServer server) throws Exception {
    try (TlsProxy proxy = new TlsProxy(server.port());
        MemoridClient client = MemoridClient.builder("https://127.0.0.1:" + proxy.port())
            .timeout(Duration.ofSeconds(5)).build()) {
      // The system's roots do not know the proxy's self-signed certificate.
      UnavailableException e = assertThrows(UnavailableException.class, () -> client.attribution(entity()).listFacts());
      assertEquals("", e.reason());
      assertFalse(client.health(Duration.ofSeconds(2)));
    }
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
