// The binary layouts of src/token/wire.ts: field offsets as documented, limits enforced both ways,
// structural errors named, one encoding per value.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { identityFromSeed, signMessage } from '../../../src/identity/keys.ts'
import {
  MAX_GRANT_BYTES,
  MAX_TIME_SECONDS,
  MAX_TOKEN_BYTES,
  SIGNATURE_DOMAIN,
  createServerToken,
  decodeGrant,
  encodeGrant,
  mintClientToken,
  tokenFromBytes,
  tokenToBytes,
} from '../../../src/token/index.ts'
import { grantBody, serverTokenBody, signedMessage } from '../../../src/token/wire.ts'
import { HOUR, RELAY_ADDRESS, SERVER, T0, assertCode, countingRandom } from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const client = mintClientToken(server, {
  targets: ['tcp://127.0.0.1:22'],
  name: 'n',
  now: T0 + HOUR,
  random: countingRandom(1),
})
const u64 = (b: Uint8Array, at: number): number => Number(Buffer.from(b).readBigUInt64BE(at))
const seedOf = (b: Uint8Array) => Buffer.from(b.subarray(2, 34)).toString('hex')

test('server token layout: version, kind, seed, times, relays, then the 64-byte signature', () => {
  const b = tokenToBytes(server)
  assert.deepEqual([b[0], b[1]], [1, 0x01])
  assert.equal(seedOf(b), '11'.repeat(32))
  assert.equal(u64(b, 34), T0 / 1000)
  assert.equal(u64(b, 42), server.expiresAt)
  assert.equal(b[50], 1)
  assert.equal(Buffer.from(b).readUInt16BE(51), RELAY_ADDRESS.length)
  assert.equal(Buffer.from(b.subarray(53, 53 + RELAY_ADDRESS.length)).toString(), RELAY_ADDRESS)
  assert.equal(b.length, 53 + RELAY_ADDRESS.length + 64)
})

test('grant layout: keys, token id, three times, name, relays, targets, server signature', () => {
  const g = encodeGrant(client.grant)
  assert.deepEqual([g[0], g[1]], [1, 0x03])
  assert.deepEqual(g.subarray(2, 34), SERVER.publicKey)
  assert.deepEqual(g.subarray(34, 66), identityFromSeed(client.seed).publicKey)
  assert.equal(Buffer.from(g.subarray(66, 82)).toString('hex'), client.grant.tokenId)
  assert.deepEqual(
    [u64(g, 82), u64(g, 90), u64(g, 98)],
    [client.grant.issuedAt, client.grant.notBefore, client.grant.expiresAt],
  )
  assert.deepEqual([g[106], g[107]], [1, 'n'.charCodeAt(0)])
  assert.equal(g[108], 1) // one relay
  const targetsAt = 109 + 2 + RELAY_ADDRESS.length
  assert.equal(g[targetsAt], 1)
  assert.equal(g.length, targetsAt + 1 + 2 + 'tcp://127.0.0.1:22'.length + 64)
})

test('client token layout: seed, u16 grant length, the grant, the client signature', () => {
  const b = tokenToBytes(client)
  const g = encodeGrant(client.grant)
  assert.deepEqual([b[0], b[1]], [1, 0x02])
  assert.equal(seedOf(b), Buffer.from(client.seed).toString('hex'))
  assert.equal(Buffer.from(b).readUInt16BE(34), g.length)
  assert.deepEqual(b.subarray(36, 36 + g.length), g)
  assert.equal(b.length, 36 + g.length + 64)
})

/** A server token with these fields, correctly signed by SERVER (to test checks past the signature). */
function signedServerToken(body: Uint8Array): Uint8Array {
  const sig = signMessage(SERVER, signedMessage(SIGNATURE_DOMAIN.server, body))
  return Uint8Array.from([...body, ...sig])
}

test('structural errors are TUN_ERR_TOKEN_INVALID and say what is wrong', () => {
  const b = tokenToBytes(server)
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(2, ...b.subarray(1)), /format version 2/],
    [Uint8Array.of(1, 0x07, ...b.subarray(2)), /unknown kind/],
    [Uint8Array.of(1, 0x03, ...b.subarray(2)), /a grant, not a token/],
    [b.subarray(0, 40), /truncated/],
    [Uint8Array.of(...b, 1, 2), /trailing/],
    [new Uint8Array(MAX_TOKEN_BYTES + 1).fill(1), /at most 8192 bytes/],
  ]
  for (const [bytes, message] of cases) {
    const err = assertCode(() => tokenFromBytes(bytes), ['TUN_ERR_TOKEN_INVALID'])
    assert.match(err.message, message)
  }
  assertCode(() => decodeGrant(new Uint8Array(MAX_GRANT_BYTES + 1)), ['TUN_ERR_TOKEN_INVALID'])
})

test('checks past the layout hold even for a correctly signed token: times, relay grammar', () => {
  const base = {
    seed: new Uint8Array(32).fill(0x11),
    issuedAt: 1000,
    expiresAt: 2000,
    relays: [] as string[],
  }
  tokenFromBytes(signedServerToken(serverTokenBody(base)))
  const body = serverTokenBody({ ...base, relays: ['tcp:relay.example.com:7000'] })
  const grammar = Uint8Array.from(body)
  grammar[53] = '!'.charCodeAt(0) // tcp:... -> !cp:... (signed, so only the grammar check can refuse it)
  assert.match(
    assertCode(() => tokenFromBytes(signedServerToken(grammar)), ['TUN_ERR_TOKEN_INVALID']).message,
    /relay 1/,
  )
  const times = serverTokenBody(base)
  times.set([0, 0, 0, 0, 0, 0, 0x03, 0xe8], 42) // expiresAt = issuedAt
  assert.match(
    assertCode(() => tokenFromBytes(signedServerToken(times)), ['TUN_ERR_TOKEN_INVALID']).message,
    /expiresAt/,
  )
  const far = serverTokenBody(base)
  far.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 42)
  assert.match(
    assertCode(() => tokenFromBytes(signedServerToken(far)), ['TUN_ERR_TOKEN_INVALID']).message,
    /year 9999/,
  )
})

test('encoders refuse what no token can carry (so whatever is made decodes)', () => {
  const seed = new Uint8Array(32)
  assertCode(
    () => serverTokenBody({ seed: new Uint8Array(31), issuedAt: 0, expiresAt: 1, relays: [] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assertCode(
    () => serverTokenBody({ seed, issuedAt: 5, expiresAt: 5, relays: [] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assertCode(
    () => serverTokenBody({ seed, issuedAt: 0, expiresAt: MAX_TIME_SECONDS + 1, relays: [] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assertCode(
    () => serverTokenBody({ seed, issuedAt: 0, expiresAt: 1, relays: [''] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  const grant = {
    serverKey: new Uint8Array(32),
    clientKey: new Uint8Array(32),
    tokenId: new Uint8Array(16),
    issuedAt: 10,
    notBefore: 9,
    expiresAt: 20,
    name: undefined,
    relays: [],
    targets: [],
  }
  assertCode(() => grantBody(grant), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => grantBody({ ...grant, notBefore: 10, name: '' }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(() => encodeGrant({ ...client.grant, tokenId: 'xyz' }), ['TUN_ERR_INVALID_ARGUMENT'])
  assertCode(
    () => encodeGrant({ ...client.grant, signature: new Uint8Array(3) }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
})

test('decode then encode gives the same bytes (one encoding per value)', () => {
  for (const token of [server, client])
    assert.deepEqual(tokenToBytes(tokenFromBytes(tokenToBytes(token))), tokenToBytes(token))
  const g = encodeGrant(client.grant)
  assert.deepEqual(encodeGrant(decodeGrant(g)), g)
})
