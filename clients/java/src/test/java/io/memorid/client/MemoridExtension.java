package io.memorid.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the fake upstream, the real memorid (one of each for the whole run, started on first
 * use and stopped at its end) and a fresh {@link MemoridClient} per test (closed after it), as
 * parameters. Entities and model names are random per test, so tests sharing a server never see
 * each other's memories or scripts.
 */
final class MemoridExtension implements ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(MemoridExtension.class);

  /** The run-wide fixtures; the store closes them when the run ends. */
  static final class Shared implements AutoCloseable {
    final FakeUpstream upstream;
    final MemoridServer server;

    Shared() {
      try {
        upstream = new FakeUpstream();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      server = MemoridServer.start(upstream);
    }

    @Override
    public void close() throws IOException {
      server.close();
      upstream.close();
    }
  }

  static Shared shared(ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(Shared.class, key -> new Shared(), Shared.class);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == FakeUpstream.class || type == MemoridServer.class || type == MemoridClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    Shared shared = shared(context);
    if (type == FakeUpstream.class) {
      return shared.upstream;
    }
    if (type == MemoridServer.class) {
      return shared.server;
    }
    MemoridClient client = shared.server.client();
    context.getStore(NAMESPACE).put(UUID.randomUUID(), (AutoCloseable) client::close);
    return client;
  }

  /** A fresh entity id. */
  static String entity() {
    return "user-" + UUID.randomUUID().toString().substring(0, 12);
  }

  /** A fresh upstream model name, so each test has a fake script of its own. */
  static String model() {
    return "gpt-test-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
