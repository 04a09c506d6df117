// Drives a real broker process with fuzzed frames over several connections in parallel, while a
// probe checks every `probeEveryMs` that a fresh client still gets ApiVersions answered and the
// broker's RSS is sampled from /proc. See RELIABILITY.md.

import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { COMPACT_TOPIC, FUZZ_TOPIC, FrameGenerator, Prng, type Frame } from './frames.js';
import { elapse } from '../helpers/wait.js';

export interface FuzzOptions {
  seed: number;
  frames: number;
  connections?: number;
  /** Frames written per socket write (pipelined), followed by one sentinel request. */
  batch?: number;
  /** How long a batch may wait for its sentinel answer before the connection is dropped. */
  batchTimeoutMs?: number;
  probeEveryMs?: number;
  /** A probe not answered within this bound counts as a hang. */
  probeTimeoutMs?: number;
  overrides?: Record<string, string>;
  progress?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  batches: number;
  responses: number;
  /** Responses that answer no outstanding request of their connection, in order. */
  misrouted: number;
  /** Log lines at warn level other than "closing connection", by message. */
  otherWarnings: Record<string, number>;
  closedByBroker: number;
  timeouts: number;
  /** Fuzzing connections the broker refused (it must not refuse any while alive). */
  connectFailures: number;
  probes: number;
  probeFailures: number;
  maxProbeMs: number;
  maxRssMiB: number;
  crashed: boolean;
  exitCode: number | null;
  durationMs: number;
  /** "closing connection: ..." warnings, by reason. */
  closeReasons: Record<string, number>;
  /** Closes caused by an exception that is not a protocol/Kafka error (a handler bug). */
  handlerExceptions: Record<string, number>;
  /** Log lines at error level or above, or any other unexpected line (first few kept). */
  badLogs: string[];
  stderr: string;
  perApi: Record<string, number>;
}

const SENTINEL_BASE = 0x7f000000;

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** One fuzzing connection: writes a group of frames plus a sentinel, waits for the sentinel's answer, a close or a timeout. */
class FuzzConn {
  private socket: Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { id: number; resolve: (o: 'answer' | 'closed' | 'timeout') => void } | null = null;
  /** Correlation ids sent on this socket and not answered yet, in order. */
  private expected: number[] = [];
  responses = 0;
  /** Responses whose correlation id matches no outstanding request in order (a routing bug). */
  misrouted = 0;

  constructor(private readonly port: number) {}

  private async open(): Promise<Socket> {
    const s = await new Promise<Socket>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: this.port }, () => resolve(sock));
      sock.once('error', reject);
    });
    s.setNoDelay(true);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('close', () => {
      if (this.socket === s) this.socket = null;
      this.buffered = Buffer.alloc(0);
      const w = this.waiting;
      this.waiting = null;
      w?.resolve('closed');
    });
    this.buffered = Buffer.alloc(0);
    this.expected = [];
    this.socket = s;
    return s;
  }

  private onData(d: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, d]) : d;
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) break;
      const cid = size >= 4 ? this.buffered.readInt32BE(4) : -1;
      this.buffered = this.buffered.subarray(4 + size);
      this.responses++;
      const at = this.expected.indexOf(cid);
      if (at < 0) this.misrouted++;
      else this.expected.splice(0, at + 1); // requests before it were acks=0 produce (no answer)
      if (this.waiting && cid === this.waiting.id) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve('answer');
      }
    }
  }

  async send(frames: Buffer[], sentinel: Buffer | null, sentinelId: number, timeoutMs: number): Promise<'answer' | 'closed' | 'timeout'> {
    const s = this.socket ?? (await this.open());
    const outcome = new Promise<'answer' | 'closed' | 'timeout'>((resolve) => {
      const t = setTimeout(() => {
        this.waiting = null;
        resolve('timeout');
      }, timeoutMs);
      this.waiting = {
        id: sentinel ? sentinelId : -0x80000000,
        resolve: (o) => {
          clearTimeout(t);
          resolve(o);
        },
      };
    });
    for (const f of frames) if (f.length >= 12) this.expected.push(f.readInt32BE(8));
    if (sentinel) this.expected.push(sentinelId);
    s.write(sentinel ? Buffer.concat([...frames, sentinel]) : Buffer.concat(frames));
    if (!sentinel) s.end(); // framing is broken: nothing after this is meaningful
    const o = await outcome;
    if (o === 'timeout' || !sentinel) this.drop();
    return o;
  }

  drop(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }
}

async function advertisedApis(port: number): Promise<Map<number, [number, number]>> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request<{ apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[] }>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'fuzz',
      clientSoftwareVersion: '1',
    });
    return new Map(r.body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as [number, number]]));
  } finally {
    c.close();
  }
}

/** Creates the fuzz topics; their topic ids by name (Produce v13 and other id-keyed requests use them). */
async function createFuzzTopics(port: number): Promise<Map<string, string>> {
  const c = await RawClient.connect(port);
  try {
    const configs = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));
    const r = await c.request<{ topics: { name: string; topicId: string; errorCode: number }[] }>(ApiKey.CreateTopics, 7, {
      topics: [
        { name: FUZZ_TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: configs({ 'segment.bytes': String(256 * 1024) }) },
        {
          name: COMPACT_TOPIC,
          numPartitions: 2,
          replicationFactor: 1,
          assignments: [],
          configs: configs({
            'cleanup.policy': 'compact',
            'segment.bytes': String(64 * 1024),
            'min.cleanable.dirty.ratio': '0.01',
            'min.compaction.lag.ms': '0',
            'segment.ms': '2000',
            'delete.retention.ms': '1000',
          }),
        },
      ],
      timeoutMs: 10000,
      validateOnly: false,
    });
    for (const t of r.body.topics) if (t.errorCode !== 0) throw new Error(`cannot create ${t.name}: error ${t.errorCode}`);
    return new Map(r.body.topics.map((t) => [t.name, t.topicId]));
  } finally {
    c.close();
  }
}

/** Runs one campaign against a fresh broker process; never throws for broker misbehaviour, reports it. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const connections = opts.connections ?? 8;
  const batchSize = opts.batch ?? 1;
  const batchTimeoutMs = opts.batchTimeoutMs ?? 1500;
  const probeEveryMs = opts.probeEveryMs ?? 500;
  const probeTimeoutMs = opts.probeTimeoutMs ?? 5000;
  const log = opts.progress ?? (() => undefined);
  const started = Date.now();

  const broker: BrokerProcess = await startBrokerProcess({
    overrides: {
      'log.cleaner.backoff.ms': '500',
      'log.retention.check.interval.ms': '1000',
      ...opts.overrides,
    },
  });
  let stderr = '';
  broker.child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const pid = broker.child.pid!;
  const report: FuzzReport = {
    seed: opts.seed,
    frames: 0,
    batches: 0,
    responses: 0,
    misrouted: 0,
    otherWarnings: {},
    closedByBroker: 0,
    timeouts: 0,
    connectFailures: 0,
    probes: 0,
    probeFailures: 0,
    maxProbeMs: 0,
    maxRssMiB: 0,
    crashed: false,
    exitCode: null,
    durationMs: 0,
    closeReasons: {},
    handlerExceptions: {},
    badLogs: [],
    stderr: '',
    perApi: {},
  };

  const drainLogs = () => {
    for (const e of broker.logs.splice(0)) {
      const msg = typeof e.msg === 'string' ? e.msg : '';
      const level = Number(e.level ?? 0);
      if (msg.startsWith('closing connection: ')) {
        const errName = e.error as string | undefined;
        const reason = msg.slice('closing connection: '.length).replace(/\d+/g, 'N').slice(0, 120);
        if (errName && errName !== 'ProtocolError' && errName !== 'KafkaError') {
          const k = `${errName}: ${reason}`;
          report.handlerExceptions[k] = (report.handlerExceptions[k] ?? 0) + 1;
        } else report.closeReasons[reason] = (report.closeReasons[reason] ?? 0) + 1;
      } else if (level >= 50 || /unhandled|uncaught/i.test(msg)) {
        if (report.badLogs.length < 20) report.badLogs.push(JSON.stringify(e).slice(0, 2000));
        else report.badLogs.length++;
      } else if (level >= 40) {
        const k = msg.slice(0, 120);
        report.otherWarnings[k] = (report.otherWarnings[k] ?? 0) + 1;
      }
    }
  };

  let stop = false;
  try {
    const topicIds = await createFuzzTopics(broker.port);
    const advertised = await advertisedApis(broker.port);
    const gen = new FrameGenerator(new Prng(opts.seed), { advertised, topicIds });

    let sentinelSeq = 0;
    // Frames are drawn from the generator in one deterministic sequence and split into batches.
    const nextBatch = (): Frame[] | null => {
      if (report.frames >= opts.frames) return null;
      const out: Frame[] = [];
      while (out.length < batchSize && report.frames < opts.frames) {
        const f = gen.next();
        report.frames++;
        const k = `${f.apiKey}`;
        report.perApi[k] = (report.perApi[k] ?? 0) + 1;
        out.push(f);
        if (f.breaksFraming) break;
      }
      return out;
    };

    const worker = async () => {
      const conn = new FuzzConn(broker.port);
      while (!stop) {
        const frames = nextBatch();
        if (!frames) break;
        const breaks = frames[frames.length - 1]!.breaksFraming;
        const id = SENTINEL_BASE + (sentinelSeq++ % 0xffffff);
        let outcome: 'answer' | 'closed' | 'timeout';
        try {
          outcome = await conn.send(
            frames.map((f) => f.bytes),
            breaks ? null : gen.sentinel(id),
            id,
            breaks ? 500 : batchTimeoutMs,
          );
        } catch {
          // cannot connect: the broker died (checked below) or is refusing connections
          report.connectFailures++;
          outcome = 'closed';
          await elapse(100); // a back-off before the next connection attempt
        }
        report.batches++;
        if (outcome === 'closed' && !breaks) report.closedByBroker++;
        if (outcome === 'timeout' && !breaks) report.timeouts++;
        if (broker.child.exitCode !== null || broker.child.signalCode !== null) {
          report.crashed = true;
          stop = true;
        }
      }
      report.responses += conn.responses;
      report.misrouted += conn.misrouted;
      conn.drop();
    };

    const probe = async () => {
      let lastReport = Date.now();
      while (!stop) {
        await elapse(probeEveryMs); // the probing period
        if (stop) break;
        report.maxRssMiB = Math.max(report.maxRssMiB, rssMiB(pid));
        const t0 = Date.now();
        let ok = false;
        try {
          const c = await Promise.race([RawClient.connect(broker.port), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('connect timeout')), probeTimeoutMs))]);
          try {
            const remaining = Math.max(1, probeTimeoutMs - (Date.now() - t0));
            const pending = c.nextFrame(remaining);
            c.writeRaw(RawClient.frame(ApiKey.ApiVersions, 3, 1, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' }));
            await pending;
            ok = true;
          } finally {
            c.close();
          }
        } catch {
          ok = false;
        }
        const ms = Date.now() - t0;
        report.probes++;
        report.maxProbeMs = Math.max(report.maxProbeMs, ms);
        if (!ok) report.probeFailures++;
        if (broker.child.exitCode !== null || broker.child.signalCode !== null) {
          report.crashed = true;
          stop = true;
        }
        drainLogs();
        if (Date.now() - lastReport >= 5000) {
          lastReport = Date.now();
          log(
            `frames ${report.frames} batches ${report.batches} closed ${report.closedByBroker} timeouts ${report.timeouts} ` +
              `probes ${report.probes} (failed ${report.probeFailures}, max ${report.maxProbeMs} ms) rss ${report.maxRssMiB.toFixed(0)} MiB`,
          );
        }
      }
    };

    const probing = probe();
    await Promise.all(Array.from({ length: connections }, () => worker()));
    // Let delayed work (timestamp lookups, the cleaner) settle, then a last probe: time on
    // purpose, in which a late crash or memory growth would show.
    await elapse(Math.max(2 * probeEveryMs, 1500));
    stop = true;
    await probing;
    report.maxRssMiB = Math.max(report.maxRssMiB, rssMiB(pid));
  } finally {
    stop = true;
    report.crashed ||= broker.child.exitCode !== null || broker.child.signalCode !== null;
    drainLogs();
    if (!report.crashed) report.exitCode = await broker.stop();
    else report.exitCode = broker.child.exitCode;
    drainLogs();
    broker.cleanup();
    report.stderr = stderr;
    report.durationMs = Date.now() - started;
  }
  return report;
}

export function summarize(r: FuzzReport): string {
  const lines = [
    `seed ${r.seed}: ${r.frames} frames in ${(r.durationMs / 1000).toFixed(1)} s (${r.batches} batches), ` +
      `${r.responses} responses, ${r.closedByBroker} connections closed by the broker, ${r.timeouts} batch timeouts, ${r.connectFailures} refused connects`,
    `crashed: ${r.crashed} (exit ${r.exitCode}), probes ${r.probes}, probe failures ${r.probeFailures}, max probe ${r.maxProbeMs} ms, max RSS ${r.maxRssMiB.toFixed(0)} MiB`,
    `misrouted responses: ${r.misrouted}`,
    `close reasons: ${JSON.stringify(r.closeReasons)}`,
    `other warnings: ${JSON.stringify(r.otherWarnings)}`,
    `handler exceptions: ${JSON.stringify(r.handlerExceptions)}`,
    `bad log lines: ${r.badLogs.length}`,
    ...r.badLogs.slice(0, 5),
  ];
  if (r.stderr) lines.push(`stderr: ${r.stderr.slice(0, 2000)}`);
  return lines.join('\n');
}
