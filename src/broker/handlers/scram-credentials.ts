// AlterUserScramCredentials and DescribeUserScramCredentials (KIP-554): SCRAM credentials kept in
// the metadata store, so every broker of a cluster authenticates with them.
import {
  ApiKey,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS, scramKeys, type ScramMechanism } from '../../client/sasl.js';
import type { StoredScramCredential } from '../../cluster/metadata-port.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/authorizer.js';
import type { ApiHandler } from '../api.js';

const byType = new Map<number, ScramMechanism>(Object.entries(SCRAM_MECHANISMS).map(([name, m]) => [m.type, name as ScramMechanism]));

export const alterUserScramCredentialsHandler: ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> = {
  apiKey: ApiKey.AlterUserScramCredentials,
  async handle({ broker, conn }, req) {
    const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])];
    const result = (user: string, errorCode: number, errorMessage: string | null = null) => ({ user, errorCode, errorMessage });
    if (!broker.security.allowed(conn, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, results: users.map((u) => result(u, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)) };
    }
    const errors = new Map<string, { code: number; message: string }>();
    const fail = (user: string, code: number, message: string) => {
      if (!errors.has(user)) errors.set(user, { code, message });
    };
    // A user named twice for one mechanism (in deletions and upsertions together) is refused whole.
    const seen = new Set<string>();
    for (const item of [...req.deletions, ...req.upsertions]) {
      const key = `${item.name}\0${item.mechanism}`;
      if (seen.has(key)) fail(item.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
      seen.add(key);
    }
    const next = new Map(broker.security.allScramCredentials().map((c) => [`${c.mechanism}\0${c.user}`, c]));
    for (const d of req.deletions) {
      const mechanism = byType.get(d.mechanism);
      if (d.name === '') fail(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (!mechanism) fail(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      else if (!next.has(`${mechanism}\0${d.name}`)) fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
    }
    const upserts: StoredScramCredential[] = [];
    for (const u of req.upsertions) {
      const mechanism = byType.get(u.mechanism);
      if (u.name === '') fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (!mechanism) fail(u.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      else if (u.iterations < SCRAM_MIN_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
      else if (u.iterations > SCRAM_MAX_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
      else if (u.salt.length === 0) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt must not be empty');
      else if (u.saltedPassword.length !== SCRAM_MECHANISMS[mechanism].keyLength) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salted password has the wrong length');
      else {
        const keys = scramKeys(mechanism, u.saltedPassword);
        upserts.push({
          user: u.name,
          mechanism,
          iterations: u.iterations,
          salt: u.salt.toString('base64'),
          storedKey: keys.storedKey.toString('base64'),
          serverKey: keys.serverKey.toString('base64'),
        });
      }
    }
    for (const d of req.deletions) {
      const mechanism = byType.get(d.mechanism);
      if (mechanism && !errors.has(d.name)) next.delete(`${mechanism}\0${d.name}`);
    }
    for (const c of upserts) if (!errors.has(c.user)) next.set(`${c.mechanism}\0${c.user}`, c);
    if (users.some((u) => !errors.has(u))) {
      try {
        await broker.security.setScramCredentials([...next.values()]);
      } catch (err) {
        broker.logger.error({ err }, 'cannot store SCRAM credentials');
        return {
          throttleTimeMs: 0,
          results: users.map((u) => (errors.has(u) ? result(u, errors.get(u)!.code, errors.get(u)!.message) : result(u, ErrorCode.REQUEST_TIMED_OUT))),
        };
      }
    }
    return { throttleTimeMs: 0, results: users.map((u) => (errors.has(u) ? result(u, errors.get(u)!.code, errors.get(u)!.message) : result(u, ErrorCode.NONE))) };
  },
};

export const describeUserScramCredentialsHandler: ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> = {
  apiKey: ApiKey.DescribeUserScramCredentials,
  handle({ broker, conn }, req) {
    if (!broker.security.allowed(conn, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] };
    }
    const all = broker.security.allScramCredentials();
    const infos = (user: string) =>
      all
        .filter((c) => c.user === user)
        .map((c) => ({ mechanism: SCRAM_MECHANISMS[c.mechanism].type, iterations: c.iterations }))
        .sort((a, b) => a.mechanism - b.mechanism);
    const names = req.users === null || req.users.length === 0 ? [...new Set(all.map((c) => c.user))].sort() : req.users.map((u) => u.name);
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    const results = [...new Set(names)].map((user) => {
      if ((counts.get(user) ?? 0) > 1)
        return {
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request',
          credentialInfos: [],
        };
      const credentialInfos = infos(user);
      if (credentialInfos.length === 0)
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist', credentialInfos };
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
};
