// Client side of Kafka's security protocols: the settings a connection takes (security protocol,
// TLS options, SASL mechanism and credentials), and the SASL mechanisms' client messages. The
// SCRAM formulas (RFC 5802) are exported for the broker's side too.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';

export type ClientSecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export type SaslCredentials =
  | { mechanism: 'PLAIN'; username: string; password: string }
  /** SCRAM; with tokenAuth, username and password are a delegation token's id and base64 HMAC (Kafka's `tokenauth=true`). */
  | { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string; tokenAuth?: boolean }
  /** An OAUTHBEARER token (a JWT), sent as is. */
  | { mechanism: 'OAUTHBEARER'; token: string };

/** How a client connection secures itself; what Kafka's security.protocol, ssl.* and sasl.* say. */
export interface ClientSecurity {
  protocol: ClientSecurityProtocol;
  /** node:tls options (ca, key, cert, servername, ...) for SSL and SASL_SSL. */
  tls?: TlsConnectOptions;
  /** Mechanism and credentials for SASL_PLAINTEXT and SASL_SSL. */
  sasl?: SaslCredentials;
}

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SCRAM_MECHANISMS: Record<ScramMechanism, { hash: 'sha256' | 'sha512'; keyLength: number; type: number }> = {
  'SCRAM-SHA-256': { hash: 'sha256', keyLength: 32, type: 1 },
  'SCRAM-SHA-512': { hash: 'sha512', keyLength: 64, type: 2 },
};
/** Kafka's minimum and maximum SCRAM iterations. */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

export function scramSaltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  const m = SCRAM_MECHANISMS[mechanism];
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, m.keyLength, m.hash);
}

export function scramHmac(mechanism: ScramMechanism, key: Buffer, text: string | Buffer): Buffer {
  return createHmac(SCRAM_MECHANISMS[mechanism].hash, key).update(text).digest();
}

export function scramHash(mechanism: ScramMechanism, data: Buffer): Buffer {
  return createHash(SCRAM_MECHANISMS[mechanism].hash).update(data).digest();
}

/** Stored key and server key of a salted password: what a broker keeps instead of the password. */
export function scramKeys(mechanism: ScramMechanism, saltedPassword: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = scramHmac(mechanism, saltedPassword, 'Client Key');
  return { storedKey: scramHash(mechanism, clientKey), serverKey: scramHmac(mechanism, saltedPassword, 'Server Key') };
}

export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (b[i] ?? 0);
  return out;
}

export const scramEscape = (name: string): string => name.replace(/=/g, '=3D').replace(/,/g, '=2C');
export const scramUnescape = (name: string): string => name.replace(/=2C/g, ',').replace(/=3D/g, '=');

/** `a=1,b=2` SCRAM attributes (values may contain '='). */
export function scramAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** One SASL exchange from the client's side: each server challenge in, the next response out. */
export interface SaslClient {
  /** The first message. */
  initial(): Buffer;
  /** Answers a server message; null when the exchange is complete (the last message was verified). */
  respond(challenge: Buffer): Buffer | null;
}

export function saslClient(creds: SaslCredentials): SaslClient {
  if (creds.mechanism === 'PLAIN') {
    return { initial: () => Buffer.from(`\0${creds.username}\0${creds.password}`, 'utf8'), respond: () => null };
  }
  if (creds.mechanism === 'OAUTHBEARER') {
    // RFC 7628 client first message; a server error answer is acknowledged with %x01.
    return { initial: () => Buffer.from(`n,,\x01auth=Bearer ${creds.token}\x01\x01`, 'utf8'), respond: (c) => (c.length > 0 ? Buffer.from([1]) : null) };
  }
  const mechanism = creds.mechanism;
  const nonce = randomBytes(24).toString('base64');
  // Kafka's SCRAM extensions follow the nonce: tokenauth=true authenticates with a delegation token.
  const clientFirstBare = `n=${scramEscape(creds.username)},r=${nonce}${creds.tokenAuth ? ',tokenauth=true' : ''}`;
  let expectedServerSignature: Buffer | null = null;
  return {
    initial: () => Buffer.from(`n,,${clientFirstBare}`, 'utf8'),
    respond(challenge) {
      const text = challenge.toString('utf8');
      const attrs = scramAttributes(text);
      if (expectedServerSignature) {
        if (attrs.has('e')) throw new Error(`SCRAM server error: ${attrs.get('e')}`);
        const v = Buffer.from(attrs.get('v') ?? '', 'base64');
        if (v.length !== expectedServerSignature.length || !timingSafeEqual(v, expectedServerSignature)) throw new Error('SCRAM server signature mismatch');
        return null;
      }
      const serverNonce = attrs.get('r') ?? '';
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
      const iterations = Number(attrs.get('i'));
      if (!serverNonce.startsWith(nonce) || !Number.isInteger(iterations) || iterations <= 0 || iterations > 1_000_000) throw new Error('invalid SCRAM server-first message');
      const salted = scramSaltedPassword(mechanism, creds.password, salt, iterations);
      const withoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${text},${withoutProof}`;
      const clientKey = scramHmac(mechanism, salted, 'Client Key');
      const storedKey = scramHash(mechanism, clientKey);
      const proof = xorBuffers(clientKey, scramHmac(mechanism, storedKey, authMessage));
      expectedServerSignature = scramHmac(mechanism, scramHmac(mechanism, salted, 'Server Key'), authMessage);
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
    },
  };
}
