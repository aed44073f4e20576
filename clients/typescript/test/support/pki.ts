/**
 * Certificates for memorid's own TLS, made with the openssl CLI (what an
 * operator would use): a throwaway CA, a server certificate and a client
 * certificate it signed, and a client certificate from another CA that
 * memorid must refuse.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface Pki {
  readonly directory: string;
  readonly caFile: string;
  /** The CA as PEM text. */
  readonly ca: string;
  /** For 127.0.0.1, localhost and `SERVER_NAME` (serverAuth). */
  readonly server: KeyPair;
  /** Signed by the CA (clientAuth). */
  readonly client: KeyPair;
  /** Signed by another CA (clientAuth). */
  readonly stranger: KeyPair;
}

/** A name on the server certificate that the tests reach only through `serverName`. */
export const SERVER_NAME = "memorid.test";

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

function makeCa(directory: string, name: string): KeyPair {
  const pair = { certFile: join(directory, `${name}.pem`), keyFile: join(directory, `${name}.key`) };
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`,
    "-keyout", pair.keyFile, "-out", pair.certFile);
  return pair;
}

function makeLeaf(directory: string, name: string, ca: KeyPair, usage: "serverAuth" | "clientAuth"): KeyPair {
  const p = (suffix: string) => join(directory, `${name}.${suffix}`);
  writeFileSync(p("ext"), `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${SERVER_NAME}\nextendedKeyUsage=${usage}\n`);
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", p("key"), "-out", p("csr"));
  openssl("x509", "-req", "-in", p("csr"), "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
    "-days", "2", "-extfile", p("ext"), "-out", p("pem"));
  return { certFile: p("pem"), keyFile: p("key") };
}

export function makePki(): Pki {
  const directory = mkdtempSync(join(tmpdir(), "memorid-ts-pki."));
  const ca = makeCa(directory, "memorid-test-ca");
  const other = makeCa(directory, "another-ca");
  return {
    directory,
    caFile: ca.certFile,
    ca: readFileSync(ca.certFile, "utf8"),
    server: makeLeaf(directory, "server", ca, "serverAuth"),
    client: makeLeaf(directory, "client", ca, "clientAuth"),
    stranger: makeLeaf(directory, "stranger", other, "clientAuth"),
  };
}

export function removePki(pki: Pki): void {
  rmSync(pki.directory, { recursive: true, force: true });
}
