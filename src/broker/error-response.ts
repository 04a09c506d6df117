// The error response of any API, built from its decoded request, as Kafka's
// AbstractRequest.getErrorResponse builds it API by API: every ErrorCode field of the response set
// to the error, and every response array that answers a request array (topics, partitions, groups,
// resources) filled with one item per requested item, carrying the item's identity (name, id,
// partition index) and the error. The generator describes each message's fields (StructShape);
// this walks them, so that no API needs a hand-written error response.
import { ApiKey, type ApiSpec } from '../protocol/generated/index.js';
import type { FieldShape, StructShape } from '../protocol/primitives.js';

type Item = Record<string, unknown>;

const present = (f: FieldShape, version: number): boolean => version >= f.versions[0] && version <= f.versions[1];

/** The identities (keys) of a struct's scalar fields present in a version. */
function keysOf(shape: StructShape, version: number): Set<string> {
  const keys = new Set<string>();
  for (const f of shape.fields) if (f.key && !f.items && present(f, version)) keys.add(f.key);
  return keys;
}

/**
 * The request array whose items a response array answers: the struct array sharing most item
 * identities with the response items (the first on a tie), else an array of scalars of an identity
 * the response items carry (a list of group ids, of partition indexes).
 */
function answeredArray(responseItem: StructShape, request: StructShape, version: number): FieldShape | null {
  const keys = keysOf(responseItem, version);
  let best: FieldShape | null = null;
  let bestScore = 0;
  for (const f of request.fields) {
    if (!present(f, version)) continue;
    let score = 0;
    if (f.elem) {
      for (const k of keysOf(f.elem(), version)) if (keys.has(k)) score += 2;
    } else if (f.items && f.key !== undefined && keys.has(f.key)) {
      score = 1;
    }
    if (score > bestScore) {
      best = f;
      bestScore = score;
    }
  }
  return best;
}

/** Whether a response item carries an error code, itself or in its arrays' items. */
function carriesError(shape: StructShape, version: number): boolean {
  return shape.fields.some((f) => present(f, version) && (f.errorCode === true || (f.elem !== undefined && carriesError(f.elem(), version))));
}

function build(shape: StructShape, request: StructShape | null, item: Item | null, version: number, errorCode: number, nested: boolean): Item {
  const out = shape.make!() as Item;
  for (const f of shape.fields) {
    if (!present(f, version)) continue;
    if (f.errorCode) {
      out[f.name] = errorCode;
    } else if (f.elem) {
      // Only arrays whose items can carry the error answer request items (not, say, the configs
      // of a topic to create).
      if (!request || !item || !carriesError(f.elem(), version)) continue;
      const source = answeredArray(f.elem(), request, version);
      const values = source ? item[source.name] : null;
      if (!source || !Array.isArray(values)) continue;
      const elem = f.elem();
      if (source.elem) {
        const sourceElem = source.elem();
        out[f.name] = values.map((v: Item) => build(elem, sourceElem, v, version, errorCode, true));
      } else {
        const keyField = elem.fields.find((g) => g.key === source.key && !g.items && present(g, version));
        out[f.name] = values.map((v: unknown) => {
          const e = build(elem, null, null, version, errorCode, true);
          if (keyField) e[keyField.name] = v;
          return e;
        });
      }
    } else if (f.key && nested && request && item) {
      // The item's identity, copied from the request item (top-level fields are not mirrored).
      const from = request.fields.find((g) => g.key === f.key && !g.items && present(g, version));
      if (from) out[f.name] = item[from.name];
    }
  }
  return out;
}

/**
 * The response body answering `request` with `errorCode` everywhere, or null when the request gets
 * no response to carry it (a Produce with acks=0: Kafka closes the connection instead).
 */
export function errorResponseBody(spec: ApiSpec, version: number, request: unknown, errorCode: number): Item | null {
  if (spec.apiKey === ApiKey.Produce && (request as { acks?: number }).acks === 0) return null;
  return build(spec.responseShape, spec.requestShape, request as Item, version, errorCode, false);
}
