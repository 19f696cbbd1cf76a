/**
 * Grants (pure): what a client presents to a server peer at the end of every end-to-end handshake.
 * A grant says "server S lets client key C reach these targets through these relays from
 * `notBefore` until `expiresAt`", signed by S. It holds no secret: the client proves it holds C's
 * private key in the Noise handshake itself, so a grant copied off a machine is useless without the
 * client token's seed.
 */
import { TunnelError } from '../errors.ts'
import { idFromPublicKey, isId, publicKeyFromId, verifySignature } from '../identity/keys.ts'
import { formatTargetUrl, parseTargetUrl } from '../policy/url.ts'
import { invalid } from './bytes.ts'
import { checkDecodedStrings } from './fields.ts'
import { NOT_BEFORE_SKEW_SECONDS, isoTime, nowSeconds, validityAt } from './times.ts'
import {
  SIGNATURE_BYTES,
  SIGNATURE_DOMAIN,
  TOKEN_VERSION,
  grantBody,
  readGrant,
  signedMessage,
  type GrantWire,
} from './wire.ts'

/** A decoded grant. Times are Unix seconds. */
export interface Grant {
  readonly version: typeof TOKEN_VERSION
  /** The server peer that signed it (and the only one that accepts it). */
  readonly serverId: string
  /** The client key it was issued to: the handshake must prove this key. */
  readonly clientId: string
  /** 16 random bytes as 32 lowercase hex characters: what a revocation file names. */
  readonly tokenId: string
  /** A label for logs and `inspect`; never authorises anything. */
  readonly name: string | undefined
  /** Relay addresses to reach the server through, as `burrow relay` prints them. */
  readonly relays: readonly string[]
  /** Allowed targets (`tcp://host:port`); empty means the server's default target only. */
  readonly targets: readonly string[]
  readonly issuedAt: number
  readonly notBefore: number
  readonly expiresAt: number
  /** The server's Ed25519 signature over the rest (domain `burrow token v1 grant`). */
  readonly signature: Uint8Array
}

/** A grant and the bytes its signature covers, before the signature is checked. */
interface Parsed {
  readonly grant: Grant
  readonly body: Uint8Array
}

const TOKEN_ID = /^[0-9a-f]{32}$/

/** The wire fields of a grant object (checking what the wire cannot: ids, token id). */
export function grantWire(grant: Grant): GrantWire {
  if (typeof grant.tokenId !== 'string' || !TOKEN_ID.test(grant.tokenId))
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a token id is 32 lowercase hex characters')
  return {
    serverKey: publicKeyFromId(grant.serverId),
    clientKey: publicKeyFromId(grant.clientId),
    tokenId: new Uint8Array(Buffer.from(grant.tokenId, 'hex')),
    issuedAt: grant.issuedAt,
    notBefore: grant.notBefore,
    expiresAt: grant.expiresAt,
    name: grant.name,
    relays: grant.relays,
    targets: grant.targets,
  }
}

/** A frozen grant object from wire fields and a signature. */
export function grantOf(f: GrantWire, signature: Uint8Array): Grant {
  return Object.freeze({
    version: TOKEN_VERSION,
    serverId: idFromPublicKey(f.serverKey),
    clientId: idFromPublicKey(f.clientKey),
    tokenId: Buffer.from(f.tokenId).toString('hex'),
    name: f.name,
    relays: Object.freeze([...f.relays]),
    targets: Object.freeze([...f.targets]),
    issuedAt: f.issuedAt,
    notBefore: f.notBefore,
    expiresAt: f.expiresAt,
    signature: Uint8Array.from(signature),
  })
}

/**
 * The binary form of a grant, as it travels in a handshake payload. The grant must carry its
 * signature (grants are made by {@link mintClientToken} or read by {@link decodeGrant}).
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` for a field no grant can carry.
 */
export function encodeGrant(grant: Grant): Uint8Array {
  const body = grantBody(grantWire(grant))
  if (!(grant.signature instanceof Uint8Array) || grant.signature.length !== SIGNATURE_BYTES)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `a grant signature is ${SIGNATURE_BYTES} bytes`)
  const out = new Uint8Array(body.length + SIGNATURE_BYTES)
  out.set(body, 0)
  out.set(grant.signature, body.length)
  return out
}

/** Structure only: layout, limits, strings. */
function parseGrant(bytes: Uint8Array): Parsed {
  const signed = readGrant(bytes)
  checkDecodedStrings('grant', signed.fields)
  return { grant: grantOf(signed.fields, signed.signature), body: signed.body }
}

function checkSignature({ grant, body }: Parsed): void {
  let ok = false
  try {
    ok = verifySignature(grant.serverId, signedMessage(SIGNATURE_DOMAIN.grant, body), grant.signature)
  } catch (err) {
    throw invalid('grant: the server key is not a valid Ed25519 key', err)
  }
  if (!ok) throw invalid(`grant: the signature by server ${grant.serverId} does not verify`)
}

/**
 * Reads a grant and checks its structure and that the server it names signed it. This says nothing
 * about whether to let the client in: a server uses {@link verifyGrant}.
 *
 * @throws TunnelError `TUN_ERR_TOKEN_INVALID` for any malformed, truncated or tampered grant.
 */
export function decodeGrant(bytes: Uint8Array): Grant {
  const parsed = parseGrant(bytes)
  checkSignature(parsed)
  return parsed.grant
}

export interface VerifyGrantOptions {
  /** This server's id: a grant signed by any other key is refused. */
  readonly serverId: string
  /** The time to judge by, in ms since the epoch (`Date.now()`). Required: pure code reads no clock. */
  readonly now: number
  /** Revocation (by token id or client id, see revocation.ts); called with the unverified grant. */
  readonly isRevoked?: (grant: Grant) => boolean
  /** The client key the handshake proved; when given, the grant must name it. */
  readonly clientId?: string
  /** Tolerance for a `notBefore` ahead of this clock (default {@link NOT_BEFORE_SKEW_SECONDS}). */
  readonly skewSeconds?: number
}

/**
 * What a server peer runs on the grant of every handshake. The checks run in this order, and the
 * first that fails throws:
 *
 * 1. structure (layout, limits, strings): `TUN_ERR_TOKEN_INVALID`, since nothing else can be read;
 * 2. the grant names this server: `TUN_ERR_TOKEN_WRONG_SERVER`;
 * 3. not expired (`now >= expiresAt` is expired): `TUN_ERR_TOKEN_EXPIRED`;
 * 4. not before `notBefore` (less the skew): `TUN_ERR_TOKEN_NOT_YET_VALID`;
 * 5. not revoked (`isRevoked`): `TUN_ERR_TOKEN_REVOKED`;
 * 6. issued to the client key the handshake proved (`clientId`), then the server's signature:
 *    `TUN_ERR_TOKEN_INVALID`.
 *
 * Why the signature comes last: every step refuses, so the order changes only which code a forged
 * grant gets, never whether it gets in; and the cheap comparisons spare the Ed25519 verify (the
 * costliest step) on the stale and misdirected grants that are most of what gets refused.
 */
export function verifyGrant(bytes: Uint8Array, options: VerifyGrantOptions): Grant {
  if (!isId(options.serverId))
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'verifyGrant needs this server id (52 base32)')
  const now = nowSeconds(options.now)
  const parsed = parseGrant(bytes)
  const { grant } = parsed
  if (grant.serverId !== options.serverId) {
    throw new TunnelError(
      'TUN_ERR_TOKEN_WRONG_SERVER',
      `the client token was issued by server ${grant.serverId}, not by this server ${options.serverId}`,
    )
  }
  const validity = validityAt(grant, now, options.skewSeconds ?? NOT_BEFORE_SKEW_SECONDS)
  if (validity === 'expired')
    throw new TunnelError('TUN_ERR_TOKEN_EXPIRED', `the client token expired at ${isoTime(grant.expiresAt)}`)
  if (validity === 'not-yet-valid') {
    throw new TunnelError(
      'TUN_ERR_TOKEN_NOT_YET_VALID',
      `the client token is valid from ${isoTime(grant.notBefore)} on`,
    )
  }
  if (options.isRevoked?.(grant) === true) {
    throw new TunnelError(
      'TUN_ERR_TOKEN_REVOKED',
      `the client token ${grant.tokenId} (client ${grant.clientId}) was revoked`,
    )
  }
  if (options.clientId !== undefined && options.clientId !== grant.clientId)
    throw invalid(`grant: issued to client ${grant.clientId}, presented by ${options.clientId}`)
  checkSignature(parsed)
  return grant
}

/**
 * Whether a (verified) grant lets its holder reach a target. `requested` is what the client asked
 * for, or undefined for the server's default; `defaultTarget` is the server's default, if any. With
 * no targets in the grant only the default is allowed; otherwise only the listed ones. Targets are
 * compared in canonical form. A grant only ever narrows: the server's own target policy still applies.
 */
export function grantAllowsTarget(
  grant: Pick<Grant, 'targets'>,
  requested: string | undefined,
  defaultTarget: string | undefined,
): boolean {
  const canonical = (t: string): string => formatTargetUrl(parseTargetUrl(t))
  const wanted = requested ?? defaultTarget
  if (wanted === undefined) return false
  const target = canonical(wanted)
  if (grant.targets.length === 0) return defaultTarget !== undefined && target === canonical(defaultTarget)
  return grant.targets.some((t) => canonical(t) === target)
}
