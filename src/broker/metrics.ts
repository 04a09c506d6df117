// The broker's own counters: plain numbers bumped on the request path, read when something
// (src/http/metrics.ts, the Prometheus exposition) asks for them. Nothing here allocates per
// request once an API or topic has been seen, and nothing knows of Prometheus or HTTP: gauges
// (partitions, leaders, log sizes, lag) are computed from the broker's state at scrape time.
import { ApiKey } from '../protocol/generated/index.js';
import type { RequestTimes, RequestTimesSink } from '../network/request-times.js';

/** Upper bounds (ms) of the request latency histogram's buckets; +Inf is implicit. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/** Upper bounds (bytes) of the request size histogram's buckets (RequestBytes); +Inf is implicit. */
export const REQUEST_BYTES_BUCKETS: readonly number[] = [64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864];

/** A monotonic counter. */
export class Counter {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A cumulative histogram with fixed buckets, as Prometheus exposes one. */
export class Histogram {
  /** Per bucket (LATENCY_BUCKETS_MS order, then +Inf): observations falling in it (not cumulative). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS_MS) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * One API's request metrics (Kafka's kafka.network:type=RequestMetrics,request=<api>): requests
 * and the time each spent where, recorded when the request ends (its response written, or none
 * due). With the stamps of src/network/request-times.ts (R received, S started, C response
 * built, W write started, E write done), in ms:
 *
 *   RequestQueueTimeMs  S - R: waiting for the event loop, e.g. behind the requests before it in
 *                       the same socket read, or buffered while reads were paused (throttle,
 *                       memory pool, max in-flight).
 *   LocalTimeMs         C - S - RemoteTimeMs: the broker's own work on it, decoding to encoding,
 *                       including awaits no handler marks as parked (disk reads and writes, the
 *                       wait for the connection's response budget, the controller's answer).
 *   RemoteTimeMs        time parked waiting on others (requestParked/requestResumed in api.ts): a
 *                       fetch in the purgatory until data or max.wait.ms, an acks=all produce on
 *                       a replicated partition until the ISR has it, JoinGroup and SyncGroup
 *                       until the group's rebalance answers them. 0 for everything else.
 *   ThrottleTimeMs      the throttle time the response carries (quotas); the client waits it out
 *                       after the response (KIP-219), so it is not part of TotalTimeMs.
 *   ResponseQueueTimeMs W - C: the answer waiting for the connection's earlier answers (they go
 *                       out in request order); for a client older than KIP-219 also the
 *                       throttle time the broker holds its response back.
 *   ResponseSendTimeMs  E - W: from the bytes handed to the socket to its write callback (all of
 *                       them in the kernel's buffer; a client that reads slowly makes it long).
 *   TotalTimeMs         E - R, the sum of all but ThrottleTimeMs.
 *   RequestBytes        the request's size.
 *   MessageConversionsTimeMs  Produce and Fetch only, as Kafka keeps it: time spent converting
 *                       record batches between formats. Always 0: Produce v3+ and Fetch v4+
 *                       (all we, and Kafka 4.x, serve) carry the v2 format, which is stored and
 *                       served as it comes; Kafka 4.x records the same zeros.
 *   TemporaryMemoryBytes  Produce and Fetch only, as Kafka keeps it: memory a request took
 *                       beyond its own bytes to convert or decompress its records. Always 0:
 *                       batches stay opaque bytes here (Kafka's produce validation decompresses
 *                       compressed batches and records what that took).
 *
 * Each time is rounded to whole milliseconds before it is recorded, as Kafka's
 * Request.updateRequestMetrics does (its histograms hold longs), so sums and buckets are the ones
 * Kafka would show for the same requests; TotalTimeMs is rounded on its own, not summed from the
 * rounded parts.
 *
 * A request with no response (acks=0) ends when handled; one whose connection closed first ends
 * then, with no send time.
 */
export class ApiMetrics implements RequestTimesSink {
  readonly requests = new Counter();
  readonly requestQueueTimeMs = new Histogram();
  readonly localTimeMs = new Histogram();
  readonly remoteTimeMs = new Histogram();
  readonly throttleTimeMs = new Histogram();
  readonly responseQueueTimeMs = new Histogram();
  readonly responseSendTimeMs = new Histogram();
  readonly totalTimeMs = new Histogram();
  readonly requestBytes = new Histogram(REQUEST_BYTES_BUCKETS);
  /** Responses carrying an error code, by Kafka error code (top-level and per-partition codes the handlers report). */
  readonly errors = new Map<number, Counter>();
  /** Kafka has this histogram for its Produce and Fetch metrics only (not FetchConsumer/FetchFollower). */
  readonly messageConversionsTimeMs: Histogram | null;
  /** Likewise Produce and Fetch only. */
  readonly temporaryMemoryBytes: Histogram | null;
  /** `parent`: also records every request there (FetchConsumer and FetchFollower are Fetch too). */
  constructor(
    readonly name: string,
    private readonly parent: ApiMetrics | null = null,
  ) {
    const recordApi = name === 'Produce' || name === 'Fetch';
    this.messageConversionsTimeMs = recordApi ? new Histogram() : null;
    this.temporaryMemoryBytes = recordApi ? new Histogram(REQUEST_BYTES_BUCKETS) : null;
  }
  error(code: number, by = 1): void {
    let c = this.errors.get(code);
    if (!c) this.errors.set(code, (c = new Counter()));
    c.inc(by);
  }

  requestEnded(t: RequestTimes, endedAt: number): void {
    const completed = t.completedAt >= 0 ? t.completedAt : endedAt;
    // A park never resumed (a handler that failed while parked) lasted until the response.
    if (t.parkedAt >= 0) t.remoteMs += Math.max(0, completed - t.parkedAt);
    const sendStarted = t.sendStartedAt >= 0 ? t.sendStartedAt : endedAt;
    const queue = Math.max(0, t.startedAt - t.receivedAt);
    const remote = Math.max(0, t.remoteMs);
    const local = Math.max(0, completed - t.startedAt - remote);
    const responseQueue = Math.max(0, sendStarted - completed);
    const send = Math.max(0, endedAt - sendStarted);
    const total = Math.max(0, endedAt - t.receivedAt);
    // Whole milliseconds, as Kafka records them (Math.round of each, half up).
    this.record(queue, local, remote, t.throttleMs, responseQueue, send, total, t.requestBytes);
    this.parent?.record(queue, local, remote, t.throttleMs, responseQueue, send, total, t.requestBytes);
  }

  private record(queue: number, local: number, remote: number, throttle: number, responseQueue: number, send: number, total: number, bytes: number): void {
    this.requests.inc();
    this.requestQueueTimeMs.observe(Math.round(queue));
    this.localTimeMs.observe(Math.round(local));
    this.remoteTimeMs.observe(Math.round(remote));
    this.throttleTimeMs.observe(throttle);
    this.responseQueueTimeMs.observe(Math.round(responseQueue));
    this.responseSendTimeMs.observe(Math.round(send));
    this.totalTimeMs.observe(Math.round(total));
    this.requestBytes.observe(bytes);
    this.messageConversionsTimeMs?.observe(0);
    this.temporaryMemoryBytes?.observe(0);
  }
}

/** Per topic (and for all topics together): Kafka's kafka.server:type=BrokerTopicMetrics. */
export class TopicMetrics {
  bytesIn = 0;
  messagesIn = 0;
  bytesOut = 0;
  /** Produce requests (per partition, as Kafka counts TotalProduceRequestsPerSec) and the failed ones. */
  produceRequests = 0;
  failedProduceRequests = 0;
  fetchRequests = 0;
  failedFetchRequests = 0;
}

/**
 * The broker-wide metrics registry. The replication layer reports ISR changes through
 * `isrShrinks` / `isrExpands` (`broker.metrics.isrShrinks.inc()`).
 */
export class BrokerMetrics {
  /** Indexed by API key. */
  private readonly apis: (ApiMetrics | undefined)[] = [];
  readonly topics = new Map<string, TopicMetrics>();
  /** The sum over all topics (Kafka's BrokerTopicMetrics without a topic tag). */
  readonly allTopics = new TopicMetrics();
  /** Kafka's kafka.server:type=ReplicaManager,name=IsrShrinksPerSec. */
  readonly isrShrinks = new Counter();
  /** Kafka's kafka.server:type=ReplicaManager,name=IsrExpandsPerSec. */
  readonly isrExpands = new Counter();
  /** Requests decoded and not yet answered (the request queue, as far as a single thread has one). */
  requestsInFlight = 0;
  /** Fetches parked until data arrives or max.wait.ms passes (Kafka's fetch purgatory). */
  delayedFetches = 0;

  /**
   * Fetches again, split by who asks, as Kafka also reports them (RequestMetrics request=FetchConsumer
   * and request=FetchFollower): a follower's fetch parks up to replica.fetch.wait.max.ms, so
   * together they say little about the time consumers see.
   */
  readonly fetchConsumer: ApiMetrics;
  readonly fetchFollower: ApiMetrics;

  constructor() {
    const fetch = this.api(ApiKey.Fetch, 'Fetch');
    this.fetchConsumer = new ApiMetrics('FetchConsumer', fetch);
    this.fetchFollower = new ApiMetrics('FetchFollower', fetch);
  }

  api(apiKey: number, name: string): ApiMetrics {
    return (this.apis[apiKey] ??= new ApiMetrics(name));
  }

  /** Every API seen so far, then the fetches split by consumer and follower once any was seen. */
  *requestMetrics(): IterableIterator<ApiMetrics> {
    for (const m of this.apis) if (m) yield m;
    for (const m of [this.fetchConsumer, this.fetchFollower]) if (m.requests.value > 0) yield m;
  }

  topic(name: string): TopicMetrics {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = new TopicMetrics()));
    return t;
  }

  /** A produce to one partition of `topic` appended `bytes` in `messages` records. */
  produced(topic: string, bytes: number, messages: number): void {
    const t = this.topic(topic);
    t.bytesIn += bytes;
    t.messagesIn += messages;
    t.produceRequests++;
    const a = this.allTopics;
    a.bytesIn += bytes;
    a.messagesIn += messages;
    a.produceRequests++;
  }

  produceFailed(topic: string): void {
    const t = this.topic(topic);
    t.produceRequests++;
    t.failedProduceRequests++;
    this.allTopics.produceRequests++;
    this.allTopics.failedProduceRequests++;
  }

  /** A fetch of one partition of `topic` returned `bytes` of records (failed: an error code). */
  fetched(topic: string, bytes: number, failed: boolean): void {
    const t = this.topic(topic);
    t.bytesOut += bytes;
    t.fetchRequests++;
    this.allTopics.bytesOut += bytes;
    this.allTopics.fetchRequests++;
    if (failed) {
      t.failedFetchRequests++;
      this.allTopics.failedFetchRequests++;
    }
  }

  /** A deleted topic's series disappear (Kafka removes its BrokerTopicMetrics too). */
  removeTopic(name: string): void {
    this.topics.delete(name);
  }
}
