// A test file whose tests all passed but whose process does not exit holds a stray handle (a
// timer or socket someone did not close). node --test then waits for the file's whole timeout
// (10 min) and fails it without saying what. Called in such a file, this names the resources
// still active `ms` after its tests ended and then ends the process with the tests' own exit
// code, so the leak is reported in the log (and tracked as a bug) instead of hanging the run.
import { after } from 'node:test';

export function reportStrayHandlesAfterTests(file: string, ms = 15_000): void {
  after(() => {
    setTimeout(() => {
      console.error(`${file}: still running ${ms} ms after its tests ended; active resources: ${JSON.stringify(process.getActiveResourcesInfo())}`);
      process.exit(process.exitCode ?? 0);
    }, ms).unref();
  });
}
