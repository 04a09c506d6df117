// Without an authorizer every operation is allowed; these are Kafka's AclOperation bit positions.
const op = { READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9, DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12 };
const bits = (...ops: number[]) => ops.reduce((acc, o) => acc | (1 << o), 0);

/** The value Kafka puts in authorized-operations fields that the client did not ask for. */
export const UNREQUESTED_OPERATIONS = -2147483648;
export const TOPIC_OPERATIONS = bits(op.READ, op.WRITE, op.CREATE, op.DELETE, op.ALTER, op.DESCRIBE, op.DESCRIBE_CONFIGS, op.ALTER_CONFIGS);
export const CLUSTER_OPERATIONS = bits(op.CREATE, op.ALTER, op.DESCRIBE, op.CLUSTER_ACTION, op.DESCRIBE_CONFIGS, op.ALTER_CONFIGS, op.IDEMPOTENT_WRITE);
