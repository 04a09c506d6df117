// A connection without a socket: what the request path reads of one (principal, listener, client
// address) and the flow-control calls it makes, which are no-ops here. Requests the broker runs on
// someone's behalf use it: the HTTP admin API's local requests (local-requests.ts) and the inner
// request of an Envelope another broker forwarded (handlers/envelope.ts).
import type { Socket } from 'node:net';
import type { Connection } from '../network/connection.js';
import type { Broker } from './broker.js';

export interface StandInIdentity {
  /** Kafka principal, `User:name` (`User:ANONYMOUS` without authentication). */
  principal: string;
  /** The client's address (ACL host patterns match it). */
  host: string;
  /** The client id the request carries (quotas and logs see it). */
  clientId: string;
  /** The listener the request counts as received on (default: the broker's first). */
  listenerName?: string;
  securityProtocol?: string;
}

let nextStandInId = 1;

/** A request run on a stand-in connection that the request path would have closed the connection for. */
export class LocalRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRequestError';
  }
}

export function standInConnection(broker: Broker, who: StandInIdentity): Connection {
  const fake = {
    id: -nextStandInId++,
    remote: `${who.host}:0`,
    lastActive: broker.clock.now(),
    clientId: who.clientId,
    listenerName: who.listenerName ?? broker.listenerStats()[0]?.name ?? '',
    securityProtocol: who.securityProtocol ?? 'PLAINTEXT',
    principal: who.principal,
    security: null,
    maxFrameBytes: null,
    partialSince: null,
    socket: { remoteAddress: who.host, remotePort: 0 } as unknown as Socket,
    isClosed: false,
    inFlight: 0,
    paused: false,
    unsentBytes: 0,
    reserveResponseBytes: () => undefined,
    mute: () => {},
    abort: (reason: string) => {
      throw new LocalRequestError(reason);
    },
    endAfterResponses: () => {},
    close: () => {},
  };
  return fake as unknown as Connection;
}
