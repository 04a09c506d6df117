// Who an /api/v1 request acts as. Without an authorizer (`authorizer.class.name` empty) the broker
// lets every Kafka client do everything, and the HTTP API does the same as User:ANONYMOUS. With
// one, a request must carry HTTP Basic credentials of a broker user (a PLAIN user of a listener's
// JAAS config or a SCRAM user); it then acts as that principal, and every Kafka request the API
// makes on its behalf passes the broker's ACL checks exactly as the same user's client would.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../broker/broker.js';
import type { LocalCaller } from '../broker/local-requests.js';
import { AclOperation, ResourceType, CLUSTER_NAME } from '../broker/security/authorizer.js';
import { normalizeAddress } from '../network/server.js';

export const ANONYMOUS = 'User:ANONYMOUS';
const CLIENT_ID = 'tributary-http';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: LocalCaller;
  }
}

/**
 * Sets `req.caller`, or answers 401 (with a Basic challenge, so a browser asks for a login)
 * when the broker has an authorizer and the credentials are missing or wrong.
 */
export function authenticate(broker: Broker, req: FastifyRequest, reply: FastifyReply): boolean {
  const host = normalizeAddress(req.socket.remoteAddress);
  if (!broker.security.authorizer) {
    req.caller = { principal: ANONYMOUS, host, clientId: CLIENT_ID };
    return true;
  }
  const header = req.headers.authorization ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m) {
    const text = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    const principal = colon > 0 ? broker.security.verifyPassword(text.slice(0, colon), text.slice(colon + 1)) : null;
    if (principal) {
      req.caller = { principal, host, clientId: CLIENT_ID };
      return true;
    }
  }
  void reply
    .status(401)
    .header('www-authenticate', 'Basic realm="Tributary", charset="UTF-8"')
    .send({ error: 'authentication required: HTTP Basic with a broker user (SASL PLAIN or SCRAM)', errorCode: 'SASL_AUTHENTICATION_FAILED' });
  return false;
}

/** Whether the caller may do `operation` on the resource (always true without an authorizer). */
export function allowed(broker: Broker, caller: LocalCaller, operation: number, resourceType: number, name: string): boolean {
  const a = broker.security.authorizer;
  return !a || a.authorize(caller.principal, caller.host, operation, resourceType, name);
}

export const canDescribeTopic = (b: Broker, c: LocalCaller, topic: string) => allowed(b, c, AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
export const canDescribeGroup = (b: Broker, c: LocalCaller, group: string) => allowed(b, c, AclOperation.DESCRIBE, ResourceType.GROUP, group);
export const canDescribeCluster = (b: Broker, c: LocalCaller) => allowed(b, c, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME);
