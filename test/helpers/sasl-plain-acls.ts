// A broker with one SASL_PLAINTEXT listener, PLAIN users and Kafka's StandardAuthorizer, for the
// tests of what a principal may do: `admin` is the super user (and the broker's own login), every
// user's password is `<user>-pw`.
import { Connection } from '../../src/client/connection.js';

/** The broker config (merge overrides in with a spread). */
export function saslPlainAclConfig(users: string[]): Record<string, string> {
  const all = ['admin', ...users.filter((u) => u !== 'admin')].map((u) => `user_${u}="${u}-pw"`).join(' ');
  return {
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" ${all};`,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin',
    'security.inter.broker.protocol': 'SASL_PLAINTEXT',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
  };
}

/** A client connection to the broker's listener as `user`. */
export function connectAs(port: number, user: string): Promise<Connection> {
  return Connection.connect({
    host: '127.0.0.1',
    port,
    security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: `${user}-pw` } },
  });
}
