package io.memorid.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;

/**
 * A TLS-terminating proxy in front of the real memorid (which serves plaintext HTTP/2): it offers
 * ALPN {@code h2}, as gRPC over TLS requires, and pipes the decrypted bytes to memorid. Its
 * certificate is self-signed for {@code localhost} and 127.0.0.1, made with the JDK's keytool;
 * {@link #caPem()} is that certificate, for clients to trust.
 */
final class TlsProxy implements AutoCloseable {

  private static final String PASSWORD = "changeit";

  private final Path directory;
  private final SSLServerSocket server;
  private final ExecutorService pipes;
  private final int backendPort;
  private volatile boolean closed;

  TlsProxy(int backendPort) throws Exception {
    this.backendPort = backendPort;
    directory = Files.createTempDirectory("memorid-java-tls.");
    Path keystore = directory.resolve("server.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(keytool, "-genkeypair", "-alias", "memorid", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
        "-keystore", keystore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD);
    run(keytool, "-exportcert", "-rfc", "-alias", "memorid", "-keystore", keystore.toString(),
        "-storepass", PASSWORD, "-file", directory.resolve("ca.pem").toString());

    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      store.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, PASSWORD.toCharArray());
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
    SSLParameters parameters = server.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"h2"});
    server.setSSLParameters(parameters);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    pipes = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "tls-proxy");
      t.setDaemon(true);
      return t;
    });
    pipes.execute(this::acceptLoop);
  }

  private void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(List.of(command) + " failed: " + new String(out));
    }
  }

  int port() {
    return server.getLocalPort();
  }

  Path caPem() {
    return directory.resolve("ca.pem");
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket backend = new Socket(InetAddress.getLoopbackAddress(), backendPort);
        pipes.execute(() -> pipe(client, backend));
        pipes.execute(() -> pipe(backend, client));
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private static void pipe(Socket from, Socket to) {
    byte[] buffer = new byte[16384];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) != -1) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // One side hung up (or the handshake failed): close both.
    } finally {
      try {
        from.close();
        to.close();
      } catch (IOException ignored) {
        // Already gone.
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    pipes.shutdownNow();
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
