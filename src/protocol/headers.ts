// Request/response header versions and framing helpers, on top of the generated header codecs.
//
// Request header v1: apiKey int16, apiVersion int16, correlationId int32, clientId nullable string.
// Request header v2: the same (clientId stays a classic int16-length string) plus a tagged-field
// section. Response header v0: correlationId; v1 adds a tagged-field section.

import { Reader, Writer } from './primitives.js';
import {
  ApiKey,
  apiByKey,
  decodeRequestHeader as decodeRequestHeaderVersioned,
  decodeResponseHeader as decodeResponseHeaderVersioned,
  encodeRequestHeader as encodeRequestHeaderVersioned,
  encodeResponseHeader as encodeResponseHeaderVersioned,
} from './generated/index.js';

/** Request header version for an API version: 2 when that version is flexible, else 1 (also for unknown APIs). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const spec = apiByKey.get(apiKey);
  return spec !== undefined && apiVersion >= spec.firstFlexibleVersion ? 2 : 1;
}

/** Response header version: 1 when the API version is flexible, else 0; ApiVersions always uses v0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const spec = apiByKey.get(apiKey);
  return spec !== undefined && apiVersion >= spec.firstFlexibleVersion ? 1 : 0;
}

export interface DecodedRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  headerVersion: number;
}

/**
 * Decode a request header from the start of a request (after the size prefix). The API key and
 * version decide the header version; an unknown API key is read as header v1. The reader is left
 * at the start of the request body.
 */
export function decodeRequestHeader(r: Reader): DecodedRequestHeader {
  const start = r.offset;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.offset = start;
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const h = decodeRequestHeaderVersioned(r, headerVersion);
  return { apiKey, apiVersion, correlationId: h.correlationId, clientId: h.clientId, headerVersion };
}

export function encodeRequestHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number, clientId: string | null): void {
  encodeRequestHeaderVersioned(w, requestHeaderVersion(apiKey, apiVersion), {
    requestApiKey: apiKey,
    requestApiVersion: apiVersion,
    correlationId,
    clientId,
  });
}

export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  encodeResponseHeaderVersioned(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}

/** Reads a response header for the given request API/version and returns its correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  return decodeResponseHeaderVersioned(r, responseHeaderVersion(apiKey, apiVersion)).correlationId;
}

function specFor(apiKey: number) {
  const spec = apiByKey.get(apiKey);
  if (spec === undefined) throw new RangeError(`unknown API key ${apiKey}`);
  return spec;
}

/** A whole request frame: int32 size, header, body. */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: unknown, w: Writer = new Writer()): Buffer {
  const spec = specFor(apiKey);
  const sizeAt = w.reserveInt32();
  encodeRequestHeader(w, apiKey, apiVersion, correlationId, clientId);
  spec.encodeRequest(w, apiVersion, body);
  w.patchInt32(sizeAt, w.length - sizeAt - 4);
  return w.finish();
}

/** A whole response frame: int32 size, header, body. */
export function encodeResponseFrame(apiKey: number, apiVersion: number, correlationId: number, body: unknown, w: Writer = new Writer()): Buffer {
  const spec = specFor(apiKey);
  const sizeAt = w.reserveInt32();
  encodeResponseHeader(w, apiKey, apiVersion, correlationId);
  spec.encodeResponse(w, apiVersion, body);
  w.patchInt32(sizeAt, w.length - sizeAt - 4);
  return w.finish();
}
