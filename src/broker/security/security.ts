// The broker's security: listeners' TLS settings, each connection's principal and SASL state,
// the gate that serves only ApiVersions and SASL requests before authentication, the SCRAM
// credentials and ACLs (kept in the metadata store, so a cluster shares them), and the
// authorizer handlers ask.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError, type BrokerConfig } from '../../config/config.js';
import { storeMaterial, type StoreMaterial } from '../../keystores/ssl-stores.js';
import type { MetadataStore, StoredAcl, StoredScramCredential } from '../../cluster/metadata-port.js';
import type { Connection } from '../../network/connection.js';
import { normalizeAddress } from '../../network/server.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { Clock } from '../../common/clock.js';
import type { ClientSecurity, SaslCredentials, ScramMechanism } from '../../client/sasl.js';
import { scramKeys, scramSaltedPassword } from '../../client/sasl.js';
import { listenerPlan, usesSasl, usesTls, type ListenerPlan, type SecurityProtocol } from './listeners.js';
import { certificatePrincipal, parseMappingRules, tlsClientOptions } from './tls.js';
import { parseJaas } from './jaas.js';
import { OAuthBearerServer, PlainServer, SaslAuthError, ScramServer, type SaslServer, type SaslStep } from './sasl-server.js';
import { HttpsJwks, StaticKeys, type KeySource } from './jwks.js';
import { AclOperation, CLUSTER_NAME, ResourceType, StandardAuthorizer } from './authorizer.js';
import { DelegationTokens } from './delegation-tokens.js';
import { operationName, resourceTypeName } from '../../protocol/acl-types.js';

export { AclOperation as Op } from './authorizer.js';

export const SUPPORTED_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;

/** Kafka's authorizer class names, accepted as they are so existing server.properties work. */
const AUTHORIZER_CLASSES = ['org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer', 'kafka.security.auth.SimpleAclAuthorizer'];

/** A connection's SASL state (Connection.security). */
export interface Session {
  state: 'handshake' | 'authenticate' | 'raw' | 'authenticated';
  server: SaslServer | null;
  mechanism: string | null;
  /** When the session must be re-authenticated (KIP-368), ms since epoch; null: never. */
  expiresAtMs: number | null;
  /** A re-authentication is under way: the principal must not change. */
  reauthenticating: boolean;
  /** Authenticated with a delegation token (SCRAM tokenauth): may not create, renew, expire or describe tokens. */
  tokenAuthenticated: boolean;
}

export type AuthResult = { kind: 'step'; response: Buffer; sessionLifetimeMs: number } | { kind: 'failed'; errorMessage: string; challenge?: Buffer };

const PRE_AUTH_APIS = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

interface ListenerSecurity {
  protocol: SecurityProtocol;
  mechanisms: string[];
  plainUsers: Map<string, string>;
  oauth: ConstructorParameters<typeof OAuthBearerServer>[0] | null;
  principalRules: ReturnType<typeof parseMappingRules>;
}

export class BrokerSecurity {
  readonly plan: ListenerPlan;
  readonly authorizer: StandardAuthorizer | null;
  /** Delegation tokens (enabled by delegation.token.secret.key). */
  readonly tokens: DelegationTokens;
  private readonly listeners = new Map<string, ListenerSecurity>();
  private readonly httpsJwks: HttpsJwks[] = [];
  private scram = new Map<string, StoredScramCredential>();
  private readonly fakeSecret = randomBytes(32);
  private readonly failureDelayMs: number;
  readonly maxPreAuthBytes: number;
  private lastDenyLog = 0;
  private suppressedDenies = 0;

  constructor(
    private readonly config: BrokerConfig,
    private readonly metadata: MetadataStore,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.plan = listenerPlan(config);
    this.failureDelayMs = config.int('connection.failed.authentication.delay.ms');
    this.maxPreAuthBytes = config.int('sasl.server.max.receive.size');
    for (const l of this.plan.listeners) this.listeners.set(l.name, this.listenerSecurity(l.name, l.securityProtocol));
    const authorizerClass = (config.str('authorizer.class.name') ?? '').trim();
    if (authorizerClass === '') this.authorizer = null;
    else if (!AUTHORIZER_CLASSES.includes(authorizerClass)) throw new ConfigError(`authorizer.class.name ${authorizerClass} is not supported (use ${AUTHORIZER_CLASSES[0]})`);
    else {
      const superUsers = new Set(
        (config.str('super.users') ?? '')
          .split(';')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
      this.authorizer = new StandardAuthorizer({ superUsers, allowEveryoneIfNoAclFound: config.bool('allow.everyone.if.no.acl.found') }, metadata.acls());
    }
    this.tokens = new DelegationTokens(config, metadata, clock, logger, () => !metadata.clustered || metadata.controllerId() === config.nodeId);
    this.loadScram();
    metadata.onChange((change) => {
      if (change.kind === 'acls') this.authorizer?.setAcls(metadata.acls());
      else if (change.kind === 'scram') this.loadScram();
    });
  }

  private loadScram(): void {
    this.scram = new Map(this.metadata.scramCredentials().map((c) => [`${c.mechanism}\0${c.user}`, c]));
  }

  private listenerSecurity(name: string, protocol: SecurityProtocol): ListenerSecurity {
    const out: ListenerSecurity = {
      protocol,
      mechanisms: [],
      plainUsers: new Map(),
      oauth: null,
      principalRules: parseMappingRules(this.config.listenerValue(name, 'ssl.principal.mapping.rules') ?? 'DEFAULT'),
    };
    if (!usesSasl(protocol)) return out;
    const mechanisms = (this.config.listenerValue(name, 'sasl.enabled.mechanisms') ?? 'GSSAPI')
      .split(',')
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== '');
    for (const m of mechanisms) {
      if (!(SUPPORTED_MECHANISMS as readonly string[]).includes(m)) {
        throw new ConfigError(`Listener ${name}: SASL mechanism ${m} is not supported; set sasl.enabled.mechanisms to some of ${SUPPORTED_MECHANISMS.join(', ')}`);
      }
    }
    if (mechanisms.length === 0) throw new ConfigError(`Listener ${name} uses SASL but sasl.enabled.mechanisms is empty`);
    out.mechanisms = mechanisms;
    const jaas = (mechanism: string) => {
      const text = this.config.listenerValue(name, `${mechanism.toLowerCase()}.sasl.jaas.config`, 'sasl.jaas.config');
      return text ? parseJaas(text, `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`) : null;
    };
    if (mechanisms.includes('PLAIN')) {
      const entry = jaas('PLAIN');
      if (!entry) throw new ConfigError(`Listener ${name} offers PLAIN but has no JAAS config (listener.name.${name.toLowerCase()}.plain.sasl.jaas.config)`);
      for (const [k, v] of entry.options) if (k.startsWith('user_')) out.plainUsers.set(k.slice(5), v);
    }
    if (mechanisms.includes('OAUTHBEARER')) {
      const options = jaas('OAUTHBEARER')?.options ?? new Map<string, string>();
      // Kafka's per-listener form names the mechanism: listener.name.<l>.oauthbearer.sasl.oauthbearer.*.
      const oauth = (key: string) => this.config.listenerValue(name, `oauthbearer.${key}`, '\0') ?? this.config.listenerValue(name, key);
      const jwksUrl = oauth('sasl.oauthbearer.jwks.endpoint.url');
      let jwks: KeySource | null = null;
      if (jwksUrl) jwks = this.keySource(jwksUrl, oauth, options);
      const list = (v: string | null | undefined) => (v ?? '').split(/[ ,]/).filter((s) => s !== '');
      out.oauth = {
        jwks,
        expectedIssuer: oauth('sasl.oauthbearer.expected.issuer'),
        expectedAudience: list(oauth('sasl.oauthbearer.expected.audience')),
        principalClaim: options.get('unsecuredValidatorPrincipalClaimName') ?? oauth('sasl.oauthbearer.sub.claim.name') ?? 'sub',
        scopeClaim: options.get('unsecuredValidatorScopeClaimName') ?? 'scope',
        requiredScopes: list(options.get('unsecuredValidatorRequiredScope')),
        clockSkewMs: Number(options.get('unsecuredValidatorAllowableClockSkewMs') ?? '0') || 0,
        now: () => this.clock.now(),
      };
    }
    return out;
  }

  /**
   * The JWKS of a listener: a file read now, or an https endpoint fetched by start() and kept
   * fresh. The endpoint's CA comes from the OAUTHBEARER JAAS options, as Kafka's JaasOptionsUtils
   * takes them (ssl.truststore.location of any store type, or ssl.truststore.certificates; and
   * ssl.keystore.* for mutual TLS); else Node's defaults.
   */
  private keySource(url: string, oauth: (key: string) => string | null, options: Map<string, string>): KeySource {
    if (url.startsWith('file:')) {
      try {
        return StaticKeys.file(url);
      } catch (err) {
        throw new ConfigError(`Cannot read the JWKS ${url}: ${(err as Error).message}`);
      }
    }
    if (!/^https?:\/\//.test(url)) throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url ${url}: use an https:, http: or file: URL`);
    // Kafka builds an SSL factory from the JAAS options' ssl.* (JaasOptionsUtils) for https only.
    const tls = url.startsWith('https:') ? jwksStores(options) : {};
    const ms = (key: string, fallback: number) => {
      const v = oauth(key);
      return v === null || v === '' || !Number.isFinite(Number(v)) ? fallback : Number(v);
    };
    const source = new HttpsJwks({
      url,
      refreshMs: Math.max(1, ms('sasl.oauthbearer.jwks.endpoint.refresh.ms', 3_600_000)),
      retryBackoffMs: Math.max(1, ms('sasl.oauthbearer.jwks.endpoint.retry.backoff.ms', 100)),
      retryBackoffMaxMs: Math.max(1, ms('sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms', 10_000)),
      tls,
      logger: this.logger,
      now: () => this.clock.now(),
    });
    this.httpsJwks.push(source);
    return source;
  }

  /** Fetches the https JWKS of the OAUTHBEARER listeners; the broker does not start without them. */
  async start(): Promise<void> {
    for (const j of this.httpsJwks) {
      try {
        await j.start();
      } catch (err) {
        this.close();
        throw new ConfigError(`Cannot fetch the JWKS (sasl.oauthbearer.jwks.endpoint.url): ${(err as Error).message}`);
      }
    }
  }

  /** Sets a new connection's principal (client certificate) and SASL state. */
  onConnection(conn: Connection): void {
    const l = this.listeners.get(conn.listenerName);
    if (!l) return;
    if (usesTls(l.protocol) && l.protocol === 'SSL') {
      conn.principal = certificatePrincipal(conn.socket as TLSSocket, l.principalRules) ?? 'User:ANONYMOUS';
    }
    const session: Session = {
      state: usesSasl(l.protocol) ? 'handshake' : 'authenticated',
      server: null,
      mechanism: null,
      expiresAtMs: null,
      reauthenticating: false,
      tokenAuthenticated: false,
    };
    conn.security = session;
    // Kafka's sasl.server.max.receive.size: before authentication, large frames close the connection.
    if (session.state !== 'authenticated') conn.maxFrameBytes = this.maxPreAuthBytes;
  }

  private session(conn: Connection): Session | null {
    return (conn.security as Session | null) ?? null;
  }

  /** True when the frame is a raw SASL token (after a SaslHandshake v0), not a Kafka request. */
  expectsRawToken(conn: Connection): boolean {
    return this.session(conn)?.state === 'raw';
  }

  /**
   * Whether a request may be served on this connection now; the reason to close it otherwise.
   * Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are (Kafka's rule);
   * after a SASL session expired (KIP-368) only a re-authentication is.
   */
  admit(conn: Connection, apiKey: number): string | null {
    const s = this.session(conn);
    if (!s) return null;
    if (s.state !== 'authenticated') return PRE_AUTH_APIS.has(apiKey) ? null : `unexpected request (API key ${apiKey}) before SASL authentication`;
    if (s.expiresAtMs !== null && this.clock.now() >= s.expiresAtMs && apiKey !== ApiKey.SaslHandshake && apiKey !== ApiKey.ApiVersions) {
      return 'SASL session expired without re-authentication (connections.max.reauth.ms)';
    }
    return null;
  }

  /** SaslHandshake: the mechanisms of the connection's listener; starts (or restarts, KIP-368) the exchange. */
  handshake(conn: Connection, mechanism: string, version: number): { errorCode: 'NONE' | 'UNSUPPORTED_SASL_MECHANISM' | 'ILLEGAL_SASL_STATE'; mechanisms: string[] } {
    const l = this.listeners.get(conn.listenerName);
    const s = this.session(conn);
    if (!l || !s || !usesSasl(l.protocol)) return { errorCode: 'ILLEGAL_SASL_STATE', mechanisms: [] };
    if (s.state === 'authenticated') {
      // A re-authentication: only with v1 (SaslAuthenticate framing).
      if (version < 1) return { errorCode: 'ILLEGAL_SASL_STATE', mechanisms: l.mechanisms };
      s.reauthenticating = true;
    } else if (s.state !== 'handshake') {
      return { errorCode: 'ILLEGAL_SASL_STATE', mechanisms: l.mechanisms };
    }
    if (!l.mechanisms.includes(mechanism)) return { errorCode: 'UNSUPPORTED_SASL_MECHANISM', mechanisms: l.mechanisms };
    if (s.reauthenticating && s.mechanism !== mechanism) return { errorCode: 'ILLEGAL_SASL_STATE', mechanisms: l.mechanisms };
    s.mechanism = mechanism;
    s.server = this.saslServer(l, mechanism);
    s.state = version === 0 ? 'raw' : 'authenticate';
    return { errorCode: 'NONE', mechanisms: l.mechanisms };
  }

  private saslServer(l: ListenerSecurity, mechanism: string): SaslServer {
    if (mechanism === 'PLAIN') return new PlainServer(l.plainUsers);
    if (mechanism === 'OAUTHBEARER') return new OAuthBearerServer(l.oauth!);
    return new ScramServer(
      mechanism as ScramMechanism,
      (user, m) => this.scram.get(`${m}\0${user}`),
      this.fakeSecret,
      (tokenId, m) => this.tokens.scramToken(tokenId, m),
    );
  }

  /** One SASL token (SaslAuthenticate, or a raw v0 frame): the server's answer, or the failure. */
  authenticate(conn: Connection, token: Buffer): AuthResult {
    const s = this.session(conn);
    if (!s || (s.state !== 'authenticate' && s.state !== 'raw') || !s.server) return { kind: 'failed', errorMessage: 'Unexpected SASL authenticate request' };
    let step: SaslStep;
    try {
      step = s.server.evaluate(token);
    } catch (err) {
      const e = err instanceof SaslAuthError ? err : new SaslAuthError(`Authentication failed: ${(err as Error).message}`);
      if (e.challenge) return { kind: 'step', response: e.challenge, sessionLifetimeMs: 0 };
      this.logger.info({ conn: conn.id, remote: conn.remote, listener: conn.listenerName, mechanism: s.mechanism, reason: e.message }, 'SASL authentication failed');
      return { kind: 'failed', errorMessage: e.message };
    }
    if (step.principal === null) return { kind: 'step', response: step.response, sessionLifetimeMs: 0 };
    if (s.reauthenticating && step.principal !== conn.principal) {
      return { kind: 'failed', errorMessage: 'Cannot change principals during re-authentication' };
    }
    conn.principal = step.principal;
    s.tokenAuthenticated = s.server instanceof ScramServer && s.server.tokenAuthenticated;
    s.state = 'authenticated';
    s.server = null;
    s.reauthenticating = false;
    conn.maxFrameBytes = null;
    // KIP-368, as Kafka's SaslServerAuthenticator: the session ends at connections.max.reauth.ms
    // or when the credential (a JWT, a delegation token) expires, whichever is first.
    let lifetime = 0;
    const now = this.clock.now();
    const maxReauthMs = this.maxReauthMs(conn.listenerName, s.mechanism ?? '');
    if (maxReauthMs > 0 || step.expiresAtMs !== undefined) {
      if (step.expiresAtMs === undefined) lifetime = maxReauthMs;
      else if (maxReauthMs <= 0) lifetime = Math.max(0, step.expiresAtMs - now);
      else lifetime = Math.max(0, Math.min(maxReauthMs, step.expiresAtMs - now));
      s.expiresAtMs = now + lifetime;
    } else {
      s.expiresAtMs = null;
    }
    return { kind: 'step', response: step.response, sessionLifetimeMs: lifetime };
  }

  /**
   * connections.max.reauth.ms for a listener and mechanism, as Kafka reads it:
   * listener.name.<l>.<mechanism>.connections.max.reauth.ms, then listener.name.<l>.…, then global.
   */
  private maxReauthMs(listener: string, mechanism: string): number {
    const v =
      this.config.listenerValue(listener, `${mechanism.toLowerCase()}.connections.max.reauth.ms`, '\0') ??
      this.config.listenerValue(listener, 'connections.max.reauth.ms') ??
      '0';
    const ms = Number(v);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  }

  /** Whether the connection authenticated with a delegation token. */
  tokenAuthenticated(conn: Connection): boolean {
    return this.session(conn)?.tokenAuthenticated ?? false;
  }

  close(): void {
    this.tokens.close();
    for (const j of this.httpsJwks) j.close();
  }

  /** A failed authentication is answered this much later (connection.failed.authentication.delay.ms). */
  get authFailureDelayMs(): number {
    return this.failureDelayMs;
  }

  // ---- SCRAM credentials ----

  scramCredential(user: string, mechanism: ScramMechanism): StoredScramCredential | undefined {
    return this.scram.get(`${mechanism}\0${user}`);
  }

  allScramCredentials(): StoredScramCredential[] {
    return [...this.scram.values()];
  }

  async setScramCredentials(next: StoredScramCredential[]): Promise<void> {
    await this.metadata.setScramCredentials(next);
    this.loadScram();
  }

  // ---- ACLs ----

  acls(): StoredAcl[] {
    return this.metadata.acls();
  }

  async setAcls(next: StoredAcl[]): Promise<void> {
    await this.metadata.setAcls(next);
    this.authorizer?.setAcls(next);
  }

  /**
   * Checks a user name and password outside SASL (the HTTP listener's Basic authentication):
   * against the PLAIN users of the listeners' JAAS configs, then the SCRAM credentials. Returns
   * the principal (`User:name`), or null when neither knows the pair.
   */
  verifyPassword(user: string, password: string): string | null {
    if (user === '' || password === '') return null;
    const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
    for (const l of this.listeners.values()) {
      const expected = l.plainUsers.get(user);
      if (expected !== undefined && same(createHash('sha256').update(expected).digest(), createHash('sha256').update(password).digest())) return `User:${user}`;
    }
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
      const c = this.scram.get(`${mechanism}\0${user}`);
      if (!c) continue;
      const { storedKey } = scramKeys(mechanism, scramSaltedPassword(mechanism, password, Buffer.from(c.salt, 'base64'), c.iterations));
      if (same(storedKey, Buffer.from(c.storedKey, 'base64'))) return `User:${user}`;
    }
    return null;
  }

  /** The client's address as ACL hosts name it. */
  static host(conn: Connection): string {
    return normalizeAddress(conn.socket.remoteAddress);
  }

  /** Whether the connection's principal may do `operation` on the resource; true without an authorizer. Denials are audited. */
  allowed(conn: Connection, operation: number, resourceType: number, name: string, audit = true): boolean {
    if (!this.authorizer) return true;
    const host = BrokerSecurity.host(conn);
    const ok = this.authorizer.authorize(conn.principal, host, operation, resourceType, name);
    if (!ok && audit) this.auditDenial(conn.principal, host, operation, resourceType, name);
    return ok;
  }

  /** Shorthands for the handlers' checks. */
  topic(conn: Connection, operation: number, name: string, audit = true): boolean {
    return this.allowed(conn, operation, ResourceType.TOPIC, name, audit);
  }
  group(conn: Connection, operation: number, id: string, audit = true): boolean {
    return this.allowed(conn, operation, ResourceType.GROUP, id, audit);
  }
  transactionalId(conn: Connection, operation: number, id: string, audit = true): boolean {
    return this.allowed(conn, operation, ResourceType.TRANSACTIONAL_ID, id, audit);
  }
  cluster(conn: Connection, operation: number, audit = true): boolean {
    return this.allowed(conn, operation, ResourceType.CLUSTER, CLUSTER_NAME, audit);
  }

  /**
   * InitProducerId without a transactional id: IDEMPOTENT_WRITE on the cluster, or (KIP-679)
   * WRITE on some topic.
   */
  idempotentWrite(conn: Connection): boolean {
    if (!this.authorizer) return true;
    return this.allowed(conn, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME, false) || this.allowedOnAny(conn, AclOperation.WRITE, ResourceType.TOPIC);
  }

  /** authorizeByResourceType: some resource of the type allows the operation. */
  allowedOnAny(conn: Connection, operation: number, resourceType: number): boolean {
    if (!this.authorizer) return true;
    return this.authorizer.authorizeAny(conn.principal, BrokerSecurity.host(conn), operation, resourceType);
  }

  /** KIP-430 bits for a resource, or null without an authorizer (the caller answers every operation). */
  authorizedOperations(conn: Connection, resourceType: number, name: string): number | null {
    if (!this.authorizer) return null;
    return this.authorizer.authorizedOperations(conn.principal, BrokerSecurity.host(conn), resourceType, name);
  }

  private auditDenial(principal: string, host: string, operation: number, resourceType: number, name: string): void {
    const now = this.clock.now();
    if (now - this.lastDenyLog < 1000) {
      this.suppressedDenies++;
      return;
    }
    this.lastDenyLog = now;
    this.logger.info(
      { principal, host, operation: operationName(operation), resourceType: resourceTypeName(resourceType), resource: name, suppressedSinceLast: this.suppressedDenies },
      'authorization denied',
    );
    this.suppressedDenies = 0;
  }

  // ---- the broker as a client of other brokers ----

  /** How this broker connects to another's inter-broker listener: its TLS material and SASL credentials. */
  interBrokerClientSecurity(): ClientSecurity {
    const name = this.plan.interBroker;
    const protocol = this.plan.listeners.find((l) => l.name === name)!.securityProtocol;
    const out: ClientSecurity = { protocol };
    if (usesTls(protocol)) out.tls = tlsClientOptions(this.config, name);
    if (usesSasl(protocol)) {
      const mechanism = (this.config.str('sasl.mechanism.inter.broker.protocol') ?? 'GSSAPI').toUpperCase();
      if (mechanism === 'OAUTHBEARER' || !(SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism)) {
        throw new ConfigError(`sasl.mechanism.inter.broker.protocol ${mechanism} is not supported between brokers (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
      }
      const text = this.config.listenerValue(name, `${mechanism.toLowerCase()}.sasl.jaas.config`, 'sasl.jaas.config');
      const options = text ? parseJaas(text, 'inter-broker JAAS config').options : new Map<string, string>();
      const username = options.get('username');
      const password = options.get('password');
      if (username === undefined || password === undefined) {
        throw new ConfigError(`The inter-broker listener ${name} uses SASL: its ${mechanism} JAAS config needs username and password (the broker's own credentials)`);
      }
      out.sasl = { mechanism: mechanism as SaslCredentials['mechanism'], username, password } as SaslCredentials;
    }
    return out;
  }
}

export type { SaslServer };

/** The JWKS endpoint's stores from the OAUTHBEARER JAAS options; errors say they are those, not the listener's. */
function jwksStores(options: Map<string, string>): StoreMaterial {
  try {
    return storeMaterial((key) => options.get(key), 'its JWKS endpoint');
  } catch (err) {
    throw err instanceof ConfigError ? new ConfigError(`OAUTHBEARER JAAS config: ${err.message}`) : err;
  }
}
