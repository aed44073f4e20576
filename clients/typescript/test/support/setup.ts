/**
 * Per-file set-up for node:test: one fake upstream, one real memorid on
 * SQLite and one client for the whole file (started in `before`, stopped in
 * `after`), and fresh names so that tests never share an entity or a script.
 */

import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoridClient, type ClientOptions } from "@memorid/client";
import { API_KEY, MemoridServer } from "./memorid.js";
import { FakeUpstream } from "./upstream.js";

export interface Env {
  upstream: FakeUpstream;
  server: MemoridServer;
  client: MemoridClient;
  /** A new client to the same server (closed after the file). */
  newClient(options?: ClientOptions): MemoridClient;
  /** Resolves once the above are set (node:test may run a file's `before` hooks together). */
  ready: Promise<void>;
}

export function useMemorid(clientOptions: ClientOptions = {}): Env {
  const env = {} as Env;
  const clients: MemoridClient[] = [];
  let ready!: () => void;
  env.ready = new Promise((resolve) => {
    ready = resolve;
  });
  before(async () => {
    env.upstream = await FakeUpstream.start();
    env.server = await MemoridServer.start(env.upstream);
    env.newClient = (options: ClientOptions = {}) => {
      const client = new MemoridClient({ target: env.server.target, apiKey: API_KEY, warnInsecure: false, ...options });
      clients.push(client);
      return client;
    };
    env.client = env.newClient(clientOptions);
    ready();
  });
  after(async () => {
    for (const client of clients) client.close();
    await env.server?.stop();
    await env.upstream?.close();
  });
  return env;
}

/** A fresh entity id. */
export function entity(): string {
  return `user-${randomUUID().slice(0, 12)}`;
}

/** A fresh upstream model name, so each test has its own fake script. */
export function modelName(): string {
  return `gpt-test-${randomUUID().slice(0, 8)}`;
}

/** The warnings `run` makes the process emit. */
export async function warningsOf(run: () => void | Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error) => seen.push(warning);
  process.on("warning", listener);
  try {
    await run();
    await sleep(10); // warnings are emitted on the next tick
  } finally {
    process.off("warning", listener);
  }
  return seen;
}
