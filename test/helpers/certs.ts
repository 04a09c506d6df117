// Test certificates made at test time with the openssl CLI (no key is ever committed): a CA, a
// server certificate for 127.0.0.1/localhost, client certificates, PEM and PKCS12 forms.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function signed(dir: string, name: string, subject: string, caKey: string, caCert: string, san?: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', ext], dir);
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pki-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tributary Test CA'], dir);
  signed(dir, 'server', '/CN=localhost', 'ca.key', 'ca.crt', 'IP:127.0.0.1,DNS:localhost');
  const serverPem = readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.crt'), 'utf8');
  writeFileSync(join(dir, 'server.pem'), serverPem);
  openssl(['pkcs12', '-export', '-inkey', 'server.key', '-in', 'server.crt', '-certfile', 'ca.crt', '-out', 'server.p12', '-passout', 'pass:changeit'], dir);
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
      signed(dir, name, subject, 'ca.key', 'ca.crt');
      const pemFile = join(dir, `${name}.pem`);
      writeFileSync(pemFile, readFileSync(join(dir, `${name}.key`), 'utf8') + readFileSync(join(dir, `${name}.crt`), 'utf8'));
      return { keyFile: join(dir, `${name}.key`), certFile: join(dir, `${name}.crt`), pemFile };
    },
    rogueClient(subject) {
      if (!rogueCa) {
        openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.crt', '-days', '2', '-subj', '/CN=Rogue CA'], dir);
        rogueCa = true;
      }
      signed(dir, 'rogue', subject, 'rogue-ca.key', 'rogue-ca.crt');
      return { keyFile: join(dir, 'rogue.key'), certFile: join(dir, 'rogue.crt') };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
