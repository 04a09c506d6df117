// Key and trust store files in Kafka's three types (ssl.keystore.type, ssl.truststore.type: PEM,
// JKS, PKCS12) turned into what node:tls takes: a key and certificate chain (PEM), a PKCS12 blob
// (`pfx`, which node reads natively), or the trusted CA certificates (PEM).
//
// Which type a file is: Java's JKS and PKCS12 stores each read the other format too (since Java 9,
// keystore.type.compat), so Kafka with its default type JKS takes a .p12 file; here a store
// declared JKS or PKCS12 is read as whichever of the two its bytes are. An unset type is taken
// from the bytes as well (JKS magic, PKCS12 DER, else PEM text), so PEM files configured without a
// type keep working and a Kafka user's .jks file needs no ssl.*.type line.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Forge from 'node-forge';
import { ConfigError } from '../config/config.js';
import { JCEKS_MAGIC, JKS_MAGIC, KeyStoreError, parseJks, recoverJksKey, type JksKeyEntry } from './jks.js';

export type StoreType = 'PEM' | 'JKS' | 'PKCS12';

// node-forge (PKCS12 trust stores only) is loaded on first use: most brokers never need it.
const require = createRequire(import.meta.url);
let forgeModule: typeof Forge | undefined;
/** Java marks a PKCS12 certificate bag as a trusted certificate entry with this attribute. */
const JAVA_TRUSTED_KEY_USAGE = '2.16.840.1.113894.746875.1.1';
const JAVA_TRUSTED = 'javaTrustedKeyUsage';
function forge(): typeof Forge {
  if (!forgeModule) {
    forgeModule = require('node-forge') as typeof Forge;
    // forge drops bag attributes it has no name for; naming Java's lets a bag say it is trusted.
    const oids = forgeModule.pki.oids as Record<string, string>;
    oids[JAVA_TRUSTED_KEY_USAGE] = JAVA_TRUSTED;
    oids[JAVA_TRUSTED] = JAVA_TRUSTED_KEY_USAGE;
  }
  return forgeModule;
}

/** ssl.keystore.type / ssl.truststore.type: null when unset; JKS and PKCS12 in any case, as Java takes them. */
export function configuredStoreType(value: string | null, key: string): StoreType | null {
  if (value === null || value.trim() === '') return null;
  const type = value.trim().toUpperCase();
  if (type === 'PEM' || type === 'JKS' || type === 'PKCS12') return type;
  throw new ConfigError(`Unsupported ${key} ${value}: use JKS, PKCS12 or PEM`);
}

/** What a store file's bytes are. */
export function sniffStoreType(bytes: Buffer): StoreType {
  if (bytes.length >= 4) {
    const magic = bytes.readUInt32BE(0);
    if (magic === JKS_MAGIC || magic === JCEKS_MAGIC) return 'JKS';
  }
  // PKCS12 is a DER SEQUENCE with a long-form length; PEM is text.
  if (bytes.length >= 2 && bytes[0] === 0x30 && (bytes[1]! & 0x80) !== 0) return 'PKCS12';
  return 'PEM';
}

/** The type a store is read as: its bytes decide between JKS and PKCS12; PEM must be declared or be text. */
function resolveType(bytes: Buffer, declared: StoreType | null, what: string): StoreType {
  const actual = sniffStoreType(bytes);
  if (declared === null) return actual;
  if (declared === 'PEM' && actual !== 'PEM') throw new ConfigError(`${what} is a ${actual} store, but its type is set to PEM: set it to ${actual} (or leave it unset)`);
  if (declared !== 'PEM' && actual === 'PEM') throw new ConfigError(`${what} is not a JKS or PKCS12 store (PEM text?): set its type to PEM (or leave it unset)`);
  return actual;
}

const pemCert = (der: Buffer) => new X509Certificate(der).toString();

export interface StoreSpec {
  /** The config key naming the file (ssl.keystore.location, ssl.truststore.location), for messages. */
  key: string;
  location: string;
  bytes: Buffer;
  type: StoreType | null;
  password: string | null;
}

export type KeyStoreMaterial = { key: string | Buffer | string[]; cert: string | Buffer | string[]; passphrase?: string } | { pfx: Buffer; passphrase?: string };

/**
 * A key store's private key and chain. PKCS12 goes to node as it is (`pfx`); JKS key entries are
 * decrypted here (keyPassword: ssl.key.password, else the store password, as Kafka does); PEM is
 * one file with the key (encrypted with ssl.key.password, or not) and the chain.
 */
export function loadKeyStore(spec: StoreSpec, keyPassword: string | null): KeyStoreMaterial {
  const what = `${spec.key} ${spec.location}`;
  const type = resolveType(spec.bytes, spec.type, what);
  if (type === 'PEM') return { key: spec.bytes, cert: spec.bytes, ...(keyPassword !== null ? { passphrase: keyPassword } : {}) };
  if (type === 'PKCS12') return { pfx: spec.bytes, ...(spec.password !== null ? { passphrase: spec.password } : {}) };
  if (spec.password === null) throw new ConfigError(`${what} is a JKS store but ssl.keystore.password is not set`);
  const store = storeError(what, () => parseJks(spec.bytes, spec.password), 'ssl.keystore.password');
  // One key per algorithm (node takes an RSA and an EC key side by side; a second of the same
  // algorithm would replace the first), the first by alias, so the choice does not depend on order.
  const chosen = new Map<string, { key: string; cert: string }>();
  for (const entry of [...store.keys].sort((a, b) => a.alias.localeCompare(b.alias))) {
    const key = jksKey(entry, keyPassword ?? spec.password, what, keyPassword !== null ? 'ssl.key.password' : 'ssl.keystore.password (ssl.key.password is unset)');
    if (entry.chain.length === 0) throw new ConfigError(`${what}: the key entry ${entry.alias} has no certificate`);
    const algorithm = key.asymmetricKeyType ?? 'unknown';
    if (!chosen.has(algorithm)) {
      chosen.set(algorithm, { key: key.export({ type: 'pkcs8', format: 'pem' }) as string, cert: entry.chain.map((c) => certOrError(c, what)).join('') });
    }
  }
  if (chosen.size === 0) throw new ConfigError(`${what} has no private key entry (is it a trust store?)`);
  const entries = [...chosen.values()];
  return entries.length === 1 ? { key: entries[0]!.key, cert: entries[0]!.cert } : { key: entries.map((e) => e.key), cert: entries.map((e) => e.cert) };
}

/** The CA certificates a trust store trusts, as node's `ca` option takes them. */
export function loadTrustStore(spec: StoreSpec): Buffer | string[] {
  const what = `${spec.key} ${spec.location}`;
  const type = resolveType(spec.bytes, spec.type, what);
  if (type === 'PEM') return spec.bytes;
  const certs = type === 'JKS' ? jksTrusted(spec, what) : pkcs12Trusted(spec, what);
  if (certs.length === 0) throw new ConfigError(`${what} has no trusted certificate entries`);
  return certs;
}

function jksTrusted(spec: StoreSpec, what: string): string[] {
  // Without a password Java loads a JKS trust store unchecked, and so does Kafka; so here.
  const store = storeError(what, () => parseJks(spec.bytes, spec.password), 'ssl.truststore.password');
  return store.trusted.map((t) => certOrError(t.cert, what));
}

/**
 * A PKCS12 trust store's trusted certificates: the bags Java marks as trusted certificate
 * entries (what keytool -importcert makes); in a store no Java tool made (openssl pkcs12 -nokeys),
 * which marks none and holds no key, every certificate.
 */
function pkcs12Trusted(spec: StoreSpec, what: string): string[] {
  const f = forge();
  const p12 = storeError(
    what,
    () => {
      try {
        const asn1 = f.asn1.fromDer(f.util.createBuffer(spec.bytes.toString('latin1')), true);
        return f.pkcs12.pkcs12FromAsn1(asn1, true, spec.password ?? '');
      } catch (err) {
        const message = (err as Error).message;
        if (/MAC could not be verified|wrong password|Invalid password/i.test(message)) {
          throw new KeyStoreError('the password is wrong or the PKCS12 store is damaged (its MAC does not verify)', true);
        }
        throw new KeyStoreError(`not a readable PKCS12 store (${message})`);
      }
    },
    'ssl.truststore.password',
  );
  const certBags = p12.getBags({ bagType: f.pki.oids.certBag! })[f.pki.oids.certBag!] ?? [];
  const keyBags = [f.pki.oids.keyBag!, f.pki.oids.pkcs8ShroudedKeyBag!].flatMap((t) => p12.getBags({ bagType: t })[t] ?? []);
  const marked = certBags.filter((b) => (b.attributes as Record<string, unknown>)[JAVA_TRUSTED] !== undefined);
  const trusted = marked.length > 0 || keyBags.length > 0 ? marked : certBags;
  return trusted.map((bag) => {
    // forge parses RSA certificates (and keeps their signed part as read); others it leaves as ASN.1.
    const asn1 = bag.cert ? f.pki.certificateToAsn1(bag.cert) : (bag as { asn1?: Forge.asn1.Asn1 }).asn1;
    if (!asn1) throw new ConfigError(`${what}: a certificate bag holds no certificate`);
    return certOrError(Buffer.from(f.asn1.toDer(asn1).getBytes(), 'latin1'), what);
  });
}

function jksKey(entry: JksKeyEntry, password: string, what: string, passwordKey: string) {
  const der = storeError(what, () => recoverJksKey(entry, password), passwordKey);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new ConfigError(`${what}: the key ${entry.alias} cannot be read: ${(err as Error).message}`);
  }
}

function certOrError(der: Buffer, what: string): string {
  try {
    return pemCert(der);
  } catch (err) {
    throw new ConfigError(`${what}: a certificate cannot be read: ${(err as Error).message}`);
  }
}

/** Runs a store reader; its KeyStoreError becomes a ConfigError naming the file and, for a wrong password, the password setting. */
function storeError<T>(what: string, read: () => T, passwordKey: string): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof KeyStoreError)) throw err;
    throw new ConfigError(`${what}: ${err.message}${err.wrongPassword ? ` (check ${passwordKey})` : ''}`);
  }
}
