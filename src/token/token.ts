/**
 * Server and client tokens (pure): the objects, their binary and text forms, and full verification
 * of what a token can prove by itself. Making tokens is mint.ts.
 *
 * A server token is the server peer's private key plus its relays: whoever holds it can serve as
 * that server and mint client tokens. A client token is a fresh client key plus a grant signed by
 * the server: whoever holds it can connect, as that client, until it expires or is revoked. Neither
 * kind can stand in for the other (`TUN_ERR_TOKEN_KIND`): a client token cannot serve.
 *
 * Secrets: a token's `seed` is a non-enumerable property, so `JSON.stringify`, `util.inspect`,
 * spreading and logging a token object never show it; {@link describeToken} lists every other field.
 */
import { TunnelError } from '../errors.ts'
import { identityFromSeed, verifySignature, type Identity } from '../identity/keys.ts'
import { invalid } from './bytes.ts'
import { checkDecodedStrings } from './fields.ts'
import { decodeGrant, encodeGrant, type Grant } from './grant.ts'
import { decodeText, encodeText } from './text.ts'
import {
  SIGNATURE_BYTES,
  SIGNATURE_DOMAIN,
  TOKEN_VERSION,
  clientTokenBody,
  peekKind,
  readClientToken,
  readServerToken,
  serverTokenBody,
  signedMessage,
} from './wire.ts'

/** The serving capability. Times are Unix seconds. */
export interface ServerToken {
  readonly kind: 'server'
  readonly version: typeof TOKEN_VERSION
  /** The server peer's id: the public key of `seed`. */
  readonly serverId: string
  /** Relay addresses the server announces itself to, as `burrow relay` prints them. */
  readonly relays: readonly string[]
  readonly issuedAt: number
  readonly expiresAt: number
  /** The server key's signature over the rest (domain `burrow token v1 server`). */
  readonly signature: Uint8Array
  /** SECRET: the server's 32-byte Ed25519 seed (non-enumerable). */
  readonly seed: Uint8Array
}

/** A client capability: one revocable client identity and the server's grant for it. */
export interface ClientToken {
  readonly kind: 'client'
  readonly version: typeof TOKEN_VERSION
  /** The server's signed statement; send `encodeGrant(token.grant)` in the handshake. */
  readonly grant: Grant
  /** The client key's signature over the rest (domain `burrow token v1 client`). */
  readonly signature: Uint8Array
  /** SECRET: the client's 32-byte Ed25519 seed (non-enumerable). */
  readonly seed: Uint8Array
}

export type Token = ServerToken | ClientToken
export type TokenKind = Token['kind']

/** Freezes `fields` with the seed attached as a non-enumerable copy. */
function withSeed<T extends object>(fields: T, seed: Uint8Array): T & { readonly seed: Uint8Array } {
  Object.defineProperty(fields, 'seed', { value: Uint8Array.from(seed), enumerable: false })
  return Object.freeze(fields) as T & { readonly seed: Uint8Array }
}

/** Builds a server token object (nothing is verified; decoding and minting verify). */
export function serverTokenOf(
  f: { seed: Uint8Array; relays: readonly string[]; issuedAt: number; expiresAt: number },
  serverId: string,
  signature: Uint8Array,
): ServerToken {
  const fields = {
    kind: 'server' as const,
    version: TOKEN_VERSION as typeof TOKEN_VERSION,
    serverId,
    relays: Object.freeze([...f.relays]),
    issuedAt: f.issuedAt,
    expiresAt: f.expiresAt,
    signature: Uint8Array.from(signature),
  }
  return withSeed(fields, f.seed)
}

/** Builds a client token object (nothing is verified). */
export function clientTokenOf(seed: Uint8Array, grant: Grant, signature: Uint8Array): ClientToken {
  const fields = {
    kind: 'client' as const,
    version: TOKEN_VERSION as typeof TOKEN_VERSION,
    grant,
    signature: Uint8Array.from(signature),
  }
  return withSeed(fields, seed)
}

function verifyOrThrow(
  id: string,
  domain: string,
  body: Uint8Array,
  signature: Uint8Array,
  what: string,
): void {
  if (!verifySignature(id, signedMessage(domain, body), signature))
    throw invalid(`${what}: the signature does not verify (the token was changed or damaged)`)
}

function join(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `a token signature is ${SIGNATURE_BYTES} bytes`)
  const out = new Uint8Array(body.length + signature.length)
  out.set(body, 0)
  out.set(signature, body.length)
  return out
}

/** The binary form of a token (the bytes inside its text form). */
export function tokenToBytes(token: Token): Uint8Array {
  switch (token?.kind) {
    case 'server':
      return join(serverTokenBody(token), token.signature)
    case 'client':
      return join(clientTokenBody({ seed: token.seed, grant: encodeGrant(token.grant) }), token.signature)
    default:
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'not a burrow token object')
  }
}

/** The text form: `burrow-server-v1.<base64url>` or `burrow-client-v1.<base64url>`. */
export function encodeToken(token: Token): string {
  return encodeText(token.kind, tokenToBytes(token))
}

function serverFromBytes(bytes: Uint8Array): ServerToken {
  const { fields, body, signature } = readServerToken(bytes)
  checkDecodedStrings('server token', fields)
  const identity = identityFromSeed(fields.seed)
  verifyOrThrow(identity.id, SIGNATURE_DOMAIN.server, body, signature, 'server token')
  return serverTokenOf(fields, identity.id, signature)
}

function clientFromBytes(bytes: Uint8Array): ClientToken {
  const { fields, body, signature } = readClientToken(bytes)
  const grant = decodeGrant(fields.grant)
  const identity = identityFromSeed(fields.seed)
  if (identity.id !== grant.clientId)
    throw invalid('client token: its key is not the client key its grant names')
  verifyOrThrow(identity.id, SIGNATURE_DOMAIN.client, body, signature, 'client token')
  return clientTokenOf(fields.seed, grant, signature)
}

/**
 * Reads a token's binary form and verifies everything it can prove by itself: layout, limits,
 * strings, and its signatures (a server token's by its own key; a client token's grant by the
 * server it names, and the whole by the client key the grant names). Expiry is not judged here
 * (see {@link tokenValidity}); `inspect` shows expired tokens.
 *
 * @throws TunnelError `TUN_ERR_TOKEN_INVALID` for anything malformed, truncated or tampered with.
 */
export function tokenFromBytes(bytes: Uint8Array): Token {
  if (!(bytes instanceof Uint8Array)) throw invalid('a token is bytes')
  switch (peekKind(bytes)) {
    case 'server':
      return serverFromBytes(bytes)
    case 'client':
      return clientFromBytes(bytes)
    case 'grant':
      throw invalid('these bytes are a grant, not a token (a grant has no secret and no text form)')
    default:
      throw invalid('not a burrow token (unknown kind byte)')
  }
}

/**
 * Reads a token text (whitespace around it is ignored) and verifies it as {@link tokenFromBytes}
 * does; the kind in the prefix must match the kind inside.
 *
 * @throws TunnelError `TUN_ERR_TOKEN_INVALID`.
 */
export function decodeToken(text: string): Token {
  const { kind, bytes } = decodeText(text)
  if (peekKind(bytes) !== kind) throw invalid(`the ${kind} token prefix does not match the token inside`)
  return tokenFromBytes(bytes)
}

/** Throws `TUN_ERR_TOKEN_KIND` unless `token` is of `kind`, saying what was given instead. */
export function requireKind<K extends TokenKind>(token: Token, kind: K): Extract<Token, { kind: K }> {
  if (token?.kind !== 'server' && token?.kind !== 'client')
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'not a burrow token object')
  if (token.kind !== kind) {
    const why =
      kind === 'server'
        ? 'a client token cannot serve or mint tokens: use the server token'
        : 'a server token was given where a client token is needed (mint one: burrow token client)'
    throw new TunnelError('TUN_ERR_TOKEN_KIND', why)
  }
  return token as Extract<Token, { kind: K }>
}

/** {@link decodeToken}, then `TUN_ERR_TOKEN_KIND` unless it is a server token. */
export function decodeServerToken(text: string): ServerToken {
  return requireKind(decodeToken(text), 'server')
}

/** {@link decodeToken}, then `TUN_ERR_TOKEN_KIND` unless it is a client token. */
export function decodeClientToken(text: string): ClientToken {
  return requireKind(decodeToken(text), 'client')
}

/** The identity a token carries: the server's for a server token, the client's for a client token. */
export function identityOf(token: Token): Identity {
  return identityFromSeed(requireKind(token, token?.kind).seed)
}
