// What a server checks at every handshake (verifyGrant), in its documented order, and the rules of
// minting: kinds, lifetimes, clamping to the server token's expiry.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createServerToken,
  decodeClientToken,
  decodeServerToken,
  encodeGrant,
  encodeToken,
  identityOf,
  mintClientToken,
  parseRevocationList,
  requireKind,
  tokenValidity,
  verifyGrant,
  type ClientToken,
} from '../../../src/token/index.ts'
import {
  DAY,
  HOUR,
  RELAY_ADDRESS,
  SERVER,
  T0,
  assertCode,
  countingRandom,
  fixedIdentity,
  flipBit,
} from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const mint = (options: Parameters<typeof mintClientToken>[1] = {}): ClientToken =>
  mintClientToken(server, { now: T0 + HOUR, random: countingRandom(1), ...options })
const client = mint({ days: 30 })
const grant = encodeGrant(client.grant)
const at = (ms: number) => ({ serverId: server.serverId, now: ms })
/** The grant with a bit of its signature flipped: a forgery in everything else valid. */
const forged = flipBit(grant, grant.length - 1, 0)

test('a valid grant is accepted and comes back whole', () => {
  assert.deepEqual(verifyGrant(grant, at(T0 + 2 * HOUR)), client.grant)
  assert.deepEqual(
    verifyGrant(grant, { ...at(T0 + 2 * HOUR), clientId: client.grant.clientId }),
    client.grant,
  )
})

test('a grant for another server: TUN_ERR_TOKEN_WRONG_SERVER', () => {
  const other = createServerToken({ identity: fixedIdentity(0x99), relays: [RELAY_ADDRESS], now: T0 })
  const err = assertCode(
    () => verifyGrant(grant, { serverId: other.serverId, now: T0 + 2 * HOUR }),
    ['TUN_ERR_TOKEN_WRONG_SERVER'],
  )
  assert.match(err.message, new RegExp(server.serverId))
})

test('expiry: valid up to the last second, TUN_ERR_TOKEN_EXPIRED from expiresAt on', () => {
  const end = client.grant.expiresAt * 1000
  verifyGrant(grant, at(end - 1))
  assertCode(() => verifyGrant(grant, at(end)), ['TUN_ERR_TOKEN_EXPIRED'])
  assertCode(() => verifyGrant(grant, at(end + 365 * DAY)), ['TUN_ERR_TOKEN_EXPIRED'])
})

test('notBefore: TUN_ERR_TOKEN_NOT_YET_VALID before it, with a bounded clock-skew allowance', () => {
  const later = mint({ notBefore: new Date(T0 + 2 * DAY) })
  const bytes = encodeGrant(later.grant)
  const start = later.grant.notBefore * 1000
  assertCode(() => verifyGrant(bytes, at(T0 + DAY)), ['TUN_ERR_TOKEN_NOT_YET_VALID'])
  assertCode(() => verifyGrant(bytes, at(start - 301_000)), ['TUN_ERR_TOKEN_NOT_YET_VALID'])
  verifyGrant(bytes, at(start - 299_000)) // within the default 300 s skew
  assertCode(
    () => verifyGrant(bytes, { ...at(start - 1000), skewSeconds: 0 }),
    ['TUN_ERR_TOKEN_NOT_YET_VALID'],
  )
  verifyGrant(bytes, { ...at(start), skewSeconds: 0 })
})

test('revoked by token id or by client id: TUN_ERR_TOKEN_REVOKED', () => {
  const byToken = parseRevocationList(`# lost laptop\n${client.grant.tokenId.toUpperCase()}\n`, 'revoked')
  const byClient = parseRevocationList(`${client.grant.clientId}  # every token for this key\n`, 'revoked')
  const unrelated = parseRevocationList(`${'ab'.repeat(16)}\n${fixedIdentity(5).id}\n`, 'revoked')
  for (const list of [byToken, byClient])
    assertCode(
      () => verifyGrant(grant, { ...at(T0 + 2 * HOUR), isRevoked: list.isRevoked }),
      ['TUN_ERR_TOKEN_REVOKED'],
    )
  verifyGrant(grant, { ...at(T0 + 2 * HOUR), isRevoked: unrelated.isRevoked })
})

test('a grant presented by another client key, or with a bad signature: TUN_ERR_TOKEN_INVALID', () => {
  assertCode(
    () => verifyGrant(grant, { ...at(T0 + 2 * HOUR), clientId: fixedIdentity(3).id }),
    ['TUN_ERR_TOKEN_INVALID'],
  )
  const err = assertCode(() => verifyGrant(forged, at(T0 + 2 * HOUR)), ['TUN_ERR_TOKEN_INVALID'])
  assert.match(err.message, /signature/)
})

test('the checks run in the documented order: wrong server, expired, not yet valid, revoked, invalid', () => {
  const revokeAll = () => true
  const expiredTime = client.grant.expiresAt * 1000
  const later = encodeGrant(mint({ notBefore: new Date(T0 + 2 * DAY) }).grant)
  const otherServer = fixedIdentity(0x99).id
  // wrong server beats expired, revoked and a bad signature
  assertCode(
    () => verifyGrant(forged, { serverId: otherServer, now: expiredTime, isRevoked: revokeAll }),
    ['TUN_ERR_TOKEN_WRONG_SERVER'],
  )
  // expired beats revoked and a bad signature
  assertCode(
    () => verifyGrant(forged, { ...at(expiredTime), isRevoked: revokeAll }),
    ['TUN_ERR_TOKEN_EXPIRED'],
  )
  // not yet valid beats revoked
  assertCode(
    () => verifyGrant(later, { ...at(T0 + 2 * HOUR), isRevoked: revokeAll }),
    ['TUN_ERR_TOKEN_NOT_YET_VALID'],
  )
  // revoked beats a bad signature and a client mismatch
  assertCode(
    () => verifyGrant(forged, { ...at(T0 + 2 * HOUR), isRevoked: revokeAll, clientId: otherServer }),
    ['TUN_ERR_TOKEN_REVOKED'],
  )
  // malformed bytes are invalid before anything else
  assertCode(
    () => verifyGrant(grant.subarray(0, 10), { serverId: otherServer, now: expiredTime }),
    ['TUN_ERR_TOKEN_INVALID'],
  )
})

test('a client token cannot serve or mint, and a server token is not a client token: TUN_ERR_TOKEN_KIND', () => {
  assertCode(() => decodeServerToken(encodeToken(client)), ['TUN_ERR_TOKEN_KIND'])
  assertCode(() => decodeClientToken(encodeToken(server)), ['TUN_ERR_TOKEN_KIND'])
  assertCode(() => mintClientToken(client as never, { now: T0 + HOUR }), ['TUN_ERR_TOKEN_KIND'])
  assertCode(() => requireKind(client, 'server'), ['TUN_ERR_TOKEN_KIND'])
  assert.equal(decodeServerToken(encodeToken(server)).serverId, server.serverId)
  assert.equal(decodeClientToken(encodeToken(client)).grant.tokenId, client.grant.tokenId)
})

test('a client token never outlives its server token: the default is clamped, an explicit ask refused', () => {
  const short = createServerToken({ identity: SERVER, days: 10, now: T0 })
  const clamped = mintClientToken(short, { now: T0 + HOUR })
  assert.equal(clamped.grant.expiresAt, short.expiresAt)
  assert.equal(mintClientToken(short, { now: T0, days: 10 }).grant.expiresAt, short.expiresAt)
  const err = assertCode(() => mintClientToken(short, { now: T0, days: 11 }), ['TUN_ERR_INVALID_ARGUMENT'])
  assert.match(err.message, /cannot outlive its server token/)
  assertCode(
    () => mintClientToken(short, { now: T0, expiresAt: new Date(T0 + 11 * DAY) }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assert.equal(mint().grant.expiresAt - mint().grant.issuedAt, 90 * 86_400, 'the default is 90 days')
})

test('minting checks its times: expired server token, notBefore in the past or after expiry, both lifetimes', () => {
  assertCode(() => mintClientToken(server, { now: server.expiresAt * 1000 }), ['TUN_ERR_TOKEN_EXPIRED'])
  assertCode(() => mint({ notBefore: new Date(T0) }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ days: 1, notBefore: new Date(T0 + 3 * DAY) }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ days: 1, expiresAt: new Date(T0 + DAY) }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ expiresAt: new Date(T0) }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ days: 0 }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ days: 1.5 }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => mint({ now: Number.NaN }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => createServerToken({ now: T0, expiresAt: new Date(T0 - 1) }), ['TUN_ERR_INVALID_ARGUMENT'])
})

test('every client token is a distinct identity with its own token id', () => {
  const a = mintClientToken(server, { now: T0 + HOUR })
  const b = mintClientToken(server, { now: T0 + HOUR })
  assert.notEqual(a.grant.clientId, b.grant.clientId)
  assert.notEqual(a.grant.tokenId, b.grant.tokenId)
  assert.equal(identityOf(a).id, a.grant.clientId)
  assert.equal(identityOf(server).id, server.serverId)
  assert.equal(identityOf(server).id, SERVER.id)
})

test('validity now: server tokens until expiry, client tokens from notBefore until expiry', () => {
  assert.equal(tokenValidity(server, T0), 'valid')
  assert.equal(tokenValidity(server, server.expiresAt * 1000), 'expired')
  const later = mint({ notBefore: new Date(T0 + 2 * DAY) })
  assert.equal(tokenValidity(later, T0 + DAY), 'not-yet-valid')
  assert.equal(tokenValidity(later, T0 + 2 * DAY), 'valid')
  assert.equal(tokenValidity(later, later.grant.expiresAt * 1000), 'expired')
})
