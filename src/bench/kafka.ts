// Apache Kafka for the side-by-side benchmark: resolved from Maven Central into a cache outside
// the repository (~/.cache/tributary/kafka-<version>/libs, through a throwaway pom and
// `mvn dependency:copy-dependencies`), formatted and started as a single-node KRaft broker or as
// a cluster of combined broker+controller nodes (static quorum, one cluster id).
// Nothing from Maven is ever written into the repository.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { newClusterId } from '../common/cluster-id.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Newest first; the default is the first of these that resolves (Maven Central serves 4.0.1-4.4.0). */
export const KAFKA_VERSIONS = ['4.4.0', '4.3.2', '4.3.1', '4.2.2', '4.1.2', '4.0.2', '4.0.1'];

export const cacheRoot = () => process.env.TRIBUTARY_CACHE ?? join(homedir(), '.cache', 'tributary');

export interface KafkaInstall {
  version: string;
  /** The runtime classpath: every jar of kafka_2.13 and kafka-tools with their dependencies. */
  classpath: string;
}

function pom(version: string): string {
  const dep = (a: string) => `<dependency><groupId>org.apache.kafka</groupId><artifactId>${a}</artifactId><version>${version}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tributary.bench</groupId><artifactId>kafka-resolve</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>${dep('kafka_2.13')}${dep('kafka-tools')}</dependencies>
</project>
`;
}

/** Resolves one version (cached: a `complete` marker is written once every jar is in place). */
export function resolveKafkaVersion(version: string, log: (m: string) => void): KafkaInstall {
  const dir = join(cacheRoot(), `kafka-${version}`);
  const libs = join(dir, 'libs');
  const marker = join(dir, 'complete');
  if (!existsSync(marker)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pom.xml'), pom(version));
    rmSync(libs, { recursive: true, force: true });
    log(`resolving Apache Kafka ${version} from Maven Central into ${dir}`);
    const r = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.error) throw new Error(`cannot run mvn (${r.error.message}); install Maven to benchmark against Apache Kafka`);
    if (r.status !== 0) throw new Error(`Maven could not resolve org.apache.kafka:kafka_2.13:${version}: ${(r.stdout + r.stderr).trim().split('\n').slice(-5).join(' | ')}`);
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  }
  const jars = readdirSync(libs)
    .filter((f) => f.endsWith('.jar'))
    .sort();
  if (!jars.some((j) => j.startsWith('kafka-tools-'))) throw new Error(`${libs} has no kafka-tools jar`);
  return { version, classpath: jars.map((j) => join(libs, j)).join(':') };
}

/** --kafka-version, or the newest of KAFKA_VERSIONS that Maven resolves (a cached one first). */
export function resolveKafka(version: string | undefined, log: (m: string) => void): KafkaInstall {
  if (version) return resolveKafkaVersion(version, log);
  const cached = KAFKA_VERSIONS.find((v) => existsSync(join(cacheRoot(), `kafka-${v}`, 'complete')));
  if (cached !== undefined && cached === KAFKA_VERSIONS[0]) return resolveKafkaVersion(cached, log);
  const errors: string[] = [];
  for (const v of KAFKA_VERSIONS) {
    try {
      return resolveKafkaVersion(v, log);
    } catch (err) {
      errors.push((err as Error).message);
      if (cached) return resolveKafkaVersion(cached, log);
      // Unreachable repository: every other version would fail the same way.
      if (/transfer|resolve host|UnknownHost|Connect|timed out|offline/i.test((err as Error).message)) break;
    }
  }
  throw new Error(errors.join('; '));
}

/** The broker heap kafka-server-start.sh gives by default; every node of the benchmark gets it. */
export const KAFKA_HEAP = '1G';

/** What kafka-run-class.sh / kafka-server-start.sh pass the broker JVM, with the 1 GiB heap. */
export const KAFKA_BROKER_JVM = [
  `-Xms${KAFKA_HEAP}`,
  `-Xmx${KAFKA_HEAP}`,
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

/** Java for the perf tools, as kafka-producer-perf-test.sh runs them (512 MiB heap). */
export function javaTool(install: KafkaInstall, mainClass: string, args: string[]): [string, string[]] {
  return ['java', ['-Xmx512M', '-XX:+UseG1GC', '-Djava.awt.headless=true', '-cp', install.classpath, mainClass, ...args]];
}

export interface KafkaNode {
  dir: string;
  port: number;
  controllerPort: number;
  settings: Record<string, string>;
  /** node.id; 1 unless part of a cluster. */
  nodeId?: number;
  /** controller.quorum.voters of a cluster (`id@host:port,...`); unset, this node alone. */
  voters?: string;
  /** The cluster id every node of one cluster is formatted with; unset, a fresh one. */
  clusterId?: string;
  /** Opens JMX on this port (kafka-run-class.sh's JMX_PORT), for its request metrics. */
  jmxPort?: number;
  /** A second client listener, SSL, on this port with this PKCS12 key store. */
  ssl?: { port: number; keystore: string; password: string };
}

/** The key store settings of an SSL listener, by Kafka's names (Tributary takes the same). */
export function sslKeystore(ssl: { keystore: string; password: string }): Record<string, string> {
  return { 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': ssl.keystore, 'ssl.keystore.password': ssl.password };
}

/** Writes server.properties and formats the log dir (once per node). */
export function formatKafka(install: KafkaInstall, node: KafkaNode): string {
  const logDir = join(node.dir, 'data');
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(node.nodeId ?? 1),
    'controller.quorum.voters': node.voters ?? `${node.nodeId ?? 1}@127.0.0.1:${node.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    ...node.settings,
  };
  if (node.ssl) {
    props.listeners += `,SSL://127.0.0.1:${node.ssl.port}`;
    props['advertised.listeners'] += `,SSL://127.0.0.1:${node.ssl.port}`;
    props['listener.security.protocol.map'] += ',SSL:SSL';
    Object.assign(props, sslKeystore(node.ssl));
  }
  const file = join(node.dir, 'server.properties');
  writeFileSync(
    file,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  // Errors only on the console; the broker's own log goes nowhere we have to clean.
  writeFileSync(
    join(node.dir, 'log4j2.yaml'),
    'Configuration:\n  Appenders:\n    Console:\n      name: STDOUT\n      PatternLayout:\n        pattern: "[%d] %p %m (%c)%n"\n  Loggers:\n    Root:\n      level: WARN\n      AppenderRef:\n        - ref: STDOUT\n',
  );
  const r = spawnSync(
    'java',
    [
      '-Xmx256M',
      `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.yaml')}`,
      '-cp',
      install.classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      node.clusterId ?? newClusterId(),
      '-c',
      file,
    ],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.status !== 0) throw new Error(`kafka-storage format failed: ${(r.stdout + r.stderr).slice(-800)}`);
  return file;
}

export function startKafkaProcess(install: KafkaInstall, node: KafkaNode): ChildProcess {
  const child = spawn(
    'java',
    [
      ...KAFKA_BROKER_JVM,
      ...(node.jmxPort ? kafkaJmxFlags(node.jmxPort) : []),
      `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.yaml')}`,
      '-cp',
      install.classpath,
      'kafka.Kafka',
      join(node.dir, 'server.properties'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Drain its output (kept in a file for a post-mortem) so a chatty broker never blocks.
  const out: Buffer[] = [];
  const keep = (b: Buffer) => {
    out.push(b);
    if (out.length > 2000) out.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('exit', () => writeFileSync(join(node.dir, 'kafka.out'), Buffer.concat(out)));
  return child;
}

/** The JVM flags that open Kafka's JMX on 127.0.0.1:`port` (RMI on the same port, no auth). */
export function kafkaJmxFlags(port: number): string[] {
  return [
    '-Dcom.sun.management.jmxremote',
    '-Dcom.sun.management.jmxremote.authenticate=false',
    '-Dcom.sun.management.jmxremote.ssl=false',
    `-Dcom.sun.management.jmxremote.port=${port}`,
    `-Dcom.sun.management.jmxremote.rmi.port=${port}`,
    '-Dcom.sun.management.jmxremote.host=127.0.0.1',
    '-Djava.rmi.server.hostname=127.0.0.1',
  ];
}

export function kafkaOutput(node: KafkaNode): string {
  const f = join(node.dir, 'kafka.out');
  return existsSync(f) ? readFileSync(f, 'utf8').slice(-2000) : '';
}
