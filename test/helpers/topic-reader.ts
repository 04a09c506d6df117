// Reads a whole topic with Tributary's own client: every partition from its earliest offset to
// the end it has when the read starts, for tests that compare what a third-party tool wrote.
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';

export async function readWholeTopic(bootstrap: string, topic: string): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ bootstrap });
  try {
    await consumer.assign(topic, 'earliest');
    const out: ConsumerRecord[] = [];
    for await (const r of consumer.records()) out.push(r);
    return out;
  } finally {
    await consumer.close();
  }
}
