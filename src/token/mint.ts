/**
 * Making tokens (pure given `now` and `random`): server tokens from an identity and relays, client
 * tokens from a server token. Every input is checked here with `TUN_ERR_INVALID_ARGUMENT` saying
 * what to fix, so a token that is made always decodes.
 */
import { TunnelError } from '../errors.ts'
import { identityFromSeed, identitySeed, signMessage, type Identity } from '../identity/keys.ts'
import { canonicalTargets, checkName, checkRelaysForToken } from './fields.ts'
import { grantOf } from './grant.ts'
import {
  DEFAULT_CLIENT_TOKEN_DAYS,
  DEFAULT_SERVER_TOKEN_DAYS,
  dateSeconds,
  isoTime,
  nowSeconds,
  resolveExpiry,
  type LifetimeOptions,
} from './times.ts'
import { clientTokenOf, requireKind, serverTokenOf, type ClientToken, type ServerToken } from './token.ts'
import {
  SEED_BYTES,
  SIGNATURE_DOMAIN,
  TOKEN_ID_BYTES,
  clientTokenBody,
  grantBody,
  serverTokenBody,
  signedMessage,
} from './wire.ts'

/** A source of random bytes: `random(n)` returns `n` fresh bytes. Injected in tests. */
export type RandomSource = (n: number) => Uint8Array

/**
 * The default random source: the Web Crypto CSPRNG of Node, which is OpenSSL's (node:crypto), the
 * same generator as node:crypto's randomBytes.
 */
export const systemRandom: RandomSource = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n))

function take(random: RandomSource, n: number): Uint8Array {
  const bytes = random(n)
  if (!(bytes instanceof Uint8Array) || bytes.length !== n)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `random(${n}) must return ${n} bytes`)
  return Uint8Array.from(bytes)
}

export interface CreateServerTokenOptions extends LifetimeOptions {
  /** The server identity to carry (keep a running server's id); a fresh one when absent. */
  readonly identity?: Identity
  /** Relay addresses (`tcp:host:port~noise:<relay id>`); may be empty (then serve names them). */
  readonly relays?: readonly string[]
  /** The issue time in ms (`Date.now()` when absent: the one clock read, at the API edge). */
  readonly now?: number
  readonly random?: RandomSource
}

/**
 * Makes a server token: the identity's seed, the relays, `issuedAt` = now and `expiresAt` (default
 * {@link DEFAULT_SERVER_TOKEN_DAYS} days), signed by the identity.
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` (relays, times), `TUN_ERR_ADDRESS_SYNTAX`,
 *   `TUN_ERR_ADDRESS_UNSUPPORTED` or `TUN_ERR_ID_INVALID` for a bad relay address.
 */
export function createServerToken(options: CreateServerTokenOptions = {}): ServerToken {
  const issuedAt = nowSeconds(options.now ?? Date.now())
  const { expiresAt } = resolveExpiry(issuedAt, options, DEFAULT_SERVER_TOKEN_DAYS)
  const relays = checkRelaysForToken(options.relays ?? [])
  const identity = options.identity ?? identityFromSeed(take(options.random ?? systemRandom, SEED_BYTES))
  const seed = identitySeed(identity)
  try {
    const fields = { seed, relays, issuedAt, expiresAt }
    const body = serverTokenBody(fields)
    const signature = signMessage(identity, signedMessage(SIGNATURE_DOMAIN.server, body))
    return serverTokenOf(fields, identity.id, signature)
  } finally {
    seed.fill(0)
  }
}

export interface MintClientTokenOptions extends LifetimeOptions {
  /** Allowed targets (`tcp://host:port`); none means the server's default target only. */
  readonly targets?: readonly string[]
  /** A label for logs and `inspect` (1-64 bytes, no control characters). */
  readonly name?: string
  /** Valid from (default: the issue time). */
  readonly notBefore?: Date
  /** The issue time in ms (`Date.now()` when absent). */
  readonly now?: number
  readonly random?: RandomSource
}

/**
 * Mints a client token from a server token: a fresh client key (so each client token is a distinct
 * identity, revocable on its own), and a grant for it signed by the server key. The expiry defaults
 * to {@link DEFAULT_CLIENT_TOKEN_DAYS} days, clamped to the server token's; an explicit expiry
 * (`expiresAt` or `days`) past the server token's is refused.
 *
 * @throws TunnelError `TUN_ERR_TOKEN_KIND` (a client token given), `TUN_ERR_TOKEN_EXPIRED` (the
 *   server token has expired), `TUN_ERR_INVALID_ARGUMENT` (times, targets, name, size).
 */
export function mintClientToken(server: ServerToken, options: MintClientTokenOptions = {}): ClientToken {
  requireKind(server, 'server')
  const issuedAt = nowSeconds(options.now ?? Date.now())
  if (issuedAt >= server.expiresAt)
    throw new TunnelError('TUN_ERR_TOKEN_EXPIRED', `the server token expired at ${isoTime(server.expiresAt)}`)
  const notBefore = options.notBefore === undefined ? issuedAt : dateSeconds(options.notBefore, 'notBefore')
  if (notBefore < issuedAt)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `notBefore ${isoTime(notBefore)} is in the past`)
  const asked = resolveExpiry(issuedAt, options, DEFAULT_CLIENT_TOKEN_DAYS)
  if (asked.explicit && asked.expiresAt > server.expiresAt) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `a client token cannot outlive its server token: asked for ${isoTime(asked.expiresAt)}, the server token expires ${isoTime(server.expiresAt)}`,
    )
  }
  const expiresAt = Math.min(asked.expiresAt, server.expiresAt)
  if (expiresAt <= notBefore) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `the token would expire (${isoTime(expiresAt)}) before it becomes valid (${isoTime(notBefore)})`,
    )
  }
  const targets = canonicalTargets(options.targets ?? [])
  const name = checkName(options.name)
  const serverIdentity = identityFromSeed(server.seed)
  if (serverIdentity.id !== server.serverId)
    throw new TunnelError('TUN_ERR_TOKEN_INVALID', 'the server token seed does not match its server id')
  const random = options.random ?? systemRandom
  const seed = take(random, SEED_BYTES)
  const tokenId = take(random, TOKEN_ID_BYTES)
  try {
    const client = identityFromSeed(seed)
    const wire = {
      serverKey: serverIdentity.publicKey,
      clientKey: client.publicKey,
      tokenId,
      issuedAt,
      notBefore,
      expiresAt,
      name,
      relays: server.relays,
      targets,
    }
    const gBody = grantBody(wire)
    const grant = grantOf(wire, signMessage(serverIdentity, signedMessage(SIGNATURE_DOMAIN.grant, gBody)))
    const grantBytes = new Uint8Array(gBody.length + grant.signature.length)
    grantBytes.set(gBody, 0)
    grantBytes.set(grant.signature, gBody.length)
    const body = clientTokenBody({ seed, grant: grantBytes })
    const signature = signMessage(client, signedMessage(SIGNATURE_DOMAIN.client, body))
    return clientTokenOf(seed, grant, signature)
  } finally {
    seed.fill(0)
  }
}
