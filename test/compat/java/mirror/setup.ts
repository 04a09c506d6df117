// MirrorMaker 2's part of the compat layer: Maven resolves pom.xml's dependencies (connect-mirror
// and its Connect runtime) into ~/.m2 (offline first), javac compiles src/ once per content hash
// into ~/.cache/tributary/compat-mirror/<hash>/. mirrorSetup() returns the classpath, or
// `SKIP: <why>` when Java, Maven or Maven Central is missing. Run directly (`node --import tsx
// test/compat/java/mirror/setup.ts`), it only prepares: .ci/run does so before the tests, so that
// the first resolve is not timed as a test.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mavenProgram, missingJavaTool } from '../../maven-program.js';

export const mirrorDir = import.meta.dirname;
const source = join(mirrorDir, 'src/tributary/compat/MirrorOffsets.java');

/** The classpath (the compiled program first), or `SKIP: <why>`. */
export function mirrorSetup(): string {
  if (process.env.TRIBUTARY_SKIP_JAVA) return 'SKIP: TRIBUTARY_SKIP_JAVA is set';
  const missing = missingJavaTool(mirrorDir);
  if (missing) return `SKIP: ${missing}`;
  return mavenProgram(mirrorDir, [source], 'compat-mirror', "MirrorMaker 2's dependencies");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cp = mirrorSetup();
  if (cp.startsWith('SKIP: ')) {
    console.log(`mirror-maker: ${cp}`);
    process.exitCode = 1;
  } else console.log(`mirror-maker: ${cp.split(':').length - 1} jars resolved, program compiled`);
}
