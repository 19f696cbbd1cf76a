// Golden vectors (test/vectors/burrow-tokens.json): fixed seeds, fields, clock and random bytes
// give these exact token texts and grant bytes, and the pinned texts decode to the pinned fields.
// A change to the format, the domains or the field order breaks this test on purpose.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { identityFromSeed } from '../../../src/identity/keys.ts'
import {
  createServerToken,
  decodeGrant,
  decodeToken,
  encodeGrant,
  encodeToken,
  mintClientToken,
  requireKind,
  tokenToBytes,
} from '../../../src/token/index.ts'
import { scriptedRandom } from './fixtures.ts'

interface ClientVector {
  label: string
  random: string
  targets: string[]
  name?: string
  now: number
  days?: number
  notBefore?: string
  expect: {
    token: string
    bytes: string
    clientId: string
    tokenId: string
    expiresAt: number
    grant: string
  }
}
const vectors = JSON.parse(
  readFileSync(new URL('../../vectors/burrow-tokens.json', import.meta.url), 'utf8'),
) as {
  server: {
    seed: string
    relays: string[]
    now: number
    expect: { token: string; bytes: string; serverId: string; expiresAt: number }
  }
  clients: ClientVector[]
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const serverInput = vectors.server
const server = createServerToken({
  identity: identityFromSeed(Buffer.from(serverInput.seed, 'hex')),
  relays: serverInput.relays,
  now: serverInput.now,
})

test('server token vector: the exact text and bytes', () => {
  assert.equal(encodeToken(server), serverInput.expect.token)
  assert.equal(hex(tokenToBytes(server)), serverInput.expect.bytes)
  assert.equal(server.serverId, serverInput.expect.serverId)
  assert.equal(server.expiresAt, serverInput.expect.expiresAt)
  assert.equal(server.expiresAt - server.issuedAt, 180 * 86_400, 'the default lifetime is 180 days')
})

test('server token vector: the pinned text decodes to the pinned fields and seed', () => {
  const token = requireKind(decodeToken(serverInput.expect.token), 'server')
  assert.equal(token.serverId, serverInput.expect.serverId)
  assert.deepEqual(token.relays, serverInput.relays)
  assert.equal(token.issuedAt, serverInput.now / 1000)
  assert.equal(hex(token.seed), serverInput.seed)
  assert.equal(encodeToken(token), serverInput.expect.token)
})

for (const v of vectors.clients) {
  const mint = () =>
    mintClientToken(server, {
      targets: v.targets,
      ...(v.name === undefined ? {} : { name: v.name }),
      ...(v.days === undefined ? {} : { days: v.days }),
      ...(v.notBefore === undefined ? {} : { notBefore: new Date(v.notBefore) }),
      now: v.now,
      random: scriptedRandom(v.random),
    })

  test(`client token vector (${v.label}): the exact text, bytes and grant bytes`, () => {
    const token = mint()
    assert.equal(encodeToken(token), v.expect.token)
    assert.equal(hex(tokenToBytes(token)), v.expect.bytes)
    assert.equal(hex(encodeGrant(token.grant)), v.expect.grant)
    assert.equal(token.grant.clientId, v.expect.clientId)
    assert.equal(token.grant.tokenId, v.expect.tokenId)
    assert.equal(token.grant.expiresAt, v.expect.expiresAt)
  })

  test(`client token vector (${v.label}): the pinned text and grant decode back`, () => {
    const token = requireKind(decodeToken(v.expect.token), 'client')
    assert.equal(hex(token.seed), v.random.slice(0, 64))
    assert.equal(token.grant.serverId, serverInput.expect.serverId)
    assert.deepEqual(token.grant.targets, v.targets)
    assert.equal(token.grant.name, v.name)
    assert.equal(encodeToken(token), v.expect.token)
    const grant = decodeGrant(Buffer.from(v.expect.grant, 'hex'))
    assert.deepEqual(grant, token.grant)
    assert.equal(hex(encodeGrant(grant)), v.expect.grant)
  })
}

test('the grant inside a client token is byte for byte the grant sent in handshakes', () => {
  for (const v of vectors.clients) assert.ok(v.expect.bytes.includes(v.expect.grant), v.label)
})
