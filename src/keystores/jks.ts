// Java's JKS key store format, read (never written), so a Kafka user's ssl.keystore.* and
// ssl.truststore.* files work as they are. No maintained npm package reads it without a heavy
// tail of dependencies, and the format is small and long documented:
//
//   u32 magic 0xFEEDFEED, u32 version (1 or 2), u32 entry count, then per entry:
//     u32 tag (1: private key, 2: trusted certificate), alias (u16 length + modified UTF-8),
//     u64 creation time (ms);
//     tag 1: u32 length + EncryptedPrivateKeyInfo (DER), u32 chain length, certificates;
//     tag 2: one certificate;
//     a certificate: (version 2 only) its type (u16 length + "X.509"), u32 length + DER.
//   A 20-byte trailer: SHA-1 over the password (UTF-16BE), the bytes "Mighty Aphrodite" and
//   everything before the trailer; it is how a wrong store password shows.
//
// A private key is protected with Sun's own scheme (OID 1.3.6.1.4.1.42.2.17.1.1): 20 bytes of
// salt, the key XORed with a SHA-1 chain (d0 = salt, dn = SHA-1(password || dn-1)), and a SHA-1
// of password || plain key as the check. The plain key is a PKCS#8 PrivateKeyInfo. The hashing is
// node:crypto's; only the framing is written here.
import { createHash, timingSafeEqual } from 'node:crypto';

export const JKS_MAGIC = 0xfeedfeed;
/** JCEKS, Java's other proprietary store: same frame, other key protection; not read. */
export const JCEKS_MAGIC = 0xcececece;

/** Thrown for a store that is not JKS, is damaged or whose password does not open it. */
export class KeyStoreError extends Error {
  constructor(
    message: string,
    /** A password did not verify (the store's integrity check or a key's check). */
    readonly wrongPassword = false,
  ) {
    super(message);
  }
}

export interface JksKeyEntry {
  alias: string;
  /** The PKCS#8 PrivateKeyInfo, still protected (decrypt with recoverJksKey). */
  protectedKey: Buffer;
  /** The certificate chain, leaf first, DER. */
  chain: Buffer[];
}

export interface JksTrustedEntry {
  alias: string;
  cert: Buffer;
}

export interface JksStore {
  keys: JksKeyEntry[];
  trusted: JksTrustedEntry[];
}

const utf16be = (password: string) => Buffer.from(password, 'utf16le').swap16();

class Reader {
  offset = 0;
  constructor(private readonly bytes: Buffer) {}
  private need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.length) throw new KeyStoreError('the JKS store is truncated or damaged');
  }
  u16(): number {
    this.need(2);
    const v = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  take(n: number): Buffer {
    this.need(n);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  utf(): string {
    // Java's modified UTF-8 differs from UTF-8 only for NUL and supplementary characters.
    return this.take(this.u16()).toString('utf8');
  }
}

/**
 * The entries of a JKS store. With a password the store's integrity is checked first (a wrong
 * one throws with wrongPassword set); without one it is not, as Java loads a store given no
 * password (what a trust store without ssl.truststore.password gets in Kafka).
 */
export function parseJks(bytes: Buffer, password: string | null): JksStore {
  if (bytes.length < 4) throw new KeyStoreError('the file is too short to be a JKS store');
  const magic = bytes.readUInt32BE(0);
  if (magic === JCEKS_MAGIC) throw new KeyStoreError('JCEKS stores are not supported: convert it with keytool -importkeystore -deststoretype PKCS12');
  if (magic !== JKS_MAGIC) throw new KeyStoreError('the file is not a JKS store');
  if (bytes.length < 12 + 20) throw new KeyStoreError('the JKS store is truncated or damaged');
  const body = bytes.subarray(0, bytes.length - 20);
  if (password !== null) {
    const digest = createHash('sha1').update(utf16be(password)).update('Mighty Aphrodite', 'utf8').update(body).digest();
    if (!timingSafeEqual(digest, bytes.subarray(bytes.length - 20))) {
      throw new KeyStoreError('the password is wrong or the JKS store is damaged (its integrity check failed)', true);
    }
  }
  const r = new Reader(body);
  r.u32();
  const version = r.u32();
  if (version !== 1 && version !== 2) throw new KeyStoreError(`unknown JKS version ${version}`);
  const count = r.u32();
  const certificate = (): Buffer => {
    if (version === 2) {
      const type = r.utf();
      if (type !== 'X.509') throw new KeyStoreError(`a certificate of type ${type} (only X.509 is supported)`);
    }
    return Buffer.from(r.take(r.u32()));
  };
  const out: JksStore = { keys: [], trusted: [] };
  for (let i = 0; i < count; i++) {
    const tag = r.u32();
    const alias = r.utf();
    r.take(8); // creation time
    if (tag === 1) {
      const protectedKey = Buffer.from(r.take(r.u32()));
      const chainLength = r.u32();
      const chain: Buffer[] = [];
      for (let c = 0; c < chainLength; c++) chain.push(certificate());
      out.keys.push({ alias, protectedKey, chain });
    } else if (tag === 2) {
      out.trusted.push({ alias, cert: certificate() });
    } else {
      throw new KeyStoreError(`entry ${alias} has unknown tag ${tag} (a JCEKS secret key?)`);
    }
  }
  if (r.offset !== body.length) throw new KeyStoreError('the JKS store has trailing bytes before its digest');
  return out;
}

/** Sun's key protection algorithm, DER of OID 1.3.6.1.4.1.42.2.17.1.1. */
const SUN_KEY_PROTECTOR = Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01]);

/** One DER TLV at `offset`: its tag, and where its contents start and end. */
function tlv(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  if (offset + 2 > der.length) throw new KeyStoreError('a damaged private key entry');
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new KeyStoreError('a damaged private key entry');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new KeyStoreError('a damaged private key entry');
  return { tag, start, end: start + len };
}

/**
 * The PKCS#8 PrivateKeyInfo (DER) of a JKS key entry, decrypted with the key password (Kafka's
 * ssl.key.password, else the store password). A wrong password throws with wrongPassword set.
 */
export function recoverJksKey(entry: JksKeyEntry, password: string): Buffer {
  // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier SEQUENCE { OID, params }, OCTET STRING }
  const info = tlv(entry.protectedKey, 0);
  const algorithm = tlv(entry.protectedKey, info.start);
  const oid = tlv(entry.protectedKey, algorithm.start);
  const data = tlv(entry.protectedKey, algorithm.end);
  if (info.tag !== 0x30 || algorithm.tag !== 0x30 || oid.tag !== 0x06 || data.tag !== 0x04) throw new KeyStoreError(`the key of ${entry.alias} is damaged`);
  if (!entry.protectedKey.subarray(oid.start, oid.end).equals(SUN_KEY_PROTECTOR)) {
    throw new KeyStoreError(`the key of ${entry.alias} is protected with an unsupported algorithm`);
  }
  const sealed = entry.protectedKey.subarray(data.start, data.end);
  if (sealed.length <= 40) throw new KeyStoreError(`the key of ${entry.alias} is damaged`);
  const pass = utf16be(password);
  const cipher = sealed.subarray(20, sealed.length - 20);
  const plain = Buffer.alloc(cipher.length);
  let digest: Buffer = sealed.subarray(0, 20);
  for (let off = 0; off < cipher.length; off += 20) {
    digest = createHash('sha1').update(pass).update(digest).digest();
    for (let i = 0; i < 20 && off + i < cipher.length; i++) plain[off + i] = cipher[off + i]! ^ digest[i]!;
  }
  const check = createHash('sha1').update(pass).update(plain).digest();
  if (!timingSafeEqual(check, sealed.subarray(sealed.length - 20))) {
    throw new KeyStoreError(`the password of the key ${entry.alias} is wrong`, true);
  }
  return plain;
}
