/**
 * Proxies in front of the real memorid: a TLS-terminating one (memorid
 * serves plaintext; deployments put TLS at a proxy or ingress) with a CA and
 * certificate made here with openssl, and a plain TCP one that can `freeze`
 * (stop forwarding, as a dead network path does) for the keepalive test.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";

export interface Certificates {
  readonly directory: string;
  readonly caFile: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A CA and a server certificate for `dnsName` only (no IP in its names). */
export function makeCertificates(dnsName: string): Certificates {
  const directory = mkdtempSync(join(tmpdir(), "memorid-ts-tls."));
  const p = (name: string) => join(directory, name);
  writeFileSync(p("san.ext"), `subjectAltName=DNS:${dnsName}\n`);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=memorid test CA",
    "-keyout", p("ca.key"), "-out", p("ca.pem"));
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${dnsName}`, "-keyout", p("server.key"),
    "-out", p("server.csr"));
  openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
    "-days", "2", "-extfile", p("san.ext"), "-out", p("server.pem"));
  return {
    directory,
    caFile: p("ca.pem"),
    ca: readFileSync(p("ca.pem"), "utf8"),
    cert: readFileSync(p("server.pem"), "utf8"),
    key: readFileSync(p("server.key"), "utf8"),
  };
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", end).on("close", end);
  b.on("error", end).on("close", end);
}

export class Proxy {
  private readonly sockets = new Set<Socket>();
  private frozen = false;

  private constructor(private readonly server: Server) {}

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** TLS (ALPN h2) outside, plaintext to memorid inside. */
  static async tls(upstreamPort: number, certificates: Certificates): Promise<Proxy> {
    const server = createTlsServer({ key: certificates.key, cert: certificates.cert, ALPNProtocols: ["h2"] });
    const proxy = new Proxy(server);
    server.on("secureConnection", (socket) => proxy.forward(socket, upstreamPort));
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** Plain TCP both ways. */
  static async tcp(upstreamPort: number): Promise<Proxy> {
    const server = createTcpServer();
    const proxy = new Proxy(server);
    server.on("connection", (socket) => proxy.forward(socket, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  private forward(socket: Socket, upstreamPort: number): void {
    const inner = connect(upstreamPort, "127.0.0.1");
    this.sockets.add(socket).add(inner);
    if (this.frozen) {
      socket.pause();
      inner.pause();
    }
    pipeBoth(socket, inner);
  }

  /** Stops forwarding anything, either way, without closing a connection. */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function removeCertificates(certificates: Certificates): void {
  rmSync(certificates.directory, { recursive: true, force: true });
}
