/**
 * What `burrow token inspect` shows (pure): every field of a token except its secrets, with times
 * in ISO 8601, and whether it is valid at a given time. Nothing here can reach a seed: the
 * description is built field by field, never by copying the token.
 */
import { isoTime, nowSeconds, validityAt, type TokenValidity } from './times.ts'
import { requireKind, type Token } from './token.ts'

/** A token without its secrets: safe to print, log or serialise. */
export interface TokenDescription {
  readonly kind: 'server' | 'client'
  readonly version: number
  readonly serverId: string
  /** Client tokens only. */
  readonly clientId?: string
  /** Client tokens only: 32 hex characters, what a revocation file names. */
  readonly tokenId?: string
  /** Client tokens only, when one was given. */
  readonly name?: string
  readonly relays: readonly string[]
  /** Client tokens only; empty means the server's default target only. */
  readonly targets?: readonly string[]
  readonly issuedAt: string
  /** Client tokens only. */
  readonly notBefore?: string
  readonly expiresAt: string
}

/** Every non-secret field of `token` (no seed, no signature). */
export function describeToken(token: Token): TokenDescription {
  requireKind(token, token?.kind)
  if (token.kind === 'server') {
    return {
      kind: 'server',
      version: token.version,
      serverId: token.serverId,
      relays: [...token.relays],
      issuedAt: isoTime(token.issuedAt),
      expiresAt: isoTime(token.expiresAt),
    }
  }
  const g = token.grant
  return {
    kind: 'client',
    version: token.version,
    serverId: g.serverId,
    clientId: g.clientId,
    tokenId: g.tokenId,
    ...(g.name === undefined ? {} : { name: g.name }),
    relays: [...g.relays],
    targets: [...g.targets],
    issuedAt: isoTime(g.issuedAt),
    notBefore: isoTime(g.notBefore),
    expiresAt: isoTime(g.expiresAt),
  }
}

/**
 * Whether `token` is usable at `now` (ms since the epoch), with no clock-skew allowance: a server
 * token is valid until it expires; a client token from `notBefore` until `expiresAt` (exclusive).
 */
export function tokenValidity(token: Token, now: number): TokenValidity {
  requireKind(token, token?.kind)
  const at = nowSeconds(now)
  return token.kind === 'server'
    ? validityAt({ expiresAt: token.expiresAt }, at)
    : validityAt(token.grant, at)
}
