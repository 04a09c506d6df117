// Kafka's topic name rules: the same answers a Kafka broker gives, so tools behave alike.

const MAX_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/** Returns why a name is illegal, or null when it is fine. */
export function invalidTopicReason(name: string | null | undefined): string | null {
  if (name === null || name === undefined || name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** '.' and '_' collide in metric names, so Kafka refuses a topic that differs from another only by them. */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}
