import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { runPython } from '../helpers/python-clients.js';

describe('confluent-kafka-python AdminClient (librdkafka)', () => {
  const broker = suiteBroker({ process: true, config: { 'num.partitions': '3' } });

  test('create topics, partitions and configs, with Kafka error names for the bad cases', () => {
    const r = runPython('admin_confluent.py', [broker.bootstrap, 'py-admin']);
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(r.summary, {
      create: 'NONE',
      create_again: 'TOPIC_ALREADY_EXISTS',
      create_bad_config: 'INVALID_CONFIG',
      grow: 'NONE',
      shrink: 'INVALID_PARTITIONS',
      grow_validate_only: 'NONE',
      partitions: 4,
      // librdkafka's name for Kafka's UNKNOWN_TOPIC_OR_PARTITION (code 3).
      grow_unknown: 'UNKNOWN_TOPIC_OR_PART',
      retention_ms: '3600000',
      // librdkafka's ConfigSource enum: 1 = DYNAMIC_TOPIC_CONFIG.
      retention_source: 1,
      segment_bytes_default: true,
      alter: 'NONE',
      retention_after: '7200000',
      policy_after: 'compact',
      alter_bad: 'INVALID_CONFIG',
      describe_unknown: 'UNKNOWN_TOPIC_OR_PART',
      broker_num_partitions: '3',
    });
  });
});
