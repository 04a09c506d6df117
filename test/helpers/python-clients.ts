// Runs the Python client scripts in test/clients/ with Debian's system interpreter, which holds
// python3-confluent-kafka (librdkafka) and python3-kafka.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './broker-process.js';

export const PYTHON = '/usr/bin/python3';

export interface PythonRun {
  status: number | null;
  /** The script's last stdout line, parsed as JSON ({ unparsed } when it is not JSON). */
  summary: Record<string, unknown>;
  /** Summary and stderr tail, for assertion messages. */
  output: string;
}

export function runPython(script: string, args: string[], timeoutMs = 120_000): PythonRun {
  const r = spawnSync(PYTHON, [join(repoRoot, 'test/clients', script), ...args], { encoding: 'utf8', timeout: timeoutMs });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(last) as Record<string, unknown>;
  } catch {
    summary = { unparsed: r.stdout };
  }
  return { status: r.status, summary, output: `${JSON.stringify(summary)}\n${(r.stderr ?? '').slice(-2000)}` };
}

function summarize(status: number | null, stdout: string, stderr: string): PythonRun {
  const last = stdout.trim().split('\n').pop() ?? '';
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(last) as Record<string, unknown>;
  } catch {
    summary = { unparsed: stdout };
  }
  return { status, summary, output: `${JSON.stringify(summary)}\n${stderr.slice(-2000)}` };
}

/** runPython without blocking the event loop: needed when the broker runs in this process. */
export function runPythonAsync(script: string, args: string[], timeoutMs = 120_000): Promise<PythonRun> {
  return runPythonFile(PYTHON, join(repoRoot, 'test/clients', script), args, timeoutMs);
}

/** Runs a Python script with the given interpreter (e.g. a venv's) and summarizes its output like runPython. */
export function runPythonFile(python: string, scriptPath: string, args: string[], timeoutMs: number): Promise<PythonRun> {
  return new Promise((resolve) => {
    const child = spawn(python, [scriptPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve(summarize(status, stdout, stderr));
    });
  });
}

export interface DumpedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** Reads a whole topic back through librdkafka (dump_topic.py), so our own code is not the judge. */
export function dumpTopic(bootstrap: string, topic: string, timeoutMs = 120_000): DumpedRecord[] {
  const r = spawnSync(PYTHON, [join(repoRoot, 'test/clients/dump_topic.py'), bootstrap, topic], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, `dump_topic failed: ${r.stderr}${(r.stdout ?? '').slice(-500)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DumpedRecord);
}
