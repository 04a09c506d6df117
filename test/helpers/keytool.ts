// Java key and trust stores made at test time with Java's keytool (no store is ever committed),
// from the openssl test PKI (test/helpers/certs.ts): JKS and PKCS12 key stores of a certificate
// and its key, trust stores of CA certificates, and CAs keytool makes itself. keytoolMissing()
// says why the tests that need them skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openssl } from '../../src/bench/tls.js';

/** Why keytool cannot be used here, or null. */
export function keytoolMissing(): string | null {
  const r = spawnSync('keytool', ['-help'], { stdio: 'ignore', timeout: 30_000 });
  return r.error || r.status !== 0 ? 'no `keytool` on PATH (a Java JDK, e.g. apt-get install openjdk-17-jdk-headless): Java key store tests skipped' : null;
}

export function keytool(args: string[], cwd: string): void {
  execFileSync('keytool', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

/**
 * A key store of `<name>.key` + `<name>.crt` (+ the CA) in `dir`, converted by keytool into its
 * own format: `<file>` of `type`, store password `storePass`, key password `keyPass` (JKS only:
 * keytool gives a PKCS12 key the store password).
 */
export function keyStore(dir: string, name: string, file: string, type: 'JKS' | 'PKCS12', storePass: string, keyPass = storePass): string {
  const p12 = `${name}-openssl.p12`;
  openssl(['pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.crt`, '-certfile', 'ca.crt', '-name', name, '-out', p12, '-passout', 'pass:openssl'], dir);
  const args = ['-importkeystore', '-noprompt', '-srckeystore', p12, '-srcstoretype', 'PKCS12', '-srcstorepass', 'openssl', '-destkeystore', file, '-deststoretype', type];
  keytool([...args, '-deststorepass', storePass, ...(type === 'JKS' ? ['-destkeypass', keyPass] : [])], dir);
  return join(dir, file);
}

/** A trust store `file` of `type` holding the PEM certificates `certs` (files in `dir`) as trusted entries. */
export function trustStore(dir: string, certs: string[], file: string, type: 'JKS' | 'PKCS12', storePass: string): string {
  for (const cert of certs) {
    keytool(['-importcert', '-noprompt', '-alias', cert.replace(/\.\w+$/, ''), '-file', cert, '-keystore', file, '-storetype', type, '-storepass', storePass], dir);
  }
  return join(dir, file);
}

/** A self-signed CA keytool makes (`keyalg` RSA or EC), exported as PEM `<alias>.crt` in `dir`. */
export function keytoolCa(dir: string, alias: string, keyalg: 'RSA' | 'EC'): string {
  const store = `${alias}-ca.p12`;
  keytool(
    ['-genkeypair', '-alias', alias, '-keyalg', keyalg, ...(keyalg === 'RSA' ? ['-keysize', '2048'] : ['-groupname', 'secp256r1'])].concat([
      '-dname',
      `CN=${alias}`,
      '-ext',
      'bc:c',
      '-validity',
      '2',
      '-keystore',
      store,
      '-storetype',
      'PKCS12',
      '-storepass',
      'ca-pass',
    ]),
    dir,
  );
  keytool(['-exportcert', '-rfc', '-alias', alias, '-file', `${alias}.crt`, '-keystore', store, '-storepass', 'ca-pass'], dir);
  return join(dir, `${alias}.crt`);
}

/** A JKS key store whose one key keytool generates (EC, self-signed). */
export function keytoolJksKeyPair(dir: string, alias: string, file: string, storePass: string, keyPass: string): string {
  keytool(
    ['-genkeypair', '-alias', alias, '-keyalg', 'EC', '-groupname', 'secp256r1', '-dname', `CN=${alias}`, '-ext', 'san=dns:localhost,ip:127.0.0.1', '-validity', '2'].concat([
      '-keystore',
      file,
      '-storetype',
      'JKS',
      '-storepass',
      storePass,
      '-keypass',
      keyPass,
    ]),
    dir,
  );
  return join(dir, file);
}
