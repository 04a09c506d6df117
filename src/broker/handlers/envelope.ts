// Envelope (KIP-590): a request another broker forwards on a client's behalf, run here as that
// client. Kafka's brokers send it to the KRaft controller; Tributary's HTTP admin API sends it to
// the broker that leads a partition or coordinates a group (broker/local-requests.ts), so the
// console works from any broker of a cluster without ever acting as anyone but its caller.
//
// The same rules as Kafka's: only on the inter-broker listener, only from a principal allowed
// CLUSTER_ACTION on the cluster (the brokers' own), never nested. The inner request then goes
// through the whole request path (ACLs, quotas, metrics) with the forwarded principal and client
// address, on a stand-in connection, and its framed answer goes back in the envelope.
import { ApiKey, type EnvelopeRequest, type EnvelopeResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { addressText, deserializePrincipal } from '../forwarded-principal.js';
import { LocalRequestError, standInConnection } from '../stand-in-connection.js';

/** What may travel in an envelope: the requests the admin API routes to a leader or coordinator. */
export const ENVELOPE_APIS: ReadonlySet<number> = new Set([
  ApiKey.Produce,
  ApiKey.Fetch,
  ApiKey.ListOffsets,
  ApiKey.OffsetFetch,
  ApiKey.OffsetCommit,
  ApiKey.ListGroups,
  ApiKey.DescribeGroups,
  ApiKey.ConsumerGroupDescribe,
  ApiKey.DescribeConfigs,
  ApiKey.ListTransactions,
  ApiKey.DescribeTransactions,
  ApiKey.DescribeProducers,
]);

export const envelopeHandler: ApiHandler<EnvelopeRequest, EnvelopeResponse> = {
  apiKey: ApiKey.Envelope,
  async handle(ctx, req) {
    const { broker, conn } = ctx;
    const fail = (errorCode: number): EnvelopeResponse => ({ responseData: null, errorCode });
    // Kafka's fromPrivilegedListener, then CLUSTER_ACTION: only brokers may speak for others.
    if (conn.id < 0 || conn.listenerName !== broker.security.plan.interBroker) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    if (!broker.security.cluster(conn, Op.CLUSTER_ACTION)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    if (req.requestPrincipal === null) return fail(ErrorCode.PRINCIPAL_DESERIALIZATION_FAILURE);
    const who = deserializePrincipal(req.requestPrincipal);
    if (!who) return fail(ErrorCode.PRINCIPAL_DESERIALIZATION_FAILURE);
    const host = addressText(req.clientHostAddress);
    if (host === null || req.requestData.length < 4) return fail(ErrorCode.INVALID_REQUEST);
    if (!ENVELOPE_APIS.has(req.requestData.readInt16BE(0))) return fail(ErrorCode.INVALID_REQUEST);
    const inner = standInConnection(broker, {
      principal: who.principal,
      host,
      clientId: '',
      listenerName: conn.listenerName,
      securityProtocol: conn.securityProtocol,
    });
    let out;
    try {
      out = await ctx.dispatch(req.requestData, inner);
    } catch (err) {
      // The request path refused the inner request (an API or version it does not serve).
      if (err instanceof LocalRequestError) return fail(ErrorCode.INVALID_REQUEST);
      throw err;
    }
    if (out === null) return fail(ErrorCode.INVALID_REQUEST);
    const framed = Array.isArray(out) ? Buffer.concat(out) : out;
    return { responseData: framed.subarray(4), errorCode: ErrorCode.NONE };
  },
};
