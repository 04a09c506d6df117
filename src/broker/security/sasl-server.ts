// The server side of the SASL mechanisms: PLAIN (RFC 4616) against JAAS users, SCRAM-SHA-256/512
// (RFC 5802/7677) against the stored credentials, OAUTHBEARER (RFC 7628) with Kafka's unsecured
// tokens or JWTs signed by a key of a JWKS.
import { createHash, randomBytes, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import { scramAttributes, scramHash, scramHmac, scramUnescape, xorBuffers, SCRAM_MIN_ITERATIONS, type ScramMechanism } from '../../client/sasl.js';
import type { StoredScramCredential } from '../../cluster/metadata-port.js';
import type { KeySource } from './jwks.js';

/** A failed authentication: answered SASL_AUTHENTICATION_FAILED with this message, then the connection closes. */
export class SaslAuthError extends Error {
  constructor(
    message: string,
    /** OAUTHBEARER: the error JSON sent as a challenge first (the client acknowledges, then fails). */
    readonly challenge?: Buffer,
  ) {
    super(message);
    this.name = 'SaslAuthError';
  }
}

export interface SaslStep {
  response: Buffer;
  /** The exchange is over and the client authenticated as `principal`. */
  principal: string | null;
  /** OAUTHBEARER: when the token expires (ms since epoch). */
  expiresAtMs?: number;
}

export interface SaslServer {
  readonly mechanism: string;
  evaluate(token: Buffer): SaslStep;
}

const GENERIC_FAILURE = 'Authentication failed: Invalid username or password';

function safeEqual(a: string, b: string): boolean {
  // Hash both so the comparison time says nothing about the length either.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** PLAIN: `[authzid] NUL user NUL password`; users are JAAS `user_<name>="<password>"` options. */
export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  constructor(private readonly users: ReadonlyMap<string, string>) {}

  evaluate(token: Buffer): SaslStep {
    const parts = token.toString('utf8').split('\0');
    if (parts.length !== 3) throw new SaslAuthError('Invalid SASL/PLAIN response: expected 3 tokens');
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '') throw new SaslAuthError('Authentication failed: username not specified');
    if (password === '') throw new SaslAuthError('Authentication failed: password not specified');
    const expected = this.users.get(user);
    // Compared even for an unknown user, so the answer time does not tell whether the user exists.
    const ok = safeEqual(password, expected ?? `\0${password}`) && expected !== undefined;
    if (!ok) throw new SaslAuthError(GENERIC_FAILURE);
    if (authzid !== '' && authzid !== user) throw new SaslAuthError('Authentication failed: Client requested an authorization id that is different from username');
    return { response: Buffer.alloc(0), principal: `User:${user}` };
  }
}

/** SCRAM-SHA-256/512 with the credentials of AlterUserScramCredentials. */
export class ScramServer implements SaslServer {
  private state: 'first' | 'final' | 'done' = 'first';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private user = '';
  private credential: StoredScramCredential | undefined;

  private principal = '';
  private expiresAtMs: number | undefined;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string, mechanism: ScramMechanism) => StoredScramCredential | undefined,
    /** Salts fake credentials of unknown users, so they look like real ones across attempts. */
    private readonly fakeSecret: Buffer,
    /** Delegation tokens (the `tokenauth=true` extension): the token's credential, owner and expiry. */
    private readonly tokenLookup: (tokenId: string, mechanism: ScramMechanism) => ScramToken | undefined = () => undefined,
  ) {}

  /** Whether the client authenticated with a delegation token (such a principal may not manage tokens). */
  tokenAuthenticated = false;

  evaluate(token: Buffer): SaslStep {
    const text = token.toString('utf8');
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw new SaslAuthError('SCRAM exchange already complete');
  }

  private first(text: string): SaslStep {
    // gs2 header: n or y (no channel binding), optional a=authzid, then the bare message.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) throw new SaslAuthError('Invalid SCRAM client first message');
    this.clientFirstBare = m[3]!;
    const attrs = scramAttributes(this.clientFirstBare);
    const name = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (!name || !clientNonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw new SaslAuthError('Invalid SCRAM client first message');
    this.user = scramUnescape(name);
    if (m[2] && scramUnescape(m[2].slice(2)) !== this.user) throw new SaslAuthError('Authentication failed: authorization id must match the user name');
    // Extensions (RFC 5802 reserves none; Kafka's) come after the nonce: `,tokenauth=true`.
    const extensions = this.clientFirstBare.split(',').slice(2);
    this.tokenAuthenticated = extensions.some((e) => e.toLowerCase() === 'tokenauth=true');
    if (this.tokenAuthenticated) {
      const token = this.tokenLookup(this.user, this.mechanism);
      this.credential = token?.credential;
      // Kafka's principal of a token is User:<owner name>, whatever the owner's type.
      this.principal = token ? `User:${token.owner.slice(token.owner.indexOf(':') + 1)}` : '';
      this.expiresAtMs = token?.expiresAtMs;
    } else {
      this.credential = this.lookup(this.user, this.mechanism);
      this.principal = `User:${this.user}`;
    }
    // An unknown user gets a made-up salt and iteration count: the exchange fails at the proof, as a wrong password does.
    const salt = this.credential ? this.credential.salt : createHash('sha256').update(this.fakeSecret).update(this.user).digest().subarray(0, 16).toString('base64');
    const iterations = this.credential?.iterations ?? SCRAM_MIN_ITERATIONS;
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${salt},i=${iterations}`;
    this.state = 'final';
    return { response: Buffer.from(this.serverFirst, 'utf8'), principal: null };
  }

  private final(text: string): SaslStep {
    this.state = 'done';
    const p = text.lastIndexOf(',p=');
    if (p < 0) throw new SaslAuthError('Invalid SCRAM client final message');
    const withoutProof = text.slice(0, p);
    const attrs = scramAttributes(withoutProof);
    // Kafka checks that the nonce ends with the server's (some librdkafka versions prefix their own nonce again).
    if (!(attrs.get('r') ?? '').endsWith(this.nonce)) throw new SaslAuthError('Invalid SCRAM client final message: nonce mismatch');
    const channel = attrs.get('c') ?? '';
    if (
      !/^[A-Za-z0-9+/=]*$/.test(channel) ||
      (!Buffer.from(channel, 'base64').toString('utf8').startsWith('n,') && !Buffer.from(channel, 'base64').toString('utf8').startsWith('y,'))
    ) {
      throw new SaslAuthError('Invalid SCRAM client final message: channel binding');
    }
    const proof = Buffer.from(text.slice(p + 3), 'base64');
    const credential = this.credential;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    if (!credential) throw new SaslAuthError(GENERIC_FAILURE);
    const storedKey = Buffer.from(credential.storedKey, 'base64');
    if (proof.length !== storedKey.length) throw new SaslAuthError(GENERIC_FAILURE);
    const clientKey = xorBuffers(proof, scramHmac(this.mechanism, storedKey, authMessage));
    if (!timingSafeEqual(scramHash(this.mechanism, clientKey), storedKey)) throw new SaslAuthError(GENERIC_FAILURE);
    const serverSignature = scramHmac(this.mechanism, Buffer.from(credential.serverKey, 'base64'), authMessage);
    return {
      response: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      principal: this.principal,
      ...(this.expiresAtMs !== undefined ? { expiresAtMs: this.expiresAtMs } : {}),
    };
  }
}

/** A delegation token as SCRAM sees it. */
export interface ScramToken {
  credential: StoredScramCredential;
  /** The token owner (`User:name`): the principal of a connection authenticated with it. */
  owner: string;
  expiresAtMs: number;
}

export interface OAuthOptions {
  /** Keys by kid (and all of them for tokens without a kid); null: Kafka's unsecured validator (alg none). */
  jwks: KeySource | null;
  expectedIssuer: string | null;
  expectedAudience: string[];
  principalClaim: string;
  scopeClaim: string;
  requiredScopes: string[];
  clockSkewMs: number;
  now: () => number;
}

function b64urlJson(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

const JWS_ALGORITHMS: Record<string, { hash: string; dsa?: boolean; pss?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  ES256: { hash: 'sha256', dsa: true },
  ES384: { hash: 'sha384', dsa: true },
  ES512: { hash: 'sha512', dsa: true },
};

/** OAUTHBEARER: `n,,^Aauth=Bearer <jwt>^A^A`; the JWT is validated, its subject is the principal. */
export class OAuthBearerServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER';
  private failed: SaslAuthError | null = null;
  constructor(private readonly options: OAuthOptions) {}

  evaluate(token: Buffer): SaslStep {
    if (this.failed) {
      // The client's %x01 after our error challenge: the exchange ends with the failure (RFC 7628 3.2.3).
      throw new SaslAuthError(this.failed.message);
    }
    try {
      return this.validate(token.toString('utf8'));
    } catch (err) {
      const message = err instanceof SaslAuthError ? err.message : `Authentication failed: ${(err as Error).message}`;
      this.failed = new SaslAuthError(message);
      const status = JSON.stringify({ status: 'invalid_token' });
      throw new SaslAuthError(message, Buffer.from(status, 'utf8'));
    }
  }

  private validate(text: string): SaslStep {
    // gs2 header, then key=value pairs each ended by %x01, then a final %x01 (RFC 7628 3.1).
    const SEP = String.fromCharCode(1);
    const headerEnd = text.indexOf(SEP);
    const gs2 = headerEnd < 0 ? '' : text.slice(0, headerEnd);
    if (!/^[ny],(a=[^,]*)?,$/.test(gs2) || !text.endsWith(SEP + SEP)) throw new SaslAuthError('Invalid OAUTHBEARER client first message');
    let jwt: string | null = null;
    for (const kv of text.slice(headerEnd + 1, -2).split(SEP)) {
      if (kv.startsWith('auth=')) {
        const auth = /^auth=Bearer +([\w\-.]+)$/i.exec(kv);
        if (!auth) throw new SaslAuthError('Invalid OAUTHBEARER authorization value');
        jwt = auth[1]!;
      }
    }
    if (!jwt) throw new SaslAuthError('OAUTHBEARER message without a token');
    const parts = jwt.split('.');
    if (parts.length !== 3) throw new SaslAuthError('The token is not a JWS compact serialization');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = b64urlJson(parts[0]!);
      claims = b64urlJson(parts[1]!);
    } catch (err) {
      throw new SaslAuthError(`Invalid token: ${(err as Error).message}`);
    }
    const o = this.options;
    if (o.jwks === null) {
      // Kafka's unsecured validator: alg none and no signature.
      if (header['alg'] !== 'none' || parts[2] !== '') throw new SaslAuthError('Unsecured tokens only (alg none): no JWKS is configured');
    } else {
      const alg = typeof header['alg'] === 'string' ? JWS_ALGORITHMS[header['alg']] : undefined;
      if (!alg) throw new SaslAuthError(`Unsupported token algorithm ${String(header['alg'])}`);
      const kid = typeof header['kid'] === 'string' ? header['kid'] : null;
      const all = o.jwks.keys();
      const keys = kid !== null ? [all.get(kid)].filter((k) => k !== undefined) : [...all.values()];
      if (kid !== null && keys.length === 0) {
        // A key rotation the broker has not seen yet: this token fails, the set is refreshed for the next.
        o.jwks.unknownKid(kid);
        throw new SaslAuthError(`No key with id ${kid} in the JWKS`);
      }
      const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'utf8');
      const signature = Buffer.from(parts[2]!, 'base64url');
      const ok = keys.some((key) => {
        try {
          return verifySignature(
            alg.hash,
            signed,
            { key, ...(alg.dsa ? { dsaEncoding: 'ieee-p1363' as const } : {}), ...(alg.pss ? { padding: 6, saltLength: 32 } : {}) },
            signature,
          );
        } catch {
          return false;
        }
      });
      if (!ok) throw new SaslAuthError('Invalid token signature');
    }
    const now = o.now();
    const exp = claims['exp'];
    if (typeof exp !== 'number') throw new SaslAuthError('The token has no exp claim');
    if (exp * 1000 + o.clockSkewMs <= now) throw new SaslAuthError('The token has expired');
    const nbf = claims['nbf'];
    if (typeof nbf === 'number' && nbf * 1000 - o.clockSkewMs > now) throw new SaslAuthError('The token is not valid yet');
    const iat = claims['iat'];
    if (typeof iat === 'number' && iat * 1000 - o.clockSkewMs > now) throw new SaslAuthError('The token was issued in the future');
    if (o.expectedIssuer !== null && claims['iss'] !== o.expectedIssuer) throw new SaslAuthError('The token has an unexpected issuer');
    if (o.expectedAudience.length > 0) {
      const aud = claims['aud'];
      const auds = Array.isArray(aud) ? aud : [aud];
      if (!auds.some((a) => typeof a === 'string' && o.expectedAudience.includes(a))) throw new SaslAuthError('The token has an unexpected audience');
    }
    const sub = claims[o.principalClaim];
    if (typeof sub !== 'string' || sub === '') throw new SaslAuthError(`The token has no ${o.principalClaim} claim`);
    if (o.requiredScopes.length > 0) {
      const raw = claims[o.scopeClaim];
      const scopes = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
      for (const s of o.requiredScopes) if (!scopes.includes(s)) throw new SaslAuthError(`The token lacks the required scope ${s}`);
    }
    return { response: Buffer.alloc(0), principal: `User:${sub}`, expiresAtMs: exp * 1000 };
  }
}
