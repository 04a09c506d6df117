import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newClusterId } from '../../src/common/cluster-id.js';

test("cluster ids are Kafka's: 22 URL-safe base64 characters, never starting with '-'", () => {
  // One id in 64 would start with '-' if drawn once: 2,000 draws find it almost surely.
  const ids = Array.from({ length: 2000 }, () => newClusterId());
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(id[0], '-', id);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  }
  assert.equal(new Set(ids).size, ids.length);
});
