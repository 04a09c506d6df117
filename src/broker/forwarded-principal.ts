// What an Envelope (KIP-590) carries besides the request: the original client's principal, as
// Kafka's DefaultKafkaPrincipalBuilder serializes it (an int16 version, then DefaultPrincipalData),
// and its address as raw IPv4/IPv6 bytes.
import { isIPv4, isIPv6 } from 'node:net';
import { Reader, Writer } from '../protocol/primitives.js';
import { decodeDefaultPrincipalData, encodeDefaultPrincipalData } from '../protocol/generated/default-principal-data.js';

const PRINCIPAL_DATA_VERSION = 0;

/** `User:alice` → bytes. */
export function serializePrincipal(principal: string): Buffer {
  const colon = principal.indexOf(':');
  const type = colon < 0 ? 'User' : principal.slice(0, colon);
  const name = colon < 0 ? principal : principal.slice(colon + 1);
  const w = new Writer(64);
  w.int16(PRINCIPAL_DATA_VERSION);
  encodeDefaultPrincipalData(w, PRINCIPAL_DATA_VERSION, { type, name, tokenAuthenticated: false });
  return Buffer.from(w.finish());
}

/** Bytes → `User:alice`, or null when they are not a principal this broker can read. */
export function deserializePrincipal(bytes: Buffer): { principal: string; tokenAuthenticated: boolean } | null {
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version !== PRINCIPAL_DATA_VERSION) return null;
    const p = decodeDefaultPrincipalData(r, version);
    if (p.type === '' || r.offset !== bytes.length) return null;
    return { principal: `${p.type}:${p.name}`, tokenAuthenticated: p.tokenAuthenticated };
  } catch {
    return null;
  }
}

/** An address (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`) as 4 or 16 bytes; empty when it is none. */
export function addressBytes(host: string): Buffer {
  const h = host.startsWith('::ffff:') && isIPv4(host.slice(7)) ? host.slice(7) : host;
  if (isIPv4(h)) return Buffer.from(h.split('.').map(Number));
  if (!isIPv6(h)) return Buffer.alloc(0);
  // Groups of 16 bits; an embedded IPv4 tail (`64:ff9b::1.2.3.4`) counts as two.
  const groups = (s: string): string[] =>
    s === ''
      ? []
      : s.split(':').flatMap((g) => {
          if (!isIPv4(g)) return [g];
          const b = g.split('.').map(Number);
          return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
        });
  const gap = h.indexOf('::');
  const head = groups(gap < 0 ? h : h.slice(0, gap));
  const tail = gap < 0 ? [] : groups(h.slice(gap + 2));
  const all = gap < 0 ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (all.length !== 8) return Buffer.alloc(0);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

/** 4 or 16 bytes → the address text ACL hosts use; null for any other length. */
export function addressText(bytes: Buffer): string | null {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return null;
  // IPv4-mapped: the IPv4 text, as the request path names such clients.
  if (bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Node's canonical form: the longest run of zero groups becomes `::`.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
