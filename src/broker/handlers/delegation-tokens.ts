// CreateDelegationToken, RenewDelegationToken, ExpireDelegationToken and DescribeDelegationToken
// (KIP-48, KIP-373), checked as Kafka's brokers and controller check them: never on a PLAINTEXT
// connection, a one-way SSL one (ANONYMOUS) or one authenticated with a token
// (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED); a token for another owner needs CREATE_TOKENS on that
// USER; renew and expire only by the owner or a renewer; describe shows a principal its own
// tokens, and others' with DESCRIBE on the DELEGATION_TOKEN or DESCRIBE_TOKENS on the owner USER.
import {
  ApiKey,
  type CreateDelegationTokenRequest,
  type CreateDelegationTokenResponse,
  type DescribeDelegationTokenRequest,
  type DescribeDelegationTokenResponse,
  type ExpireDelegationTokenRequest,
  type ExpireDelegationTokenResponse,
  type RenewDelegationTokenRequest,
  type RenewDelegationTokenResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { Connection } from '../../network/connection.js';
import { AclOperation, ResourceType } from '../security/authorizer.js';
import { DelegationTokens, ERROR_TIMESTAMP, splitPrincipal } from '../security/delegation-tokens.js';
import type { BrokerSecurity } from '../security/security.js';
import type { Broker } from '../broker.js';
import type { ApiHandler } from '../api.js';

/** Kafka's allowTokenRequests: token-authenticated principals, PLAINTEXT and one-way SSL may not. */
function tokenRequestsAllowed(security: BrokerSecurity, conn: Connection): boolean {
  if (security.tokenAuthenticated(conn)) return false;
  if (conn.securityProtocol === 'PLAINTEXT') return false;
  if (conn.securityProtocol === 'SSL' && conn.principal === 'User:ANONYMOUS') return false;
  return true;
}

/** A metadata store failure as the error code it carries. */
function storeFailure(broker: Broker, err: unknown, what: string): number {
  if (err instanceof KafkaError) return err.code;
  broker.logger.error({ err }, `${what} failed`);
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export const createDelegationTokenHandler: ApiHandler<CreateDelegationTokenRequest, CreateDelegationTokenResponse> = {
  apiKey: ApiKey.CreateDelegationToken,
  async handle({ broker, conn }, req) {
    const security = broker.security;
    const requester = conn.principal;
    const owner = req.ownerPrincipalName !== null && req.ownerPrincipalName !== '' ? `${req.ownerPrincipalType ?? 'User'}:${req.ownerPrincipalName}` : requester;
    const o = splitPrincipal(owner);
    const r = splitPrincipal(requester);
    const response = (errorCode: number): CreateDelegationTokenResponse => ({
      errorCode,
      principalType: o.type,
      principalName: o.name,
      tokenRequesterPrincipalType: r.type,
      tokenRequesterPrincipalName: r.name,
      issueTimestampMs: ERROR_TIMESTAMP,
      expiryTimestampMs: ERROR_TIMESTAMP,
      maxTimestampMs: ERROR_TIMESTAMP,
      tokenId: '',
      hmac: Buffer.alloc(0),
      throttleTimeMs: 0,
    });
    if (!tokenRequestsAllowed(security, conn)) return response(ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    // KIP-373: a requester may always create a token for itself; for another owner it needs CREATE_TOKENS on that USER.
    if (owner !== requester && !security.allowed(conn, AclOperation.CREATE_TOKENS, ResourceType.USER, owner)) {
      return response(ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED);
    }
    let created;
    try {
      created = await security.tokens.create(
        owner,
        requester,
        req.renewers.map((x) => `${x.principalType}:${x.principalName}`),
        req.maxLifetimeMs,
      );
    } catch (err) {
      return response(storeFailure(broker, err, 'CreateDelegationToken'));
    }
    if (typeof created === 'string') return response(ErrorCode[created]);
    return {
      ...response(ErrorCode.NONE),
      issueTimestampMs: created.issueTimestampMs,
      expiryTimestampMs: created.expiryTimestampMs,
      maxTimestampMs: created.maxTimestampMs,
      tokenId: created.tokenId,
      hmac: security.tokens.hmac(created.tokenId),
    };
  },
};

export const renewDelegationTokenHandler: ApiHandler<RenewDelegationTokenRequest, RenewDelegationTokenResponse> = {
  apiKey: ApiKey.RenewDelegationToken,
  async handle({ broker, conn }, req) {
    const response = (errorCode: number, expiryTimestampMs = ERROR_TIMESTAMP) => ({ errorCode, expiryTimestampMs, throttleTimeMs: 0 });
    if (!tokenRequestsAllowed(broker.security, conn)) return response(ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    try {
      const r = await broker.security.tokens.renew(conn.principal, req.hmac, req.renewPeriodMs);
      return typeof r === 'string' ? response(ErrorCode[r]) : response(ErrorCode.NONE, r);
    } catch (err) {
      return response(storeFailure(broker, err, 'RenewDelegationToken'));
    }
  },
};

export const expireDelegationTokenHandler: ApiHandler<ExpireDelegationTokenRequest, ExpireDelegationTokenResponse> = {
  apiKey: ApiKey.ExpireDelegationToken,
  async handle({ broker, conn }, req) {
    const response = (errorCode: number, expiryTimestampMs = ERROR_TIMESTAMP) => ({ errorCode, expiryTimestampMs, throttleTimeMs: 0 });
    if (!tokenRequestsAllowed(broker.security, conn)) return response(ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    try {
      const r = await broker.security.tokens.expire(conn.principal, req.hmac, req.expiryTimePeriodMs);
      return typeof r === 'string' ? response(ErrorCode[r]) : response(ErrorCode.NONE, r);
    } catch (err) {
      return response(storeFailure(broker, err, 'ExpireDelegationToken'));
    }
  },
};

export const describeDelegationTokenHandler: ApiHandler<DescribeDelegationTokenRequest, DescribeDelegationTokenResponse> = {
  apiKey: ApiKey.DescribeDelegationToken,
  handle({ broker, conn }, req) {
    const security = broker.security;
    const response = (errorCode: number, tokens: DescribeDelegationTokenResponse['tokens'] = []) => ({ errorCode, tokens, throttleTimeMs: 0 });
    if (!tokenRequestsAllowed(security, conn)) return response(ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    if (!security.tokens.enabled) return response(ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED);
    if (req.owners !== null && req.owners.length === 0) return response(ErrorCode.NONE);
    const owners = req.owners?.map((o) => `${o.principalType}:${o.principalName}`) ?? null;
    const me = conn.principal;
    const tokens = security.tokens
      .all()
      .filter((t) => {
        // Only the tokens of the owners asked about (as owner, requester or renewer), then: one's own, or by ACL.
        if (owners !== null && !owners.some((o) => DelegationTokens.ownerOrRenewer(t, o))) return false;
        if (DelegationTokens.ownerOrRenewer(t, me)) return true;
        return (
          security.allowed(conn, AclOperation.DESCRIBE, ResourceType.DELEGATION_TOKEN, t.tokenId) ||
          security.allowed(conn, AclOperation.DESCRIBE_TOKENS, ResourceType.USER, t.owner)
        );
      })
      .sort((a, b) => a.issueTimestampMs - b.issueTimestampMs)
      .map((t) => {
        const o = splitPrincipal(t.owner);
        const r = splitPrincipal(t.requester);
        return {
          principalType: o.type,
          principalName: o.name,
          tokenRequesterPrincipalType: r.type,
          tokenRequesterPrincipalName: r.name,
          issueTimestamp: t.issueTimestampMs,
          expiryTimestamp: t.expiryTimestampMs,
          maxTimestamp: t.maxTimestampMs,
          tokenId: t.tokenId,
          hmac: security.tokens.hmac(t.tokenId),
          renewers: t.renewers.map((x) => {
            const p = splitPrincipal(x);
            return { principalType: p.type, principalName: p.name };
          }),
        };
      });
    return response(ErrorCode.NONE, tokens);
  },
};
