// Kafka requests made inside the broker on behalf of a local caller (the HTTP admin API and web
// console): the request goes through the same path as one read from a socket (request checks,
// the API's handler, ACLs with the caller's principal, quotas, request metrics) and comes back as
// the decoded response a client would see. So the console creates topics, produces, fetches and
// resets offsets with exactly the broker's rules and error codes, and never bypasses the
// authorizer: it acts as the principal the HTTP layer authenticated.
import type { Socket } from 'node:net';
import { Reader } from '../protocol/primitives.js';
import { encodeRequestFrame, decodeResponseHeader } from '../protocol/headers.js';
import { apiByKey } from '../protocol/generated/index.js';
import type { Connection, FrameHandler } from '../network/connection.js';
import type { Broker } from './broker.js';
import { createRequestHandler, supportedApis } from './request-handler.js';

/** Who a local request acts as. */
export interface LocalCaller {
  /** Kafka principal, `User:name` (`User:ANONYMOUS` without authentication). */
  principal: string;
  /** The caller's address (ACL host patterns match it). */
  host: string;
  /** The client id the request carries (quotas and logs see it). */
  clientId: string;
}

let nextLocalId = 1;

/**
 * Stands in for a socket connection: what the request path reads of one (principal, listener,
 * address) and the flow-control calls it makes, which are no-ops without a socket.
 */
function localConnection(broker: Broker, caller: LocalCaller): Connection {
  const listenerName = broker.listenerStats()[0]?.name ?? '';
  const fake = {
    id: -nextLocalId++,
    remote: `${caller.host}:0`,
    lastActive: broker.clock.now(),
    clientId: caller.clientId,
    listenerName,
    securityProtocol: 'PLAINTEXT',
    principal: caller.principal,
    security: null,
    maxFrameBytes: null,
    partialSince: null,
    socket: { remoteAddress: caller.host, remotePort: 0 } as unknown as Socket,
    isClosed: false,
    inFlight: 0,
    paused: false,
    unsentBytes: 0,
    reserveResponseBytes: () => Promise.resolve(),
    mute: () => {},
    abort: (reason: string) => {
      throw new LocalRequestError(reason);
    },
    endAfterResponses: () => {},
    close: () => {},
  };
  return fake as unknown as Connection;
}

export class LocalRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRequestError';
  }
}

/** Sends typed requests through the broker's request path and returns typed responses. */
export class LocalRequests {
  private readonly handler: FrameHandler;
  private readonly versions = new Map<number, number>();
  private correlationId = 0;

  constructor(private readonly broker: Broker) {
    this.handler = createRequestHandler(broker);
    for (const [key, api] of supportedApis()) this.versions.set(key, api.maxVersion);
  }

  /** The newest version of the API this broker serves. */
  version(apiKey: number): number {
    const v = this.versions.get(apiKey);
    if (v === undefined) throw new LocalRequestError(`API key ${apiKey} is not served`);
    return v;
  }

  async send<Res>(caller: LocalCaller, apiKey: number, request: unknown, version = this.version(apiKey)): Promise<Res> {
    const spec = apiByKey.get(apiKey)!;
    const correlationId = ++this.correlationId & 0x7fffffff;
    const frame = encodeRequestFrame(apiKey, version, correlationId, caller.clientId, request);
    const out = await this.handler(frame.subarray(4), localConnection(this.broker, caller));
    if (out === null) throw new LocalRequestError(`${spec.name} got no response`);
    const buf = Array.isArray(out) ? Buffer.concat(out) : out;
    const r = new Reader(buf.subarray(4));
    decodeResponseHeader(r, apiKey, version);
    return spec.decodeResponse(r, version) as Res;
  }
}
