// Where the generator's Apache Kafka message schemas come from. They ship inside
// org.apache.kafka:kafka-clients on Maven Central as common/message/*.json; Maven resolves the jar
// into ~/.m2 and the schemas are extracted once into ~/.cache/tributary/kafka-schemas/<version>/.
// Nothing of it is kept in the repository: only the generated TypeScript is committed.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/** The Apache Kafka release whose schemas the committed code is generated from. */
export const KAFKA_SCHEMA_VERSION = '4.4.0';

export interface SchemaSource {
  dir: string;
  /** The Kafka version the schemas are from ('env' for KAFKA_SCHEMA_DIR). */
  version: string;
  /** True when this is the 4.0 copy beside the repository because the jar could not be had. */
  fallback: boolean;
  /** Why the fallback was taken. */
  reason?: string;
}

const ARTIFACT = `org.apache.kafka:kafka-clients:${KAFKA_SCHEMA_VERSION}`;

function m2Repository(): string {
  return process.env.MAVEN_REPO_LOCAL ?? path.join(os.homedir(), '.m2', 'repository');
}

export function kafkaClientsJarPath(): string {
  return path.join(m2Repository(), 'org', 'apache', 'kafka', 'kafka-clients', KAFKA_SCHEMA_VERSION, `kafka-clients-${KAFKA_SCHEMA_VERSION}.jar`);
}

export function schemaCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tributary', 'kafka-schemas', KAFKA_SCHEMA_VERSION);
}

/** Asks Maven for the jar: offline first (a warm ~/.m2 needs no network), then Maven Central. */
function mavenGet(): string | null {
  const args = ['-q', '-B', 'dependency:get', `-Dartifact=${ARTIFACT}`, '-Dtransitive=false'];
  for (const extra of [['-o'], []]) {
    const r = spawnSync('mvn', [...extra, ...args], { stdio: 'ignore', timeout: 300_000 });
    if (r.error) return `cannot run mvn (${r.error.message})`;
    if (r.status === 0 && fs.existsSync(kafkaClientsJarPath())) return null;
  }
  return `mvn dependency:get ${ARTIFACT} failed (Maven Central unreachable?)`;
}

/** The entries of a zip file whose names pass `want`, inflated (stored and deflated entries only). */
export function readZipEntries(file: string, want: (name: string) => boolean): Map<string, Buffer> {
  const zip = fs.readFileSync(file);
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry`);
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localHeader = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (!want(name)) continue;
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`${file}: bad local header for ${name}`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) out.set(name, Buffer.from(data));
    else if (method === 8) out.set(name, zlib.inflateRawSync(data));
    else throw new Error(`${file}: ${name} uses zip method ${method}`);
  }
  return out;
}

/** Extracts common/message/*.json and the NOTICE of the jar into the cache directory. */
function extract(jar: string, dir: string): void {
  const entries = readZipEntries(jar, (n) => (n.startsWith('common/message/') && n.endsWith('.json')) || n === 'NOTICE');
  if (![...entries.keys()].some((n) => n.endsWith('.json'))) throw new Error(`${jar} has no common/message/*.json`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const [name, data] of entries) fs.writeFileSync(path.join(tmp, path.basename(name)), data);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

/**
 * The schema directory: KAFKA_SCHEMA_DIR if set; else the 4.4 schemas from the kafka-clients jar
 * (resolved with Maven when `maven` is true and ~/.m2 lacks it); else, with a reason, the Kafka
 * 4.0 copy beside the repository (../shared/kafka-protocol/messages).
 */
export function resolveSchemas(opts: { maven: boolean; repoRoot: string }): SchemaSource {
  const env = process.env.KAFKA_SCHEMA_DIR;
  if (env) return { dir: env, version: 'env', fallback: false };
  const dir = schemaCacheDir();
  let reason: string | undefined;
  if (!fs.existsSync(path.join(dir, 'ApiVersionsRequest.json'))) {
    if (!fs.existsSync(kafkaClientsJarPath())) reason = opts.maven ? (mavenGet() ?? undefined) : `${ARTIFACT} is not in ${m2Repository()} (run npm run codegen)`;
    if (reason === undefined) {
      try {
        extract(kafkaClientsJarPath(), dir);
      } catch (e) {
        reason = `cannot read the schemas from ${kafkaClientsJarPath()}: ${(e as Error).message}`;
      }
    }
  }
  if (reason === undefined) return { dir, version: KAFKA_SCHEMA_VERSION, fallback: false };
  return { dir: path.resolve(opts.repoRoot, '..', 'shared', 'kafka-protocol', 'messages'), version: '4.0', fallback: true, reason };
}
