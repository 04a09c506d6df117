// Test certificates made at test time with the openssl CLI (no key is ever committed): a CA, a
// server certificate for 127.0.0.1/localhost, client certificates, PEM and PKCS12 forms.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeServerPki, openssl, signCertificate } from '../../src/bench/tls.js';

export interface TestPki {
  dir: string;
  /** CA certificate (PEM): the trust store of both sides. */
  caPem: string;
  caFile: string;
  /** Server key + chain in one PEM file (Kafka's PEM key store layout), and the parts. */
  serverPemFile: string;
  serverKeyFile: string;
  serverCertFile: string;
  /** The server key store as PKCS12, password `changeit`. */
  serverP12File: string;
  /** Make a client certificate signed by the CA; returns key and cert files and the combined PEM. */
  client(subject: string, name: string): { keyFile: string; certFile: string; pemFile: string };
  /** A second, unrelated CA's client certificate (must be refused). */
  rogueClient(subject: string): { keyFile: string; certFile: string };
  cleanup(): void;
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pki-'));
  makeServerPki(dir);
  const serverPem = readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.crt'), 'utf8');
  writeFileSync(join(dir, 'server.pem'), serverPem);
  let rogueCa = false;
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    caFile: join(dir, 'ca.crt'),
    serverPemFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverCertFile: join(dir, 'server.crt'),
    serverP12File: join(dir, 'server.p12'),
    client(subject, name) {
      signCertificate(dir, name, subject, 'ca.key', 'ca.crt');
      const pemFile = join(dir, `${name}.pem`);
      writeFileSync(pemFile, readFileSync(join(dir, `${name}.key`), 'utf8') + readFileSync(join(dir, `${name}.crt`), 'utf8'));
      return { keyFile: join(dir, `${name}.key`), certFile: join(dir, `${name}.crt`), pemFile };
    },
    rogueClient(subject) {
      if (!rogueCa) {
        openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.crt', '-days', '2', '-subj', '/CN=Rogue CA'], dir);
        rogueCa = true;
      }
      signCertificate(dir, 'rogue', subject, 'rogue-ca.key', 'rogue-ca.crt');
      return { keyFile: join(dir, 'rogue.key'), certFile: join(dir, 'rogue.crt') };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
