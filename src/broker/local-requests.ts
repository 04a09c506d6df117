// Kafka requests made inside the broker on behalf of a local caller (the HTTP admin API and web
// console): the request goes through the same path as one read from a socket (request checks,
// the API's handler, ACLs with the caller's principal, quotas, request metrics) and comes back as
// the decoded response a client would see. So the console creates topics, produces, fetches and
// resets offsets with exactly the broker's rules and error codes, and never bypasses the
// authorizer: it acts as the principal the HTTP layer authenticated.
//
// In a cluster, what Kafka routes to one broker (a partition's leader, a group's or transactional
// id's coordinator, a broker's own configs) is sent there when it is not this broker: wrapped in
// an Envelope (KIP-590) that carries the caller's principal and address, over the inter-broker
// listener, so the other broker runs it as the caller with its own ACL checks (handlers/envelope.ts).
// Like a client, a routed request is retried a few times on NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR
// and their kin, following the metadata this broker sees change.
import { Reader } from '../protocol/primitives.js';
import { encodeRequestFrame, decodeResponseHeader } from '../protocol/headers.js';
import { ApiKey, apiByKey } from '../protocol/generated/index.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/errors.js';
import type { FrameHandler } from '../network/connection.js';
import type { Broker } from './broker.js';
import { createRequestHandler, supportedApis } from './request-handler.js';
import { LocalRequestError, standInConnection } from './stand-in-connection.js';

export { LocalRequestError };

/** Who a local request acts as. */
export interface LocalCaller {
  /** Kafka principal, `User:name` (`User:ANONYMOUS` without authentication). */
  principal: string;
  /** The caller's address (ACL host patterns match it). */
  host: string;
  /** The client id the request carries (quotas and logs see it). */
  clientId: string;
}

/** Where a request must be answered. */
export type Route = { node: number } | { leaderOf: { topic: string; partition: number } } | { coordinatorOf: { key: string; type: 'group' | 'transaction' } };

/**
 * A routed request could not be delivered: no leader or coordinator, or the broker that has it
 * cannot be reached or refuses to act for the caller. `errorCode` is Kafka's error name.
 */
export class RoutingError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'RoutingError';
  }
}

/** Answers after which a client looks the leader or coordinator up again and retries. */
const STALE_ROUTE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);
/** Delivery failures worth another try (the peer restarting, leadership moving). */
const RETRY_DELIVERY: ReadonlySet<number> = new Set([ErrorCode.NETWORK_EXCEPTION, ErrorCode.REQUEST_TIMED_OUT]);

/** Attempts of a routed request, and the pause before each retry (doubling): about 3 s in all. */
const ROUTE_ATTEMPTS = 6;
const ROUTE_BACKOFF_MS = 100;

/**
 * The newest version of an API whose bodies the local callers build: newer versions name topics
 * by id only (OffsetCommit/OffsetFetch v10, KIP-848; Produce v13, KIP-516), and the HTTP admin
 * API builds them by name (an unknown topic then answers UNKNOWN_TOPIC_OR_PARTITION).
 */
const LOCAL_MAX_VERSION = new Map<number, number>([
  [ApiKey.Produce, 12],
  [ApiKey.OffsetCommit, 9],
  [ApiKey.OffsetFetch, 9],
]);

/** Sends typed requests through the broker's request path and returns typed responses. */
export class LocalRequests {
  private readonly handler: FrameHandler;
  private readonly versions = new Map<number, number>();
  private correlationId = 0;

  constructor(private readonly broker: Broker) {
    this.handler = createRequestHandler(broker);
    for (const [key, api] of supportedApis()) this.versions.set(key, Math.min(api.maxVersion, LOCAL_MAX_VERSION.get(key) ?? api.maxVersion));
  }

  /** The newest version of the API this broker serves. */
  version(apiKey: number): number {
    const v = this.versions.get(apiKey);
    if (v === undefined) throw new LocalRequestError(`API key ${apiKey} is not served`);
    return v;
  }

  /** Runs the request on this broker. */
  async send<Res>(caller: LocalCaller, apiKey: number, request: unknown, version = this.version(apiKey)): Promise<Res> {
    const spec = apiByKey.get(apiKey)!;
    const correlationId = ++this.correlationId & 0x7fffffff;
    const frame = encodeRequestFrame(apiKey, version, correlationId, caller.clientId, request);
    const out = await this.handler(frame.subarray(4), standInConnection(this.broker, caller));
    if (out === null) throw new LocalRequestError(`${spec.name} got no response`);
    const buf = Array.isArray(out) ? Buffer.concat(out) : out;
    const r = new Reader(buf.subarray(4));
    decodeResponseHeader(r, apiKey, version);
    return spec.decodeResponse(r, version) as Res;
  }

  /**
   * Runs the request on broker `nodeId`: here, or forwarded in an Envelope as the caller. A
   * forwarding failure rejects with a KafkaError (see InterBrokerClient.forwardAs).
   */
  async sendTo<Res>(caller: LocalCaller, nodeId: number, apiKey: number, request: unknown, timeoutMs = 15_000): Promise<Res> {
    const b = this.broker;
    if (nodeId === b.nodeId || !b.cluster) return this.send<Res>(caller, apiKey, request);
    const peer = b.liveBrokers().find((x) => x.nodeId === nodeId);
    if (!peer) throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, `broker ${nodeId} is not live`);
    return b.interBroker.forwardAs<Res>(peer, caller, apiKey, request, this.version(apiKey), timeoutMs);
  }

  /**
   * The broker a route names, as this broker's metadata says now: a node id, or why there is
   * none yet. A topic or internal topic this broker does not know is answered here (its handler
   * gives Kafka's error).
   */
  resolve(route: Route): number | string {
    const b = this.broker;
    if ('node' in route) return route.node;
    if (!b.cluster) return b.nodeId;
    let topic: string;
    let partition: number;
    let what: string;
    if ('leaderOf' in route) {
      ({ topic, partition } = route.leaderOf);
      what = `partition ${partition} of ${topic}`;
    } else {
      const { key, type } = route.coordinatorOf;
      topic = type === 'group' ? '__consumer_offsets' : '__transaction_state';
      partition = type === 'group' ? b.groupCoordinator.partitionFor(key) : b.transactionCoordinator.partitionFor(key);
      what = `the coordinator of ${type} ${key} (${topic}-${partition})`;
    }
    const t = b.topics.get(topic);
    const s = t ? b.partitionStates(t)[partition] : undefined;
    if (!s) return b.nodeId;
    if (s.leader < 0) return `${what} has no leader (offline)`;
    if (s.leader !== b.nodeId && !b.liveBrokers().some((x) => x.nodeId === s.leader)) return `${what} is led by broker ${s.leader}, which is not live`;
    return s.leader;
  }

  /**
   * Sends the request where the route says, and again (a bounded number of times, backing off)
   * while the answer says the leader or coordinator is elsewhere or moving: `errorOf` reads the
   * answer's error code for that. The last answer is returned even if it still carries such an
   * error. Rejects with a RoutingError when no broker could take the request at all.
   */
  async routed<Res>(caller: LocalCaller, route: Route, apiKey: number, request: unknown, errorOf: (res: Res) => number, timeoutMs?: number): Promise<Res> {
    const name = apiByKey.get(apiKey)?.name ?? `API ${apiKey}`;
    let why = '';
    let code = 'NOT_LEADER_OR_FOLLOWER';
    if ('coordinatorOf' in route) code = 'NOT_COORDINATOR';
    if ('node' in route) code = 'BROKER_NOT_AVAILABLE';
    for (let attempt = 0; attempt < ROUTE_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, ROUTE_BACKOFF_MS * 2 ** (attempt - 1)));
      if (this.broker.isStopped) break;
      const target = this.resolve(route);
      if (typeof target === 'string') {
        why = target;
        continue;
      }
      let res: Res;
      try {
        res = await this.sendTo<Res>(caller, target, apiKey, request, timeoutMs);
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        why = err.message;
        if (RETRY_DELIVERY.has(err.code)) continue;
        // The peer refused to act for the caller, or cannot run the request: no retry helps.
        throw new RoutingError(errorName(err.code), `${name} could not be forwarded to broker ${target}: ${err.message}`);
      }
      if (attempt + 1 < ROUTE_ATTEMPTS && STALE_ROUTE.has(errorOf(res))) {
        why = `broker ${target} answered ${errorName(errorOf(res))}`;
        continue;
      }
      return res;
    }
    throw new RoutingError(code, `${name} could not be routed: ${why}`);
  }
}
