// Spark's part of the compat layer: Maven resolves pom.xml's dependencies into ~/.m2 (offline
// first), javac compiles src/ once per content hash into ~/.cache/tributary/compat-spark/<hash>/.
// sparkSetup() returns the classpath, or `SKIP: <why>` when Java, Maven or Maven Central is
// missing. Run directly (`node --import tsx test/compat/spark/setup.ts`), it only prepares: .ci/run
// does so before the tests, so that the first resolve (about 280 MB of jars) is not timed as a test.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mavenProgram, missingJavaTool } from '../maven-program.js';

export const sparkDir = import.meta.dirname;
const source = join(sparkDir, 'src/tributary/compat/SparkKafkaJob.java');

/**
 * The classpath (the compiled program first), or `SKIP: <why>`. In CI (.ci/run installs Java and
 * Maven) a missing tool is an error; an unreachable Maven Central skips there too, as every part
 * of the compat layer does.
 */
export function sparkSetup(): string {
  if (process.env.TRIBUTARY_SKIP_JAVA) return 'SKIP: TRIBUTARY_SKIP_JAVA is set';
  const missing = missingJavaTool(sparkDir);
  if (missing && process.env.CI) throw new Error(`${missing}: .ci/run installs it`);
  if (missing) return `SKIP: ${missing}`;
  return mavenProgram(sparkDir, [source], 'compat-spark', "Spark's dependencies");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cp = sparkSetup();
  if (cp.startsWith('SKIP: ')) {
    console.log(`spark: ${cp}`);
    process.exitCode = 1;
  } else console.log(`spark: ${cp.split(':').length - 1} jars resolved, program compiled`);
}
