// The broker's own produce-to-consumer latency, with as little client as possible: raw Kafka
// requests over two connections of src/client (framing and codecs only, no batching, no
// polling loop). A Fetch parks at the log end (min bytes 1), a Produce of one 100-byte record
// (acks=1) follows, and the time from sending the Produce to the Fetch's answer is one sample.
// The JVM's EndToEndLatency measures the same path through two Java clients, whose own overhead
// is most of its figure on two cores; this shows what is left when the client is thin.
import { parseHostPort } from '../client/cluster.js';
import { Connection } from '../client/connection.js';
import { ApiKey, type FetchResponse, type ProduceResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { systemClock } from '../common/clock.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** The answers of a partition still being set up. */
const RETRIABLE = new Set<number>([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE]);
// Name-based versions: the probe then needs no topic id.
const FETCH_VERSION = 12;
const PRODUCE_VERSION = 12;

export interface RawLatency {
  samples: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  avg_ms: number;
  /** The probe's own CPU seconds (it runs in the harness's process). */
  client_cpu_s: number;
}

/** `iterations` produce → parked fetch round trips on partition 0 of `topic`, within `deadlineMs`. */
export async function rawProduceToFetchLatency(bootstrap: string, topic: string, iterations: number, deadlineMs: number): Promise<RawLatency> {
  const { host, port } = parseHostPort(bootstrap);
  const cpu0 = process.cpuUsage();
  const fetcher = await Connection.connect({ host, port, clientId: 'bench-raw-latency' });
  const producer = await Connection.connect({ host, port, clientId: 'bench-raw-latency' });
  try {
    const value = Buffer.alloc(100, 'x');
    const produce = async (retriable = false): Promise<number> => {
      const res = await producer.request<ProduceResponse>(
        ApiKey.Produce,
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 30_000,
          topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }],
        },
        { version: PRODUCE_VERSION },
      );
      const p = res.responses[0]!.partitionResponses[0]!;
      if (retriable && RETRIABLE.has(p.errorCode)) return -1;
      if (p.errorCode !== 0) throw new Error(`raw latency probe: produce failed with error ${p.errorCode}`);
      return Number(p.baseOffset);
    };
    // Kafka answers CreateTopics before its broker leads the new partition: the first produce
    // waits for that, as a client's retries would.
    const ready = systemClock.monotonicMs() + 10_000;
    let first = await produce(true);
    while (first < 0 && systemClock.monotonicMs() < ready) {
      await new Promise((r) => setTimeout(r, 50));
      first = await produce(true);
    }
    if (first < 0) first = await produce(); // still not ready: fails with the broker's error
    const fetchAt = (offset: number) =>
      fetcher.request<FetchResponse>(
        ApiKey.Fetch,
        {
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1 },
          maxWaitMs: 5_000,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic,
              topicId: ZERO_UUID,
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: offset,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes: 1 << 20,
                  replicaDirectoryId: ZERO_UUID,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        { version: FETCH_VERSION },
      );
    let next = first + 1;
    const samples: number[] = [];
    const end = systemClock.monotonicMs() + deadlineMs;
    while (samples.length < iterations && systemClock.monotonicMs() < end) {
      const parked = fetchAt(next);
      // The Fetch must reach the broker and park before the Produce: 1 ms is ample on loopback.
      await new Promise((r) => setTimeout(r, 1));
      const t0 = systemClock.monotonicMs();
      const acked = produce();
      const res = await parked;
      const took = systemClock.monotonicMs() - t0;
      await acked;
      const records = res.responses[0]?.partitions[0]?.records;
      if (!records || records.length === 0) throw new Error('raw latency probe: the parked fetch returned no record');
      samples.push(took);
      next++;
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))]!;
    const cpu = process.cpuUsage(cpu0);
    return {
      samples: samples.length,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      p999_ms: at(0.999),
      avg_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      client_cpu_s: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    fetcher.close();
    producer.close();
  }
}
