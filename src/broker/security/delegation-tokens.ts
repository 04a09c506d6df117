// Delegation tokens (KIP-48, KIP-373) with Kafka's semantics: a token is created for its owner
// (the requester, or another user with CREATE_TOKENS on that USER), lives
// delegation.token.expiry.time.ms unless renewed by its owner or a renewer, never past its max
// lifetime, and is kept in the metadata store so every broker of a cluster knows it. Its HMAC
// (HmacSHA512 of the token id under delegation.token.secret.key) is never stored: each broker
// derives it. A client authenticates with SCRAM as user <token id>, password base64(HMAC), and the
// `tokenauth=true` extension; its principal is then the token's owner.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../config/config.js';
import type { MetadataStore, StoredDelegationToken, StoredScramCredential } from '../../cluster/metadata-port.js';
import type { Clock } from '../../common/clock.js';
import { scramKeys, scramSaltedPassword, SCRAM_MIN_ITERATIONS, type ScramMechanism } from '../../client/sasl.js';

/** Kafka's DelegationTokenManager.ErrorTimestamp. */
export const ERROR_TIMESTAMP = -1;

export type TokenError =
  'DELEGATION_TOKEN_AUTH_DISABLED' | 'DELEGATION_TOKEN_NOT_FOUND' | 'DELEGATION_TOKEN_EXPIRED' | 'DELEGATION_TOKEN_OWNER_MISMATCH' | 'INVALID_PRINCIPAL_TYPE';

/** `Type:name` split at the first colon (Kafka's KafkaPrincipal). */
export function splitPrincipal(p: string): { type: string; name: string } {
  const i = p.indexOf(':');
  return i < 0 ? { type: 'User', name: p } : { type: p.slice(0, i), name: p.slice(i + 1) };
}

export class DelegationTokens {
  private readonly secret: string | null;
  private readonly maxLifetimeMs: number;
  private readonly renewLifetimeMs: number;
  /** SCRAM credentials derived from a token's HMAC, per token and mechanism (salted once per broker). */
  private readonly credentials = new Map<string, StoredScramCredential>();
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(
    config: BrokerConfig,
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Whether this broker removes expired tokens (the controller, or a single node). */
    private readonly purges: () => boolean,
  ) {
    const secret = config.str('delegation.token.secret.key') ?? config.str('delegation.token.master.key');
    this.secret = secret === null || secret === '' ? null : secret;
    this.maxLifetimeMs = config.int('delegation.token.max.lifetime.ms');
    this.renewLifetimeMs = config.int('delegation.token.expiry.time.ms');
    if (this.secret !== null) {
      this.purgeTimer = setInterval(() => void this.purgeExpired(), config.int('delegation.token.expiry.check.interval.ms'));
      this.purgeTimer.unref();
    }
    metadata.onChange((c) => {
      if (c.kind === 'delegation-tokens') this.forgetRemoved();
    });
  }

  get enabled(): boolean {
    return this.secret !== null;
  }

  close(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = null;
  }

  hmac(tokenId: string): Buffer {
    return createHmac('sha512', Buffer.from(this.secret ?? '', 'utf8'))
      .update(tokenId, 'utf8')
      .digest();
  }

  all(): StoredDelegationToken[] {
    return this.enabled ? this.metadata.delegationTokens() : [];
  }

  /** The token whose HMAC this is (RenewDelegationToken and ExpireDelegationToken name tokens so). */
  private byHmac(hmac: Buffer): StoredDelegationToken | undefined {
    return this.all().find((t) => {
      const mine = this.hmac(t.tokenId);
      return mine.length === hmac.length && timingSafeEqual(mine, hmac);
    });
  }

  private static mayRenew(t: StoredDelegationToken, principal: string): boolean {
    return t.owner === principal || t.renewers.includes(principal);
  }

  /** Owner, requester or renewer: who may describe a token without any ACL (TokenInformation.ownerOrRenewer). */
  static ownerOrRenewer(t: StoredDelegationToken, principal: string): boolean {
    return t.owner === principal || t.requester === principal || t.renewers.includes(principal);
  }

  async create(owner: string, requester: string, renewers: string[], requestedMaxLifetimeMs: number): Promise<StoredDelegationToken | TokenError> {
    if (!this.enabled) return 'DELEGATION_TOKEN_AUTH_DISABLED';
    if (renewers.some((r) => splitPrincipal(r).type !== 'User')) return 'INVALID_PRINCIPAL_TYPE';
    const now = this.clock.now();
    const maxLifetime = requestedMaxLifetimeMs > 0 ? Math.min(this.maxLifetimeMs, requestedMaxLifetimeMs) : this.maxLifetimeMs;
    const maxTimestampMs = now + maxLifetime;
    const token: StoredDelegationToken = {
      tokenId: randomUUID(),
      owner,
      requester,
      renewers,
      issueTimestampMs: now,
      maxTimestampMs,
      expiryTimestampMs: Math.min(maxTimestampMs, now + this.renewLifetimeMs),
    };
    await this.metadata.putDelegationToken(token);
    return token;
  }

  /** The token an HMAC names, once the principal may renew or expire it now. */
  private renewable(principal: string, hmac: Buffer): StoredDelegationToken | TokenError {
    if (!this.enabled) return 'DELEGATION_TOKEN_AUTH_DISABLED';
    const t = this.byHmac(hmac);
    if (!t) return 'DELEGATION_TOKEN_NOT_FOUND';
    const now = this.clock.now();
    if (t.maxTimestampMs < now || t.expiryTimestampMs < now) return 'DELEGATION_TOKEN_EXPIRED';
    if (!DelegationTokens.mayRenew(t, principal)) return 'DELEGATION_TOKEN_OWNER_MISMATCH';
    return t;
  }

  /** RenewDelegationToken: the new expiry timestamp. */
  async renew(principal: string, hmac: Buffer, renewPeriodMs: number): Promise<number | TokenError> {
    const t = this.renewable(principal, hmac);
    if (typeof t === 'string') return t;
    const period = renewPeriodMs > 0 ? Math.min(this.renewLifetimeMs, renewPeriodMs) : this.renewLifetimeMs;
    t.expiryTimestampMs = Math.min(t.maxTimestampMs, this.clock.now() + period);
    await this.metadata.putDelegationToken(t);
    return t.expiryTimestampMs;
  }

  /**
   * ExpireDelegationToken: a negative period removes the token now (answered with that period, as
   * Kafka's controller does); otherwise it expires that much later, never past its max lifetime.
   */
  async expire(principal: string, hmac: Buffer, expiryPeriodMs: number): Promise<number | TokenError> {
    const t = this.renewable(principal, hmac);
    if (typeof t === 'string') return t;
    if (expiryPeriodMs < 0) {
      await this.metadata.deleteDelegationToken(t.tokenId);
      this.forget(t.tokenId);
      return expiryPeriodMs;
    }
    t.expiryTimestampMs = Math.min(t.maxTimestampMs, this.clock.now() + expiryPeriodMs);
    await this.metadata.putDelegationToken(t);
    return t.expiryTimestampMs;
  }

  /**
   * What SCRAM token authentication needs: the credential made from the token's HMAC, its owner
   * and expiry; undefined for an unknown or expired token.
   */
  scramToken(tokenId: string, mechanism: ScramMechanism): { credential: StoredScramCredential; owner: string; expiresAtMs: number } | undefined {
    if (!this.enabled) return undefined;
    const t = this.metadata.delegationTokens().find((x) => x.tokenId === tokenId);
    if (!t || t.expiryTimestampMs < this.clock.now()) return undefined;
    const key = `${mechanism}\0${tokenId}`;
    let credential = this.credentials.get(key);
    if (!credential) {
      const salt = randomBytes(16);
      const password = this.hmac(tokenId).toString('base64');
      const keys = scramKeys(mechanism, scramSaltedPassword(mechanism, password, salt, SCRAM_MIN_ITERATIONS));
      credential = {
        user: tokenId,
        mechanism,
        iterations: SCRAM_MIN_ITERATIONS,
        salt: salt.toString('base64'),
        storedKey: keys.storedKey.toString('base64'),
        serverKey: keys.serverKey.toString('base64'),
      };
      this.credentials.set(key, credential);
    }
    return { credential, owner: t.owner, expiresAtMs: t.expiryTimestampMs };
  }

  private forget(tokenId: string): void {
    for (const k of [...this.credentials.keys()]) if (k.endsWith(`\0${tokenId}`)) this.credentials.delete(k);
  }

  private forgetRemoved(): void {
    const live = new Set(this.metadata.delegationTokens().map((t) => t.tokenId));
    for (const k of [...this.credentials.keys()]) if (!live.has(k.slice(k.indexOf('\0') + 1))) this.credentials.delete(k);
  }

  /** Removes the tokens past their expiry (Kafka's controller sweeps them every check interval). */
  async purgeExpired(): Promise<number> {
    if (!this.purges()) return 0;
    const now = this.clock.now();
    let removed = 0;
    for (const t of this.metadata.delegationTokens()) {
      if (t.expiryTimestampMs >= now && t.maxTimestampMs >= now) continue;
      try {
        await this.metadata.deleteDelegationToken(t.tokenId);
        this.forget(t.tokenId);
        removed++;
        this.logger.info({ tokenId: t.tokenId, owner: t.owner }, 'expired delegation token removed');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'cannot remove an expired delegation token');
        break;
      }
    }
    return removed;
  }
}
