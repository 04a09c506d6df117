// The Java compat layer's plumbing: Maven resolves the dependencies (pom.xml, one classpath per
// profile) into ~/.m2, javac compiles src/ once per content hash into
// ~/.cache/tributary/compat-java/<hash>/, and the tests run JVMs with `java -cp`. When Java,
// Maven or Maven Central is missing, javaSetup() returns the reason and the tests skip with it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compileInto, missingJavaTool, resolveClasspath } from '../maven-program.js';

export const javaDir = import.meta.dirname;

export type Profile = 'k4' | 'k39' | 'connect' | 'debezium';

export interface JavaSetup {
  /** Compiled test programs (tributary.compat.*). */
  classes: string;
  /** Dependency classpath per Maven profile. */
  cp: Record<Profile, string>;
}

/** Small heaps (the machine is shared), fast start-up, Kafka's own logging at WARN. */
export const JVM_OPTS = ['-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Djava.awt.headless=true'];

let cached: JavaSetup | string | undefined;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.java')) out.push(p);
  }
  return out.sort();
}

/**
 * Resolves and compiles once (per content hash of pom.xml and the sources); returns the
 * classpaths, or a sentence saying why the Java tests cannot run here.
 */
export function javaSetup(): JavaSetup | string {
  if (cached !== undefined) return cached;
  cached = setup();
  if (typeof cached === 'string') process.stderr.write(`compat/java: SKIPPED: ${cached}\n`);
  return cached;
}

function setup(): JavaSetup | string {
  if (process.env.TRIBUTARY_SKIP_JAVA) return `TRIBUTARY_SKIP_JAVA is set`;
  const missing = missingJavaTool(javaDir);
  if (missing) return missing;
  const sources = sourceFiles(join(javaDir, 'src'));
  const hash = createHash('sha256');
  hash.update(readFileSync(join(javaDir, 'pom.xml')));
  for (const s of sources) hash.update(s).update(readFileSync(s));
  const dir = join(homedir(), '.cache', 'tributary', 'compat-java', hash.digest('hex').slice(0, 16));
  const cpFile = (p: Profile) => join(dir, `cp-${p}.txt`);
  if (!existsSync(join(dir, 'ready'))) {
    // Test files run two at a time: one of them prepares, the others wait for it.
    const lock = `${dir}.lock`;
    mkdirSync(join(dir, '..'), { recursive: true });
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        if (existsSync(join(dir, 'ready'))) break;
        if (Date.now() > deadline) return `timed out waiting for another test file to prepare ${dir} (remove ${lock} if it is stale)`;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      }
    }
    try {
      if (!existsSync(join(dir, 'ready'))) {
        const failed = prepare(dir, cpFile);
        if (failed) return failed;
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  const read = (p: Profile) => readFileSync(cpFile(p), 'utf8').trim();
  return { classes: join(dir, 'classes'), cp: { k4: read('k4'), k39: read('k39'), connect: read('connect'), debezium: read('debezium') } };
}

/** Resolves every profile's classpath and compiles the sources into dir; returns why not, or undefined. */
function prepare(dir: string, cpFile: (p: Profile) => string): string | undefined {
  const sources = sourceFiles(join(javaDir, 'src'));
  const profiles: Profile[] = ['k4', 'k39', 'connect', 'debezium'];
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of profiles) {
    const why = resolveClasspath(javaDir, [`-P${p}`], cpFile(p));
    if (why !== undefined) return `Maven could not resolve the ${p} dependencies (Maven Central unreachable?): ${why}`;
  }
  compileInto(dir, readFileSync(cpFile('k4'), 'utf8').trim(), sources, javaDir);
  return undefined;
}

/** The slf4j binding on the k4 path, for classpaths that lack one. */
export function slf4jSimple(setup: JavaSetup): string {
  return setup.cp.k4.split(':').find((j) => j.includes('slf4j-simple')) ?? '';
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface JavaProcess {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching (from line `from` on), rejects after the timeout or on exit. */
  waitForLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Writes a command line to stdin and waits for the first answer line matching. */
  ask(command: string, re: RegExp, timeoutMs?: number): Promise<string>;
  /** stdout lines so far. */
  lines(): string[];
  exited: Promise<number | null>;
  /** SIGKILL (what kill -9 does) and wait. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/** A record a share-group member (ShareMember.java) was given: its line `RECORD <partition> <offset> <delivery count> <value>`. */
export interface ShareDelivery {
  partition: number;
  offset: number;
  deliveryCount: number;
  value: string;
}

/** Every record a ShareMember process has printed so far, in the order it was given them. */
export function shareDeliveries(p: JavaProcess): ShareDelivery[] {
  return p
    .lines()
    .filter((l) => l.startsWith('RECORD '))
    .map((l) => {
      const [, partition, offset, count, ...value] = l.split(' ');
      return { partition: Number(partition), offset: Number(offset), deliveryCount: Number(count), value: value.join(' ') };
    });
}

/** Starts a JVM: `java <JVM_OPTS> -cp <cp> <main> <args>`. Killed when the test process exits. */
export function spawnJava(cp: string, main: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; jvmOpts?: string[] } = {}): JavaProcess {
  const child = spawn('java', [...JVM_OPTS, ...(opts.jvmOpts ?? []), '-cp', cp, main, ...args], {
    cwd: opts.cwd ?? javaDir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  children.add(child);
  let out = '';
  let err = '';
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const f of listeners) f(l);
  });
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => {
    err += d.toString();
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code) => {
      children.delete(child);
      res(code);
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    lines: () => lines,
    ask(command, re, timeoutMs = 30_000) {
      const from = lines.length;
      child.stdin.write(`${command}\n`);
      return this.waitForLine(re, timeoutMs, from);
    },
    waitForLine(re, timeoutMs, from = 0) {
      const found = lines.slice(from).find((l) => re.test(l));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          listeners.delete(onLine);
        };
        const onLine = (l: string) => {
          if (re.test(l)) {
            done();
            resolve(l);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line matching ${re} in ${timeoutMs} ms; stderr tail:\n${err.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(onLine);
        void exited.then((code) => {
          if (listeners.has(onLine)) {
            done();
            reject(new Error(`JVM exited (${code}) before a line matching ${re}; stderr tail:\n${err.slice(-3000)}`));
          }
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs a JVM to completion. */
export async function runJava(
  cp: string,
  main: string,
  args: string[],
  timeoutMs: number,
  opts: { env?: Record<string, string>; jvmOpts?: string[] } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnJava(cp, main, args, opts);
  p.child.stdin!.end();
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

export interface ToolResult {
  exit: number;
  out: string;
  err: string;
}

/** One JVM running Kafka's CLI tools one after the other (ToolRunner.java). */
export class Tools {
  private queue: Promise<unknown> = Promise.resolve();
  private results: ((r: ToolResult) => void)[] = [];

  private constructor(readonly proc: JavaProcess) {
    createInterface({ input: proc.child.stdout! }).on('line', (l) => {
      if (l.startsWith('TOOLRESULT ')) this.results.shift()?.(JSON.parse(l.slice('TOOLRESULT '.length)) as ToolResult);
    });
  }

  static async start(setup: JavaSetup): Promise<Tools> {
    const proc = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.ToolRunner', [], { jvmOpts: ['--add-opens', 'java.base/java.lang=ALL-UNNAMED'] });
    await proc.waitForLine(/^TOOLRUNNER READY$/, 60_000);
    return new Tools(proc);
  }

  /** Runs `main` of a tool class with these arguments (and stdin), as its shell script would. */
  run(main: string, args: string[], stdin = '', timeoutMs = 120_000): Promise<ToolResult> {
    const next = this.queue.then(
      () =>
        new Promise<ToolResult>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${main} ${args.join(' ')} did not finish in ${timeoutMs} ms`)), timeoutMs);
          this.results.push((r) => {
            clearTimeout(timer);
            resolve(r);
          });
          this.proc.child.stdin!.write(`${JSON.stringify({ main, args, stdin })}\n`);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `main` against `bootstrap` (its --bootstrap-server), asserts that it exited 0 (the message
   * holds its stdout and stderr tail) and returns its stdout: for the steps a test only goes on from
   * when the tool worked.
   */
  async runOk(bootstrap: string, main: string, args: string[], stdin = ''): Promise<string> {
    const r = await this.run(main, ['--bootstrap-server', bootstrap, ...args], stdin);
    assert.equal(r.exit, 0, `${main} ${args.join(' ')}: ${r.out}\n${r.err.slice(-3000)}`);
    return r.out;
  }

  async close(): Promise<void> {
    this.proc.child.stdin!.end();
    const t = setTimeout(() => this.proc.child.kill('SIGKILL'), 10_000);
    await this.proc.exited;
    clearTimeout(t);
  }
}
