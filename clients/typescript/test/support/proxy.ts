/**
 * A plain TCP proxy in front of the real memorid that can `freeze` (stop
 * forwarding, as a dead network path does), for the keepalive test.
 */

import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

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

  /** Plain TCP both ways. */
  static async tcp(upstreamPort: number): Promise<Proxy> {
    const server = createServer();
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
