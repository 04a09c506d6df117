// The keys that sign valid OAUTHBEARER tokens: a JWKS (RFC 7517) from sasl.oauthbearer.jwks.endpoint.url.
// A file: URL is read once at start (Kafka's JwksFileVerificationKeyResolver); an https: (or http:)
// one is fetched at start, again every sasl.oauthbearer.jwks.endpoint.refresh.ms, and at once when a
// token names a key id the set lacks (a key rotation), as Kafka's RefreshingHttpsJwks does: such a
// token fails, a later one with that kid succeeds once the refresh is in. Failed fetches are retried
// with exponential backoff (sasl.oauthbearer.jwks.endpoint.retry.backoff.ms up to .max.ms).
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { StoreMaterial } from '../../keystores/ssl-stores.js';

/** Reads a JWKS document into public keys by kid (keys without a kid: `#<index>`); non-signing keys are skipped. */
export function parseJwks(text: string): Map<string, KeyObject> {
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error('a JWKS has a "keys" array');
  const out = new Map<string, KeyObject>();
  doc.keys.forEach((jwk: Record<string, unknown>, i: number) => {
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return;
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    out.set(typeof jwk['kid'] === 'string' ? jwk['kid'] : `#${i}`, key);
  });
  return out;
}

/** What the OAUTHBEARER validator asks of a key set. */
export interface KeySource {
  keys(): ReadonlyMap<string, KeyObject>;
  /** A token named a kid the set lacks: a rotation may have happened (https sources refresh). */
  unknownKid(kid: string): void;
}

export class StaticKeys implements KeySource {
  constructor(private readonly map: ReadonlyMap<string, KeyObject>) {}
  static file(url: string): StaticKeys {
    return new StaticKeys(parseJwks(readFileSync(fileURLToPath(url), 'utf8')));
  }
  keys(): ReadonlyMap<string, KeyObject> {
    return this.map;
  }
  unknownKid(): void {}
}

export interface HttpsJwksOptions {
  url: string;
  refreshMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** The endpoint's trusted CAs (unset: Node's defaults) and, for mutual TLS, a key and chain. */
  tls?: StoreMaterial;
  logger: Logger;
  /** The broker's clock (ms since epoch). */
  now: () => number;
  /** How long one fetch may take. */
  timeoutMs?: number;
}

/** Kafka's MISSING_KEY_ID_CACHE_IN_FLIGHT_MS: one expedited refresh per unknown kid per minute. */
const MISSING_KID_QUIET_MS = 60_000;
const MISSING_KID_MAX = 16;

export class HttpsJwks implements KeySource {
  private current: ReadonlyMap<string, KeyObject> = new Map();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly missing = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: HttpsJwksOptions) {}

  keys(): ReadonlyMap<string, KeyObject> {
    return this.current;
  }

  /** The first fetch: the broker does not start without its keys (as Kafka's RefreshingHttpsJwks.init). */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule(this.o.refreshMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  unknownKid(kid: string): void {
    const now = this.o.now();
    const last = this.missing.get(kid);
    if (last !== undefined && now - last < MISSING_KID_QUIET_MS) return;
    if (this.missing.size >= MISSING_KID_MAX) {
      for (const [k, t] of this.missing) if (now - t >= MISSING_KID_QUIET_MS) this.missing.delete(k);
      if (this.missing.size >= MISSING_KID_MAX) return;
    }
    this.missing.set(kid, now);
    this.o.logger.info({ url: this.o.url, kid }, 'OAUTHBEARER token with an unknown key id: refreshing the JWKS');
    void this.refresh().catch((err: Error) => this.o.logger.warn({ url: this.o.url, err: err.message }, 'JWKS refresh failed'));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.periodic(0), ms);
    this.timer.unref();
  }

  private async periodic(attempt: number): Promise<void> {
    try {
      await this.refresh();
      this.schedule(this.o.refreshMs);
    } catch (err) {
      const backoff = Math.min(this.o.retryBackoffMaxMs, this.o.retryBackoffMs * 2 ** attempt);
      this.o.logger.warn({ url: this.o.url, err: (err as Error).message, retryInMs: backoff }, 'JWKS refresh failed');
      if (this.closed) return;
      this.timer = setTimeout(() => void this.periodic(attempt + 1), backoff);
      this.timer.unref();
    }
  }

  /** Fetches the set (one fetch at a time); the old keys stay until a good new set arrives. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetch()
      .then((text) => {
        const keys = parseJwks(text);
        this.current = keys;
        for (const kid of keys.keys()) this.missing.delete(kid);
        this.o.logger.debug({ url: this.o.url, kids: [...keys.keys()] }, 'JWKS refreshed');
      })
      .finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async fetch(): Promise<string> {
    const url = new URL(this.o.url);
    // node:https (and its TLS stack) is loaded only by a broker that fetches keys over https.
    const request = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'GET', headers: { accept: 'application/json' }, ...this.o.tls }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1 << 20) req.destroy(new Error('the JWKS is larger than 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${this.o.url}`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', reject);
      });
      req.setTimeout(this.o.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer from ${this.o.url}`)));
      req.on('error', reject);
      req.end();
    });
  }
}
