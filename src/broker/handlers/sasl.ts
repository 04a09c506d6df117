// SaslHandshake and SaslAuthenticate (KIP-43, KIP-152, KIP-368), and the raw token frames that
// follow a SaslHandshake v0. The mechanisms and the connection's session are in security/.
import { ApiKey, type SaslAuthenticateRequest, type SaslAuthenticateResponse, type SaslHandshakeRequest, type SaslHandshakeResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Connection, ResponseFrame } from '../../network/connection.js';
import type { Broker } from '../broker.js';
import type { ApiHandler } from '../api.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export const saslHandshakeHandler: ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse> = {
  apiKey: ApiKey.SaslHandshake,
  handle({ broker, conn, apiVersion }, req) {
    const res = broker.security.handshake(conn, req.mechanism, apiVersion);
    return { errorCode: ErrorCode[res.errorCode], mechanisms: res.mechanisms };
  },
};

export const saslAuthenticateHandler: ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  apiKey: ApiKey.SaslAuthenticate,
  async handle({ broker, conn, apiVersion }, req) {
    const res = broker.security.authenticate(conn, req.authBytes);
    if (res.kind === 'step') return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: res.response, sessionLifetimeMs: apiVersion >= 1 ? res.sessionLifetimeMs : 0 };
    // The client gets the error, then the connection closes; later, so guessing passwords is slow.
    conn.endAfterResponses();
    await delay(broker.security.authFailureDelayMs);
    return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: res.errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  },
};

/** A raw SASL token after SaslHandshake v0: answered with a size-prefixed raw token; a failure closes. */
export async function saslRawToken(broker: Broker, conn: Connection, frame: Buffer): Promise<ResponseFrame | null> {
  const res = broker.security.authenticate(conn, frame);
  if (res.kind === 'failed') {
    conn.endAfterResponses();
    await delay(broker.security.authFailureDelayMs);
    return null;
  }
  const out = Buffer.allocUnsafe(4 + res.response.length);
  out.writeInt32BE(res.response.length, 0);
  res.response.copy(out, 4);
  return out;
}
