// `tributary delegation-tokens` against a broker with SASL (SCRAM users set by `tributary users`):
// alice creates a token with bob as renewer, bob renews it, describe lists it, the token
// authenticates (tokenauth=true) but may not use the token APIs, carol may not renew it, and
// expire ends it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suiteBroker } from '../helpers/broker.js';
import { cli, writeProperties } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-dt-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const props = (lines: string[]) => writeProperties(dir, `c${n++}.properties`, lines);
const scram = (user: string, password: string, tokenauth = false) =>
  props([
    'security.protocol=SASL_PLAINTEXT',
    'sasl.mechanism=SCRAM-SHA-256',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}"${tokenauth ? ' tokenauth="true"' : ''};`,
  ]);

describe('tributary delegation-tokens', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw";',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin',
      'delegation.token.secret.key': 'a-secret-shared-by-the-brokers',
    },
  });
  const admin = () =>
    props([
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw";',
    ]);
  const as = (file: string, args: string[]) => cli(['delegation-tokens', ...args, '--bootstrap-server', `127.0.0.1:${broker.port}`, '--command-config', file]);

  test('create, describe, renew, authenticate and expire', async () => {
    const adminProps = admin();
    for (const u of ['alice', 'bob', 'carol']) {
      const r = await cli([
        'users',
        'set',
        u,
        '--password',
        `${u}-pw`,
        '--mechanism',
        'SCRAM-SHA-256',
        '--bootstrap-server',
        `127.0.0.1:${broker.port}`,
        '--command-config',
        adminProps,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const alice = scram('alice', 'alice-pw');
    const before = Date.now();
    const created = await as(alice, ['create', '--max-life-time-period', '3600000', '--renewer-principal', 'User:bob', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const [token] = JSON.parse(created.stdout) as { tokenId: string; hmac: string; owner: string; renewers: string[]; expiryTimestampMs: number; maxTimestampMs: number }[];
    assert.ok(token);
    assert.equal(token.owner, 'User:alice');
    assert.deepEqual(token.renewers, ['User:bob']);
    assert.ok(Buffer.from(token.hmac, 'base64').length > 0);
    assert.ok(token.maxTimestampMs >= before + 3_600_000 && token.maxTimestampMs <= Date.now() + 3_600_000, 'the max lifetime asked for');

    const text = await as(alice, ['describe']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^TOKENID\s+HMAC\s+OWNER\s+REQUESTER\s+RENEWERS\s+ISSUEDATE\s+EXPIRYDATE\s+MAXDATE$/m);
    assert.match(text.stdout, new RegExp(`^${token.tokenId}\\s+\\S+\\s+User:alice\\s+User:alice\\s+\\[User:bob\\]`, 'm'));
    const other = await as(alice, ['describe', '--owner-principal', 'User:carol']);
    assert.doesNotMatch(other.stdout, new RegExp(token.tokenId));

    // bob renews: the expiry moves to about a minute from now.
    const renewed = await as(scram('bob', 'bob-pw'), ['renew', '--hmac', token.hmac, '--renew-time-period', '60000']);
    assert.equal(renewed.code, 0, renewed.stderr);
    const m = /^Completed renew operation\. New expiry date : (\S+)$/m.exec(renewed.stdout);
    assert.ok(m, renewed.stdout);
    const expiry = Date.parse(m[1]!);
    assert.ok(Math.abs(expiry - (Date.now() + 60_000)) < 15_000, `renewed to ${m[1]}`);
    const refused = await as(scram('carol', 'carol-pw'), ['renew', '--hmac', token.hmac]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /DELEGATION_TOKEN_OWNER_MISMATCH/);

    // The token authenticates (as alice), but a token-authenticated connection may not use the
    // delegation-token APIs, as in Kafka.
    const viaToken = scram(token.tokenId, token.hmac, true);
    const listed = await cli(['topics', 'list', '--bootstrap-server', `127.0.0.1:${broker.port}`, '--command-config', viaToken]);
    assert.equal(listed.code, 0, listed.stderr);
    const wrong = await cli(['topics', 'list', '--bootstrap-server', `127.0.0.1:${broker.port}`, '--command-config', scram(token.tokenId, 'AAAA', true)]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/);
    for (const args of [['describe'], ['create']]) {
      const r = await as(viaToken, args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /DELEGATION_TOKEN_REQUEST_NOT_ALLOWED/);
    }

    const bad = await as(alice, ['renew', '--hmac', '!!']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--hmac must be the base64 HMAC/);

    const expired = await as(alice, ['expire', '--hmac', token.hmac]);
    assert.equal(expired.code, 0, expired.stderr);
    assert.match(expired.stdout, /^Completed expire operation\. New expiry date : \S+$/m);
    const gone = await as(alice, ['describe', '--json']);
    assert.deepEqual(JSON.parse(gone.stdout), []);
    const again = await as(alice, ['renew', '--hmac', token.hmac]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /DELEGATION_TOKEN_(NOT_FOUND|EXPIRED)/);
  });
});
