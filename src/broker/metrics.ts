// The broker's own counters: plain numbers bumped on the request path, read when something
// (src/http/metrics.ts, the Prometheus exposition) asks for them. Nothing here allocates per
// request once an API or topic has been seen, and nothing knows of Prometheus or HTTP: gauges
// (partitions, leaders, log sizes, lag) are computed from the broker's state at scrape time.

/** Upper bounds (ms) of the request latency histogram's buckets; +Inf is implicit. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

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

/** One API's request metrics (Kafka's kafka.network:type=RequestMetrics,request=<api>). */
export class ApiMetrics {
  readonly requests = new Counter();
  /** Time from the request's decoding to its response being framed (Kafka's TotalTimeMs, less the socket). */
  readonly totalTimeMs = new Histogram();
  /** Responses carrying an error code, by Kafka error code (top-level and per-partition codes the handlers report). */
  readonly errors = new Map<number, Counter>();
  constructor(readonly name: string) {}
  error(code: number, by = 1): void {
    let c = this.errors.get(code);
    if (!c) this.errors.set(code, (c = new Counter()));
    c.inc(by);
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
  readonly fetchConsumer = new ApiMetrics('FetchConsumer');
  readonly fetchFollower = new ApiMetrics('FetchFollower');

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
