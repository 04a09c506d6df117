// A throwaway PKI for TLS listeners: a CA and a server certificate for 127.0.0.1, made at run time
// with the openssl CLI in a directory the caller owns and removes (no key is ever committed). The
// bench's TLS workloads use it, and so does the test kit (test/helpers/certs.ts).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files makeServerPki writes; the PKCS12 key store holds the server key, its chain and the CA. */
export interface ServerPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  serverKeyFile: string;
  serverCertFile: string;
  serverP12File: string;
  /** The PKCS12 key store's password. */
  p12Password: string;
}

export function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `<name>.key` and `<name>.crt` in `dir`, signed by the CA's key and certificate, valid for 2 days. */
export function signCertificate(dir: string, name: string, subject: string, caKey: string, caCert: string, san?: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', ext], dir);
}

/** A CA (`ca.crt`, `ca.key`) and a server certificate for 127.0.0.1 and localhost, in `dir`. */
export function makeServerPki(dir: string): ServerPki {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tributary Test CA'], dir);
  signCertificate(dir, 'server', '/CN=localhost', 'ca.key', 'ca.crt', 'IP:127.0.0.1,DNS:localhost');
  const p12Password = 'changeit';
  openssl(['pkcs12', '-export', '-inkey', 'server.key', '-in', 'server.crt', '-certfile', 'ca.crt', '-out', 'server.p12', '-passout', `pass:${p12Password}`], dir);
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    caKeyFile: join(dir, 'ca.key'),
    serverKeyFile: join(dir, 'server.key'),
    serverCertFile: join(dir, 'server.crt'),
    serverP12File: join(dir, 'server.p12'),
    p12Password,
  };
}
