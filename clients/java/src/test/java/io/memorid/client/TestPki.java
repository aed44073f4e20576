package io.memorid.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Certificates for memorid's own TLS, made with the openssl CLI (what an operator would use): a
 * throwaway CA, a server certificate (127.0.0.1, localhost, {@value #SERVER_NAME}) and a client
 * certificate it signed, and a client certificate from another CA, which memorid must refuse.
 */
final class TestPki implements AutoCloseable {

  /** A name on the server certificate that the tests reach only through {@code authority(..)}. */
  static final String SERVER_NAME = "memorid.test";

  /** A certificate and its private key (PEM files). */
  record Pair(Path cert, Path key) {}

  final Path directory;
  final Path ca;
  final Pair server;
  final Pair client;
  final Pair stranger;

  TestPki() throws IOException, InterruptedException {
    directory = Files.createTempDirectory("memorid-java-pki.");
    Pair authority = ca("memorid-test-ca");
    Pair other = ca("another-ca");
    ca = authority.cert();
    server = leaf("server", authority, "serverAuth");
    client = leaf("client", authority, "clientAuth");
    stranger = leaf("stranger", other, "clientAuth");
  }

  private Pair ca(String name) throws IOException, InterruptedException {
    Pair pair = new Pair(directory.resolve(name + ".pem"), directory.resolve(name + ".key"));
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
        "-keyout", pair.key().toString(), "-out", pair.cert().toString());
    return pair;
  }

  private Pair leaf(String name, Pair ca, String usage) throws IOException, InterruptedException {
    Path ext = directory.resolve(name + ".ext");
    Path csr = directory.resolve(name + ".csr");
    Pair pair = new Pair(directory.resolve(name + ".pem"), directory.resolve(name + ".key"));
    Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:" + SERVER_NAME + "\n"
        + "extendedKeyUsage=" + usage + "\n", StandardCharsets.UTF_8);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-keyout", pair.key().toString(), "-out", csr.toString());
    openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.cert().toString(), "-CAkey", ca.key().toString(),
        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", pair.cert().toString());
    return pair;
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(command + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  @Override
  public void close() throws IOException {
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
