import { ANONYMOUS_USER, QuotaTable, type QuotaKey, type StoredQuota } from './client-quotas.js';
import { systemClock, type Clock } from '../common/clock.js';

const MAX_THROTTLE_MS = 2_147_483_647;

export interface QuotaWindow {
  /** quota.window.num */
  samples: number;
  /** quota.window.size.seconds, in ms */
  sampleMs: number;
}

/**
 * A rate measured over `samples` windows of `sampleMs`, the way Kafka's quota sensors measure:
 * the sum of the retained samples over the time they cover, counted as at least samples - 1 full
 * windows so that a new client's first burst is spread over the whole window.
 */
export class SampledRate {
  private readonly starts: number[] = [];
  private readonly values: number[] = [];
  lastUsed = 0;

  constructor(private readonly window: QuotaWindow) {}

  record(value: number, now: number): void {
    this.lastUsed = now;
    this.purge(now);
    const n = this.starts.length;
    if (n > 0 && now < this.starts[n - 1]! + this.window.sampleMs) this.values[n - 1]! += value;
    else {
      this.starts.push(now);
      this.values.push(value);
    }
  }

  /** The time the rate is measured over, in ms. */
  windowMs(now: number): number {
    this.purge(now);
    let elapsed = this.starts.length > 0 ? now - this.starts[0]! : 0;
    const full = Math.floor(elapsed / this.window.sampleMs);
    if (full < this.window.samples - 1) elapsed += (this.window.samples - 1 - full) * this.window.sampleMs;
    return Math.max(elapsed, 1);
  }

  /** Units per second. */
  rate(now: number): number {
    const ms = this.windowMs(now);
    let sum = 0;
    for (const v of this.values) sum += v;
    return (sum * 1000) / ms;
  }

  private purge(now: number): void {
    const horizon = now - this.window.samples * this.window.sampleMs;
    while (this.starts.length > 0 && this.starts[0]! + this.window.sampleMs <= horizon) {
      this.starts.shift();
      this.values.shift();
    }
  }
}

/**
 * Client quota enforcement (KIP-13, KIP-124, KIP-219): usage is recorded per client (as its
 * quota entity says), and a client over its bound gets the time it must pause for its rate to
 * come back to the bound: (rate - bound) / bound × window.
 */
export class QuotaManager {
  private table: QuotaTable;
  private readonly sensors = new Map<string, SampledRate>();
  private sweeps = 0;

  constructor(
    private readonly window: QuotaWindow,
    entries: StoredQuota[],
    private readonly clock: Clock = systemClock,
  ) {
    this.table = new QuotaTable(entries);
  }

  get quotas(): QuotaTable {
    return this.table;
  }

  /** Replaces the configured quotas (after AlterClientQuotas); measured rates are kept. */
  setQuotas(entries: StoredQuota[]): void {
    this.table = new QuotaTable(entries);
  }

  /** Whether any quota is configured at all; with none, nothing is measured. */
  get enabled(): boolean {
    return !this.table.isEmpty;
  }

  /** Records usage and returns the throttle time in ms (0 when within quota or none applies). */
  record(quota: QuotaKey, clientId: string, value: number, now = this.clock.now(), maxThrottleMs = Infinity, user = ANONYMOUS_USER): number {
    const resolved = this.table.resolve(quota, user, clientId);
    if (!resolved) return 0;
    const sensor = this.sensor(`${quota}\u0000${resolved.sensorKey}`, now);
    sensor.record(value, now);
    const rate = sensor.rate(now);
    if (rate <= resolved.bound) return 0;
    const throttle = Math.round(((rate - resolved.bound) / resolved.bound) * sensor.windowMs(now));
    // A tiny quota gives absurd throttles; int32 is what the wire and timers can carry (as Kafka's int cast).
    return Math.min(throttle, maxThrottleMs, MAX_THROTTLE_MS);
  }

  /** Takes back a recorded value (a throttled fetch is answered empty, so its bytes were not sent). */
  unrecord(quota: QuotaKey, clientId: string, value: number, now = this.clock.now(), user = ANONYMOUS_USER): void {
    this.record(quota, clientId, -value, now, Infinity, user);
  }

  /**
   * The most bytes one fetch may return without being throttled on its own (Kafka's
   * maxValueInQuotaWindow): a fetch larger than that would be throttled and answered empty forever.
   */
  maxFetchBytes(clientId: string, user = ANONYMOUS_USER): number {
    // Every fetch asks: with no quota at all, not even the cache key is built.
    if (this.table.isEmpty) return Number.MAX_SAFE_INTEGER;
    const resolved = this.table.resolve('consumer_byte_rate', user, clientId);
    if (!resolved) return Number.MAX_SAFE_INTEGER;
    return Math.max(1, Math.floor((resolved.bound * (this.window.samples - 1) * this.window.sampleMs) / 1000));
  }

  /** The cap on request-quota throttles (Kafka: one sample window). */
  get maxRequestThrottleMs(): number {
    return this.window.sampleMs;
  }

  private sensor(key: string, now: number): SampledRate {
    let s = this.sensors.get(key);
    if (!s) {
      s = new SampledRate(this.window);
      this.sensors.set(key, s);
      // Sensors of clients gone for a whole window measure nothing; drop them now and then.
      if (++this.sweeps % 1000 === 0) this.sweep(now);
    }
    return s;
  }

  private sweep(now: number): void {
    const idle = this.window.samples * this.window.sampleMs;
    for (const [k, s] of this.sensors) if (now - s.lastUsed > idle) this.sensors.delete(k);
  }
}
