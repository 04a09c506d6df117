// Runs the `tributary` command (the compiled build, as users run it) or any other command as a
// child process, without blocking the event loop (a broker in the test process keeps serving).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiled, repoRoot } from './dist.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `tributary ARGS` from dist/ (checked not to be stale), with `input` on stdin. */
export function cli(args: string[], input?: string, timeoutMs = 60_000): Promise<Run> {
  return run(process.execPath, [compiled('cli/tributary.js'), ...args], input, timeoutMs);
}

/** Any command, with `input` on stdin; rejects if it does not exit within `timeoutMs`. */
export function run(command: string, args: string[], input?: string, timeoutMs = 60_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(input ?? '');
  });
}

export function assertOneLineError(r: Run, type: string): void {
  assert.notEqual(r.code, 0, `expected a failure, got stdout ${r.stdout}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^tributary: ${type}(: .+)?$`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** Writes a client properties file (`--command-config`) of `lines` as `dir/file`; returns its path. */
export function writeProperties(dir: string, file: string, lines: string[]): string {
  const path = join(dir, file);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}
