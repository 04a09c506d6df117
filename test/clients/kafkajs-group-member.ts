// A kafkajs group member in its own process, so a test can SIGKILL it. Prints one JSON line per
// assignment ({"assigned":[...]}) and per message ({"value":"..."}).
// Usage: node --import tsx kafkajs-group-member.ts BOOTSTRAP GROUP TOPIC [SESSION_TIMEOUT_MS]
import kafkajs from 'kafkajs';

const [bootstrap, groupId, topic, sessionTimeout = '6000'] = process.argv.slice(2) as [string, string, string, string?];
const kafka = new kafkajs.Kafka({ clientId: 'child-member', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: Number(sessionTimeout), heartbeatInterval: 500, maxWaitTimeInMs: 100 });
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  console.log(JSON.stringify({ assigned: e.payload.memberAssignment[topic] ?? [] }));
});
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommitInterval: 100,
  eachMessage: async ({ message }) => {
    console.log(JSON.stringify({ value: message.value!.toString() }));
  },
});
