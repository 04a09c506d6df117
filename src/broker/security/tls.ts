// TLS key material from Kafka's ssl.* settings (per listener: listener.name.<l>.ssl.*), and the
// principal of a client certificate (its subject in RFC 2253 form through
// ssl.principal.mapping.rules).
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions as TlsConnectOptions, SecureVersion, TlsOptions, TLSSocket } from 'node:tls';
import { ConfigError, type BrokerConfig } from '../../config/config.js';
import { storeMaterial, type StoreMaterial } from '../../keystores/ssl-stores.js';

const TLS_VERSIONS: Record<string, SecureVersion> = { 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

/**
 * The key, certificate and trusted CAs of one side (server listener or inter-broker client), from
 * the listener's ssl.* stores (`listener.name.<l>.ssl.*` first). A store that cannot be used is a
 * ConfigError here (at start, or refusing a dynamic change), not a failed listener.
 */
export function keyMaterial(config: BrokerConfig, listener: string): StoreMaterial {
  return storeMaterial((key) => config.listenerValue(listener, key), `listener ${listener}`);
}

function tlsVersions(config: BrokerConfig, listener: string): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const raw = config.listenerValue(listener, 'ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3';
  const versions = raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const v of versions) if (!TLS_VERSIONS[v]) throw new ConfigError(`ssl.enabled.protocols: ${v} is not supported (TLSv1.2, TLSv1.3)`);
  if (versions.length === 0) throw new ConfigError('ssl.enabled.protocols is empty');
  return { minVersion: versions.includes('TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3', maxVersion: versions.includes('TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2' };
}

/** node:tls server options of an SSL or SASL_SSL listener. */
export function tlsServerOptions(config: BrokerConfig, listener: string): TlsOptions {
  const material = keyMaterial(config, listener);
  if (!material.pfx && !material.cert) {
    throw new ConfigError(`Listener ${listener} uses TLS but has no key store: set ssl.keystore.location (or ssl.keystore.certificate.chain and ssl.keystore.key)`);
  }
  const clientAuth = config.listenerValue(listener, 'ssl.client.auth') ?? 'none';
  if (!['none', 'requested', 'required'].includes(clientAuth)) throw new ConfigError(`Invalid ssl.client.auth ${clientAuth}`);
  const ciphers = config.listenerValue(listener, 'ssl.cipher.suites') ?? '';
  return {
    ...material,
    ...tlsVersions(config, listener),
    ...(ciphers.trim() !== ''
      ? {
          ciphers: ciphers
            .split(',')
            .map((c) => c.trim())
            .join(':'),
        }
      : {}),
    requestCert: clientAuth !== 'none',
    // requested: a certificate sent is verified, none sent is accepted (the principal is ANONYMOUS).
    rejectUnauthorized: clientAuth === 'required',
  };
}

/** node:tls client options for the broker's own connections to other brokers' TLS listeners. */
export function tlsClientOptions(config: BrokerConfig, listener: string): TlsConnectOptions {
  const material = keyMaterial(config, listener);
  const verifyHost = (config.listenerValue(listener, 'ssl.endpoint.identification.algorithm') ?? 'https').toLowerCase() === 'https';
  return {
    ...material,
    ...tlsVersions(config, listener),
    rejectUnauthorized: true,
    ...(verifyHost ? {} : { checkServerIdentity: () => undefined }),
  };
}

/** A certificate's subject as RFC 2253 (what Java's X500Principal.getName() gives): last RDN first. */
export function subjectRfc2253(cert: X509Certificate): string {
  const escape = (v: string) =>
    v
      .replace(/([,+"\\<>;])/g, '\\$1')
      .replace(/^([ #])/, '\\$1')
      .replace(/ $/, '\\ ');
  return cert.subject
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const eq = line.indexOf('=');
      return `${line.slice(0, eq)}=${escape(line.slice(eq + 1))}`;
    })
    .reverse()
    .join(',');
}

interface MappingRule {
  pattern: RegExp | null; // null: DEFAULT
  replacement: string;
  toCase: 'L' | 'U' | '';
}

/** Parses ssl.principal.mapping.rules: `RULE:regex/replacement/[LU]` entries and `DEFAULT`. */
export function parseMappingRules(spec: string): MappingRule[] {
  const rules: MappingRule[] = [];
  const re = /\s*(DEFAULT|RULE:((?:\\.|[^\\/])+)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  const text = spec.trim();
  let consumed = 0;
  while (consumed < text.length && (m = re.exec(text)) !== null) {
    consumed = re.lastIndex;
    if (m[1] === 'DEFAULT') rules.push({ pattern: null, replacement: '', toCase: '' });
    else {
      try {
        rules.push({ pattern: new RegExp(`^${m[2]!}$`), replacement: m[3]!, toCase: (m[4] ?? '') as MappingRule['toCase'] });
      } catch (err) {
        throw new ConfigError(`Invalid ssl.principal.mapping.rules pattern ${m[2]}: ${(err as Error).message}`);
      }
    }
    if (m[0] === '') break;
  }
  if (consumed < text.length) throw new ConfigError(`Invalid ssl.principal.mapping.rules: ${spec}`);
  return rules.length > 0 ? rules : [{ pattern: null, replacement: '', toCase: '' }];
}

/** The principal name of a subject DN: the first matching rule's result (DEFAULT: the DN itself). */
export function mapPrincipal(dn: string, rules: MappingRule[]): string {
  for (const r of rules) {
    if (r.pattern === null) return dn;
    if (!r.pattern.test(dn)) continue;
    const name = dn.replace(r.pattern, r.replacement);
    return r.toCase === 'L' ? name.toLowerCase() : r.toCase === 'U' ? name.toUpperCase() : name;
  }
  return dn;
}

/** `User:<mapped DN>` for a verified client certificate, else null (no certificate sent). */
export function certificatePrincipal(socket: TLSSocket, rules: MappingRule[]): string | null {
  if (!socket.authorized) return null;
  const raw = socket.getPeerCertificate(false)?.raw;
  if (!raw || raw.length === 0) return null;
  return `User:${mapPrincipal(subjectRfc2253(new X509Certificate(raw)), rules)}`;
}
