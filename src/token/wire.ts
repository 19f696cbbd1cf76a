/**
 * The binary forms of capability tokens (pure): server tokens, client tokens and grants, their byte
 * layouts, limits, signature domains and text prefixes. This file knows bytes only; what the strings
 * mean (addresses, targets, names) is fields.ts, and signing is token.ts / grant.ts.
 *
 * Flow (docs/tokens.md has the whole story):
 *
 * ```
 * burrow token server  -> server token  = server seed + relays + times, signed by the server key
 * burrow token client  -> client token  = client seed + grant, signed by the client key
 *                         grant         = server id + client id + relays + targets + token id
 *                                         + name + times, signed by the SERVER key
 * client --(Noise handshake as the client key, grant bytes in the payload)--> server
 * server: verifyGrant(grant, { serverId: self, now, isRevoked }) at every handshake
 * ```
 *
 * Every form is a fixed-order layout: one encoding per value (no optional fields, no TLV to
 * reorder), so `encode(decode(bytes))` gives the same bytes back and the signed bytes are exactly
 * the bytes on the wire. Integers are big-endian; times are u64 whole seconds since the Unix epoch;
 * strings are UTF-8 with a length prefix. A form must end exactly at its signature: trailing bytes
 * are corruption.
 *
 * Server token (kind 0x01):
 * ```
 * off  size  field
 * 0    1     version = TOKEN_VERSION
 * 1    1     kind = 0x01
 * 2    32    server Ed25519 seed (SECRET: the server's private key)
 * 34   8     issuedAt
 * 42   8     expiresAt                        (issuedAt < expiresAt)
 * 50   1     R = relay count                  (0..MAX_RELAYS)
 * 51   ...   R x { u16 length (1..MAX_RELAY_BYTES), address (ASCII) }
 * end  64    Ed25519 signature by the server key over SIGNATURE_DOMAIN.server || 0x00 || bytes[0..end)
 * ```
 *
 * Grant (kind 0x03), what a client presents to the server; it holds no secret:
 * ```
 * 0    1     version = TOKEN_VERSION
 * 1    1     kind = 0x03
 * 2    32    server Ed25519 public key (the server id)
 * 34   32    client Ed25519 public key (the client id)
 * 66   16    token id (random)
 * 82   8     issuedAt
 * 90   8     notBefore
 * 98   8     expiresAt                        (issuedAt <= notBefore < expiresAt)
 * 106  1     N = name length                  (0 = no name, ..MAX_NAME_BYTES)
 * 107  N     name (UTF-8)
 * ..   1     R = relay count                  (0..MAX_RELAYS), then R x { u16 length, address }
 * ..   1     T = target count                 (0..MAX_TARGETS), then T x { u16 length, target URL }
 * end  64    Ed25519 signature by the SERVER key over SIGNATURE_DOMAIN.grant || 0x00 || bytes[0..end)
 * ```
 *
 * Client token (kind 0x02):
 * ```
 * 0    1     version = TOKEN_VERSION
 * 1    1     kind = 0x02
 * 2    32    client Ed25519 seed (SECRET)
 * 34   2     G = grant length                 (..MAX_GRANT_BYTES)
 * 36   G     the grant, as above, with the server's signature
 * end  64    Ed25519 signature by the CLIENT key over SIGNATURE_DOMAIN.client || 0x00 || bytes[0..end)
 * ```
 */
import { TunnelError } from '../errors.ts'
import {
  ByteReader,
  ByteWriter,
  checkBytes,
  checkTimes,
  invalid,
  readList,
  timesOrInvalid,
  utf8Bytes,
  writeList,
} from './bytes.ts'

/** The token format version: the first byte of every binary form and the `v1` of the text prefixes. */
export const TOKEN_VERSION = 1
/** The second byte of every binary form. */
export const KIND_BYTE = { server: 0x01, client: 0x02, grant: 0x03 } as const
export type WireKind = keyof typeof KIND_BYTE

/**
 * Signature domains, one per signed structure, so that a signature made for one can never be
 * replayed as another (nor as any other signature a burrow key makes, none of which start so).
 * The signed message is `utf8(domain) || 0x00 || body`.
 */
export const SIGNATURE_DOMAIN = {
  server: 'burrow token v1 server',
  grant: 'burrow token v1 grant',
  client: 'burrow token v1 client',
} as const

/** Text prefixes: `<prefix><base64url of the binary form, no padding>`. Grants have no text form. */
export const TEXT_PREFIX = { server: 'burrow-server-v1.', client: 'burrow-client-v1.' } as const

/** Relay addresses per token. Redundancy needs a few; a handful bounds the grant. */
export const MAX_RELAYS = 8
/** Bytes of one relay address string (a few alternatives with 52-character ids fit). */
export const MAX_RELAY_BYTES = 512
/** Allowed targets per client token. */
export const MAX_TARGETS = 32
/** Bytes of one target URL (policy's MAX_TARGET_URL_LENGTH). */
export const MAX_TARGET_BYTES = 512
/** Bytes of a client token's name (UTF-8). */
export const MAX_NAME_BYTES = 64
/** Bytes of a grant: it travels in a handshake payload (MAX_HANDSHAKE_PAYLOAD is 8192). */
export const MAX_GRANT_BYTES = 4096
/** Bytes of a server or client token's binary form. */
export const MAX_TOKEN_BYTES = 8192
/** Characters of a token's text form: the prefix plus base64url of MAX_TOKEN_BYTES. */
export const MAX_TOKEN_TEXT_LENGTH = TEXT_PREFIX.server.length + Math.ceil((MAX_TOKEN_BYTES * 4) / 3)

export const SEED_BYTES = 32
export const PUBLIC_KEY_BYTES = 32
export const TOKEN_ID_BYTES = 16
export const SIGNATURE_BYTES = 64

export interface ServerTokenWire {
  readonly seed: Uint8Array
  readonly issuedAt: number
  readonly expiresAt: number
  readonly relays: readonly string[]
}

export interface GrantWire {
  readonly serverKey: Uint8Array
  readonly clientKey: Uint8Array
  readonly tokenId: Uint8Array
  readonly issuedAt: number
  readonly notBefore: number
  readonly expiresAt: number
  readonly name: string | undefined
  readonly relays: readonly string[]
  readonly targets: readonly string[]
}

export interface ClientTokenWire {
  readonly seed: Uint8Array
  readonly grant: Uint8Array
}

/** A decoded form: its fields, the bytes its signature covers, and the signature. */
export interface Signed<T> {
  readonly fields: T
  readonly body: Uint8Array
  readonly signature: Uint8Array
}

const bad = (why: string): TunnelError => new TunnelError('TUN_ERR_INVALID_ARGUMENT', why)

/** The message a signature covers: the domain, a 0x00 separator, the body. */
export function signedMessage(domain: string, body: Uint8Array): Uint8Array {
  const label = utf8Bytes(domain)
  const out = new Uint8Array(label.length + 1 + body.length)
  out.set(label, 0)
  out.set(body, label.length + 1)
  return out
}

function readHeader(r: ByteReader, kind: WireKind, what: string): void {
  const version = r.u8('the version')
  if (version !== TOKEN_VERSION)
    throw invalid(`${what} has format version ${version}; this build reads version ${TOKEN_VERSION}`)
  const k = r.u8('the kind')
  if (k !== KIND_BYTE[kind]) throw invalid(`not a ${what}: kind byte 0x${k.toString(16).padStart(2, '0')}`)
}

function readSigned<T>(bytes: Uint8Array, max: number, what: string, read: (r: ByteReader) => T): Signed<T> {
  if (!(bytes instanceof Uint8Array)) throw invalid(`a ${what} is bytes`)
  if (bytes.length > max) throw invalid(`a ${what} is at most ${max} bytes, got ${bytes.length}`)
  const r = new ByteReader(bytes, what)
  const fields = read(r)
  const end = r.offset
  const signature = r.bytes(SIGNATURE_BYTES, 'the signature')
  r.end()
  return { fields, body: bytes.subarray(0, end), signature }
}

/** The signed part of a server token (everything before the signature). */
export function serverTokenBody(f: ServerTokenWire): Uint8Array {
  checkBytes(f.seed, SEED_BYTES, 'seed')
  checkTimes(f.issuedAt, f.expiresAt)
  const w = new ByteWriter()
  w.u8(TOKEN_VERSION)
  w.u8(KIND_BYTE.server)
  w.bytes(f.seed)
  w.time(f.issuedAt)
  w.time(f.expiresAt)
  writeList(w, f.relays, MAX_RELAYS, MAX_RELAY_BYTES, 'relay')
  if (w.length + SIGNATURE_BYTES > MAX_TOKEN_BYTES)
    throw bad(`the token would be over ${MAX_TOKEN_BYTES} bytes`)
  return w.finish()
}

export function readServerToken(bytes: Uint8Array): Signed<ServerTokenWire> {
  return readSigned(bytes, MAX_TOKEN_BYTES, 'server token', (r) => {
    readHeader(r, 'server', 'server token')
    const seed = r.bytes(SEED_BYTES, 'the seed')
    const issuedAt = r.time('issuedAt')
    const expiresAt = r.time('expiresAt')
    timesOrInvalid('server token', issuedAt, expiresAt)
    const relays = readList(r, MAX_RELAYS, MAX_RELAY_BYTES, 'relay', 'server token')
    return { seed, issuedAt, expiresAt, relays }
  })
}

/** The signed part of a grant. */
export function grantBody(f: GrantWire): Uint8Array {
  checkBytes(f.serverKey, PUBLIC_KEY_BYTES, 'the server key')
  checkBytes(f.clientKey, PUBLIC_KEY_BYTES, 'the client key')
  checkBytes(f.tokenId, TOKEN_ID_BYTES, 'the token id')
  checkTimes(f.issuedAt, f.expiresAt, f.notBefore)
  const name = f.name ?? ''
  const nameBytes = typeof name === 'string' ? utf8Bytes(name).length : -1
  if (f.name !== undefined && (nameBytes < 1 || nameBytes > MAX_NAME_BYTES))
    throw bad(`a name is 1-${MAX_NAME_BYTES} bytes of UTF-8, got ${nameBytes}`)
  const w = new ByteWriter()
  w.u8(TOKEN_VERSION)
  w.u8(KIND_BYTE.grant)
  w.bytes(f.serverKey)
  w.bytes(f.clientKey)
  w.bytes(f.tokenId)
  w.time(f.issuedAt)
  w.time(f.notBefore)
  w.time(f.expiresAt)
  w.string(1, name)
  writeList(w, f.relays, MAX_RELAYS, MAX_RELAY_BYTES, 'relay')
  writeList(w, f.targets, MAX_TARGETS, MAX_TARGET_BYTES, 'target')
  if (w.length + SIGNATURE_BYTES > MAX_GRANT_BYTES)
    throw bad(`the grant would be over ${MAX_GRANT_BYTES} bytes: name fewer targets or relays`)
  return w.finish()
}

export function readGrant(bytes: Uint8Array): Signed<GrantWire> {
  return readSigned(bytes, MAX_GRANT_BYTES, 'grant', (r) => {
    readHeader(r, 'grant', 'grant')
    const serverKey = r.bytes(PUBLIC_KEY_BYTES, 'the server key')
    const clientKey = r.bytes(PUBLIC_KEY_BYTES, 'the client key')
    const tokenId = r.bytes(TOKEN_ID_BYTES, 'the token id')
    const issuedAt = r.time('issuedAt')
    const notBefore = r.time('notBefore')
    const expiresAt = r.time('expiresAt')
    timesOrInvalid('grant', issuedAt, expiresAt, notBefore)
    const name = r.string(1, MAX_NAME_BYTES, 'the name')
    const relays = readList(r, MAX_RELAYS, MAX_RELAY_BYTES, 'relay', 'grant')
    const targets = readList(r, MAX_TARGETS, MAX_TARGET_BYTES, 'target', 'grant')
    const fields = { serverKey, clientKey, tokenId, issuedAt, notBefore, expiresAt, relays, targets }
    return { ...fields, name: name === '' ? undefined : name }
  })
}

/** The signed part of a client token. */
export function clientTokenBody(f: ClientTokenWire): Uint8Array {
  checkBytes(f.seed, SEED_BYTES, 'seed')
  if (!(f.grant instanceof Uint8Array) || f.grant.length > MAX_GRANT_BYTES)
    throw bad(`a grant is at most ${MAX_GRANT_BYTES} bytes`)
  const w = new ByteWriter()
  w.u8(TOKEN_VERSION)
  w.u8(KIND_BYTE.client)
  w.bytes(f.seed)
  w.u16(f.grant.length)
  w.bytes(f.grant)
  return w.finish()
}

export function readClientToken(bytes: Uint8Array): Signed<ClientTokenWire> {
  return readSigned(bytes, MAX_TOKEN_BYTES, 'client token', (r) => {
    readHeader(r, 'client', 'client token')
    const seed = r.bytes(SEED_BYTES, 'the seed')
    const length = r.u16('the grant length')
    if (length > MAX_GRANT_BYTES) throw invalid(`client token: the grant is over ${MAX_GRANT_BYTES} bytes`)
    return { seed, grant: r.bytes(length, 'the grant') }
  })
}

/** The kind a binary form claims (its second byte), if it is a known one; nothing is verified. */
export function peekKind(bytes: Uint8Array): WireKind | undefined {
  const k = bytes[1]
  return (Object.keys(KIND_BYTE) as WireKind[]).find((kind) => KIND_BYTE[kind] === k)
}
