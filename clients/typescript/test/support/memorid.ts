/**
 * The real memorid release binary, started by the tests on a free port with
 * a TOML configuration: SQLite in a throwaway folder, API keys for two
 * namespaces, the default `openai` provider and the embeddings pointed at
 * the fake upstream (`embeddings.backend = "openai"`, so no model download),
 * and the fake's rule-based extraction model for augmentation; optionally
 * TLS served by memorid itself, with a plaintext health port beside it.
 *
 * The binary is `$MEMORID_BIN` (default
 * /var/tmp/memorid-target/release/memorid). A missing binary fails the run
 * with what to build; it is never skipped.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoridClient } from "@memorid/client";
import type { FakeUpstream } from "./upstream.js";

export const MEMORID_BIN = process.env["MEMORID_BIN"] ?? "/var/tmp/memorid-target/release/memorid";
export const KEYS = { acme: "test-key-acme", globex: "test-key-globex" } as const;
export const API_KEY = KEYS.acme;
export const UPSTREAM_KEY = "sk-fake-upstream-key";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * memorid serving TLS itself (`server.tls`): PEM files, and a CA whose client
 * certificates it then requires (mTLS) when `clientCaFile` is set.
 */
export interface ServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string | undefined;
}

function configToml(
  upstream: FakeUpstream,
  storageUrl: string,
  port: number,
  tls: ServerTls | undefined,
  healthPort: number | undefined,
): string {
  const keys = Object.entries(KEYS)
    .map(([namespace, key]) => `{ namespace = "${namespace}", key = "${key}" }`)
    .join(", ");
  // [server.tls] is a table inside [server], so it goes last: keys after it
  // would be the table's.
  const serverTls =
    tls === undefined
      ? ""
      : `
[server.tls]
cert_file = "${tls.certFile}"
key_file = "${tls.keyFile}"
reload_secs = 1
${tls.clientCaFile !== undefined ? `client_ca_file = "${tls.clientCaFile}"\n` : ""}`;
  return `
[server]
listen = "127.0.0.1:${port}"
shutdown_grace_secs = 1
${healthPort !== undefined ? `health_listen = "127.0.0.1:${healthPort}"` : ""}

[storage]
url = "${storageUrl}"

[auth]
keys = [${keys}]

[routing]
max_attempts = 2
initial_backoff_ms = 10
max_backoff_ms = 50
max_retry_after_secs = 1

[augmentation]
extraction_model = "openai/extractor"
poll_interval_ms = 100
retry_backoff_ms = 100

[embeddings]
backend = "openai"
base_url = "${upstream.baseUrl}"
model = "fake-bow-256"

[log]
filter = "warn"

[providers.openai]
kind = "openai"
base_url = "${upstream.baseUrl}"
api_key_env = "FAKE_UPSTREAM_KEY"
${serverTls}`;
}

export class MemoridServer {
  private exited: Promise<number | null>;

  private constructor(
    readonly port: number,
    readonly directory: string,
    private readonly process: ChildProcess,
    /** The plaintext grpc.health.v1 port of a server with TLS. */
    readonly healthPort: number | undefined,
  ) {
    this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  logs(): string {
    try {
      return readFileSync(join(this.directory, "memorid.log"), "utf8");
    } catch {
      return "";
    }
  }

  /**
   * Starts memorid and waits until it is SERVING. `port` reuses a port (a
   * restart); `spawnOnly` returns at once, for tests that start the client
   * before the server; `tls` has memorid serve TLS, and readiness is then
   * probed on a plaintext health port, since the main one needs certificates.
   */
  static async start(
    upstream: FakeUpstream,
    options: { port?: number; directory?: string; spawnOnly?: boolean; tls?: ServerTls } = {},
  ): Promise<MemoridServer> {
    try {
      accessSync(MEMORID_BIN, constants.X_OK);
    } catch {
      throw new Error(
        `no memorid binary at ${MEMORID_BIN}: build it with \`cargo build --release\` ` +
          "(CARGO_TARGET_DIR=/var/tmp/memorid-target) or point MEMORID_BIN at one",
      );
    }
    const directory = options.directory ?? mkdtempSync(join(tmpdir(), "memorid-ts."));
    const port = options.port ?? (await freePort());
    const healthPort = options.tls !== undefined ? await freePort() : undefined;
    const config = join(directory, "memorid.toml");
    writeFileSync(
      config,
      configToml(upstream, `sqlite://${join(directory, "memorid.db")}`, port, options.tls, healthPort),
    );
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith("MEMORID_")) env[name] = value;
    }
    env["FAKE_UPSTREAM_KEY"] = UPSTREAM_KEY;
    const log = openSync(join(directory, "memorid.log"), "a");
    const child = spawn(MEMORID_BIN, ["--config", config, "serve"], { env, stdio: ["ignore", log, log] });
    closeSync(log);
    const server = new MemoridServer(port, directory, child, healthPort);
    running.add(server);
    if (options.spawnOnly) return server;
    const probe = new MemoridClient({ target: `127.0.0.1:${healthPort ?? port}` });
    try {
      const deadline = Date.now() + 60_000;
      while (!(await probe.health({ timeoutMs: 1_000 }))) {
        if (child.exitCode !== null) {
          throw new Error(`memorid exited while starting (${child.exitCode}):\n${server.logs().slice(-4000)}`);
        }
        if (Date.now() > deadline) {
          await server.stop();
          throw new Error(`memorid was not SERVING within 60 s:\n${server.logs().slice(-4000)}`);
        }
        await sleep(50);
      }
    } finally {
      probe.close();
    }
    return server;
  }

  /** Stops memorid (SIGTERM, then SIGKILL after 10 s); `keep` leaves its folder for a restart. */
  async stop(options: { keep?: boolean } = {}): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill("SIGTERM");
      const killed = await Promise.race([this.exited.then(() => false), sleep(10_000, undefined, { ref: false }).then(() => true)]);
      if (killed) {
        this.process.kill("SIGKILL");
        await this.exited;
      }
    }
    running.delete(this);
    if (!options.keep) rmSync(this.directory, { recursive: true, force: true });
  }

  /** Stops the process at once; only for the exit hook. */
  kill(): void {
    if (this.process.exitCode === null) this.process.kill("SIGKILL");
    rmSync(this.directory, { recursive: true, force: true });
  }
}

// A test process that dies early must not leave memorid running.
const running = new Set<MemoridServer>();
process.once("exit", () => {
  for (const server of running) server.kill();
});
