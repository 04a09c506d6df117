import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { EntityPart, StoredQuota } from '../cluster/metadata-port.js';

export type { EntityPart, StoredQuota } from '../cluster/metadata-port.js';

/**
 * Client quota entities and their configured values (AlterClientQuotas / DescribeClientQuotas),
 * and which entity's quota applies to a (user, client-id) pair, in Kafka's precedence order.
 */

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';

/** Without authentication every client is Kafka's anonymous principal; user quotas apply to it. */
export const ANONYMOUS_USER = 'ANONYMOUS';

export type QuotaKey = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage' | 'controller_mutation_rate' | 'connection_creation_rate';

/** The keys each entity kind accepts, with whether the value must be a whole number (Kafka's LONG). */
const CLIENT_KEYS: ReadonlyMap<string, boolean> = new Map([
  ['producer_byte_rate', true],
  ['consumer_byte_rate', true],
  ['request_percentage', false],
  ['controller_mutation_rate', false],
]);
const IP_KEYS: ReadonlyMap<string, boolean> = new Map([['connection_creation_rate', true]]);

/** A canonical key for an entity: its parts sorted by type. */
export function entityKey(entity: EntityPart[]): string {
  return [...entity]
    .sort((a, b) => a.entityType.localeCompare(b.entityType))
    .map((p) => `${p.entityType}=${p.entityName === null ? '<default>' : JSON.stringify(p.entityName)}`)
    .join(',');
}

function invalid(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_REQUEST, message);
}

/** Checks an entity as AlterClientQuotas must: user and/or client-id, or ip alone. */
export function validateEntity(entity: EntityPart[]): void {
  if (entity.length === 0) throw invalid('Invalid empty client quota entity');
  const types = new Set<string>();
  for (const p of entity) {
    if (p.entityType !== USER && p.entityType !== CLIENT_ID && p.entityType !== IP) throw invalid(`Unhandled client quota entity type: ${p.entityType}`);
    if (types.has(p.entityType)) throw invalid(`Duplicate ${p.entityType} entity type in client quota entity`);
    types.add(p.entityType);
    if (p.entityName === '') throw invalid(`Empty ${p.entityType} name in client quota entity`);
  }
  if (types.has(IP) && types.size > 1) throw invalid('Invalid quota entity combination, IP entity should not be combined with User or ClientId entities');
}

export function keysFor(entity: EntityPart[]): ReadonlyMap<string, boolean> {
  return entity.some((p) => p.entityType === IP) ? IP_KEYS : CLIENT_KEYS;
}

/** Checks one set/remove operation for an entity; returns the value to store (null = remove). */
export function validateOp(entity: EntityPart[], key: string, value: number, remove: boolean): number | null {
  const keys = keysFor(entity);
  const whole = keys.get(key);
  if (whole === undefined) throw invalid(`Invalid configuration key ${key} for entity ${entityKey(entity)}`);
  if (remove) return null;
  if (!Number.isFinite(value) || value <= 0) throw invalid(`Quota ${key} must be a positive number, got ${value}`);
  if (whole && !Number.isInteger(value)) throw invalid(`Configuration ${key} must be a Long value`);
  return value;
}

/** A DescribeClientQuotas filter component (match types as on the wire). */
export interface FilterComponent {
  entityType: string;
  matchType: number;
  match: string | null;
}

export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

export function validateFilter(components: FilterComponent[]): void {
  const types = new Set<string>();
  for (const c of components) {
    if (c.entityType !== USER && c.entityType !== CLIENT_ID && c.entityType !== IP) throw invalid(`Custom entity type '${c.entityType}' not supported`);
    if (types.has(c.entityType)) throw invalid(`Duplicate ${c.entityType} filter component entity type`);
    types.add(c.entityType);
    if (c.matchType === MATCH_EXACT && c.match === null) throw invalid(`Missing match for exact ${c.entityType} filter component`);
    if (c.matchType !== MATCH_EXACT && c.matchType !== MATCH_DEFAULT && c.matchType !== MATCH_SPECIFIED) throw invalid(`Unexpected match type ${c.matchType}`);
    if (c.matchType !== MATCH_EXACT && c.match !== null) throw invalid(`Unexpected match for ${c.entityType} filter component with match type ${c.matchType}`);
  }
  if (types.has(IP) && types.size > 1)
    throw invalid('Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.');
}

/** Whether an entity passes a filter; strict filters exclude entities with extra types. */
export function matchesFilter(entity: EntityPart[], components: FilterComponent[], strict: boolean): boolean {
  for (const c of components) {
    const part = entity.find((p) => p.entityType === c.entityType);
    if (!part) return false;
    if (c.matchType === MATCH_EXACT && part.entityName !== c.match) return false;
    if (c.matchType === MATCH_DEFAULT && part.entityName !== null) return false;
  }
  return !strict || entity.length === components.length;
}

/** The quota that applies to a client, and the identity its usage is measured under. */
export interface ResolvedQuota {
  bound: number;
  /** Clients with the same sensor key share one measured rate (Kafka's metric tags). */
  sensorKey: string;
}

/**
 * The configured quotas, indexed for lookups on every request. Precedence (most specific first),
 * as Kafka's: user+client-id, user+default client-id, user, default user+client-id, default
 * user+default client-id, default user, client-id, default client-id.
 */
export class QuotaTable {
  private readonly byKey = new Map<string, StoredQuota>();
  private readonly cache = new Map<string, ResolvedQuota | null>();

  constructor(entries: StoredQuota[] = []) {
    for (const e of entries) this.byKey.set(entityKey(e.entity), { entity: e.entity, values: { ...e.values } });
  }

  entries(): StoredQuota[] {
    return [...this.byKey.values()];
  }

  /** Sets or removes values of one entity; an entity left without values is dropped. */
  apply(entity: EntityPart[], changes: Map<string, number | null>): void {
    const key = entityKey(entity);
    const current = this.byKey.get(key) ?? { entity, values: {} };
    for (const [k, v] of changes) {
      if (v === null) delete current.values[k];
      else current.values[k] = v;
    }
    if (Object.keys(current.values).length === 0) this.byKey.delete(key);
    else this.byKey.set(key, current);
    this.cache.clear();
  }

  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  resolve(quota: QuotaKey, user: string, clientId: string): ResolvedQuota | null {
    const cacheKey = `${quota}\u0000${user}\u0000${clientId}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const resolved = this.lookup(quota, user, clientId);
    // Bounded: a flood of distinct client ids must not grow the cache without limit.
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, resolved);
    return resolved;
  }

  private lookup(quota: QuotaKey, user: string, clientId: string): ResolvedQuota | null {
    const levels: [string | null | undefined, string | null | undefined][] = [
      [user, clientId],
      [user, null],
      [user, undefined],
      [null, clientId],
      [null, null],
      [null, undefined],
      [undefined, clientId],
      [undefined, null],
    ];
    for (const [u, c] of levels) {
      const entity: EntityPart[] = [];
      if (u !== undefined) entity.push({ entityType: USER, entityName: u });
      if (c !== undefined) entity.push({ entityType: CLIENT_ID, entityName: c });
      const bound = this.byKey.get(entityKey(entity))?.values[quota];
      if (bound !== undefined) {
        // Usage is measured per actual user and/or client id of the level that matched.
        const sensorKey = `${u === undefined ? '' : user}\u0000${c === undefined ? '' : clientId}`;
        return { bound, sensorKey };
      }
    }
    return null;
  }
}
