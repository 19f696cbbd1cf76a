// Making tokens: inputs are checked with messages that say what to fix, strings are canonicalised,
// and secrets stay out of everything that prints a token.
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { test } from 'node:test'
import {
  MAX_RELAYS,
  createServerToken,
  describeToken,
  grantAllowsTarget,
  mintClientToken,
} from '../../../src/token/index.ts'
import {
  HOUR,
  RELAY,
  RELAY_ADDRESS,
  SERVER,
  T0,
  assertCode,
  countingRandom,
  fixedIdentity,
} from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const mint = (options: Parameters<typeof mintClientToken>[1] = {}) =>
  mintClientToken(server, { now: T0 + HOUR, random: countingRandom(1), ...options })

test('relay addresses: each must name its relay; server addresses, bad syntax and too many are refused', () => {
  const ok = createServerToken({
    now: T0,
    relays: [
      ` ${RELAY_ADDRESS} `,
      RELAY_ADDRESS,
      `wss://relay.example.com/burrow~noise:${RELAY.id};${RELAY_ADDRESS}`,
    ],
  })
  assert.deepEqual(ok.relays, [
    RELAY_ADDRESS,
    `wss://relay.example.com/burrow~noise:${RELAY.id};${RELAY_ADDRESS}`,
  ])
  assert.deepEqual(createServerToken({ now: T0 }).relays, [])
  assertCode(
    () => createServerToken({ now: T0, relays: ['tcp:relay.example.com:7000'] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assertCode(
    () => createServerToken({ now: T0, relays: [`${RELAY_ADDRESS}~tunnel:${SERVER.id}`] }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
  assertCode(
    () => createServerToken({ now: T0, relays: ['tcp:relay:x~noise:abc'] }),
    ['TUN_ERR_ADDRESS_SYNTAX', 'TUN_ERR_ID_INVALID'],
  )
  const many = Array.from(
    { length: MAX_RELAYS + 1 },
    (_, i) => `tcp:r${i}.example.com:7000~noise:${RELAY.id}`,
  )
  assertCode(() => createServerToken({ now: T0, relays: many }), ['TUN_ERR_INVALID_ARGUMENT'])
})

test('createServerToken keeps a given identity, or makes a fresh one from the random source', () => {
  assert.equal(server.serverId, SERVER.id)
  const fresh = createServerToken({ now: T0, random: () => new Uint8Array(32).fill(0x55) })
  assert.equal(fresh.serverId, fixedIdentity(0x55).id)
  assertCode(
    () => createServerToken({ now: T0, random: () => new Uint8Array(3) }),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
})

test('targets are canonicalised and deduplicated; malformed ones are refused', () => {
  const t = mint({
    targets: ['TCP://LocalHost:22', 'tcp://localhost:22', 'tcp://127.1:80', 'udp://[::1]:53'],
  })
  assert.deepEqual(t.grant.targets, ['tcp://localhost:22', 'tcp://127.0.0.1:80', 'udp://[::1]:53'])
  for (const bad of ['tcp://host', 'http://x:1', 'tcp://u@h:1', 'tcp://h:0', 'tcp://h:1/x'])
    assertCode(() => mint({ targets: [bad] }), ['TUN_ERR_INVALID_ARGUMENT'], bad)
  const huge = Array.from(
    { length: 32 },
    (_, i) => `tcp://${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.h${i}:1`,
  )
  const err = assertCode(() => mint({ targets: huge }), ['TUN_ERR_INVALID_ARGUMENT'])
  assert.match(err.message, /over 4096 bytes/)
})

test('names: 1-64 bytes, no control characters', () => {
  assert.equal(mint({ name: 'Ana’s laptop' }).grant.name, 'Ana’s laptop')
  for (const bad of ['', 'a'.repeat(65), 'evil\nline', 'bell\u0007', 'c1\u0085'])
    assertCode(() => mint({ name: bad }), ['TUN_ERR_INVALID_ARGUMENT'], JSON.stringify(bad))
})

test('seeds never show: not in JSON, util.inspect, keys, spreads or describeToken', () => {
  const client = mint({ name: 'x' })
  for (const token of [server, client]) {
    const seedHex = Buffer.from(token.seed).toString('hex')
    const seedList = [...token.seed].join(', ')
    for (const text of [
      JSON.stringify(token),
      inspect(token, { depth: 10 }),
      JSON.stringify({ ...token }),
      JSON.stringify(describeToken(token)),
    ]) {
      assert.ok(!text.includes(seedHex) && !text.includes(seedList) && !text.includes('seed'), text)
    }
    assert.ok(!Object.keys(token).includes('seed'))
    assert.equal(token.seed.length, 32)
  }
})

test('describeToken lists every non-secret field, times in ISO 8601', () => {
  assert.deepEqual(describeToken(server), {
    kind: 'server',
    version: 1,
    serverId: SERVER.id,
    relays: [RELAY_ADDRESS],
    issuedAt: '2026-01-01T00:00:00Z',
    expiresAt: '2026-06-30T00:00:00Z',
  })
  const client = mint({ targets: ['tcp://127.0.0.1:22'], name: 'laptop', days: 1 })
  assert.deepEqual(describeToken(client), {
    kind: 'client',
    version: 1,
    serverId: SERVER.id,
    clientId: client.grant.clientId,
    tokenId: client.grant.tokenId,
    name: 'laptop',
    relays: [RELAY_ADDRESS],
    targets: ['tcp://127.0.0.1:22'],
    issuedAt: '2026-01-01T01:00:00Z',
    notBefore: '2026-01-01T01:00:00Z',
    expiresAt: '2026-01-02T01:00:00Z',
  })
})

test('grantAllowsTarget: no targets means the default only; a list means exactly the list', () => {
  const none = mint().grant
  assert.equal(grantAllowsTarget(none, undefined, 'tcp://127.0.0.1:22'), true)
  assert.equal(grantAllowsTarget(none, 'tcp://127.1:22', 'tcp://127.0.0.1:22'), true)
  assert.equal(grantAllowsTarget(none, 'tcp://127.0.0.1:23', 'tcp://127.0.0.1:22'), false)
  assert.equal(grantAllowsTarget(none, undefined, undefined), false)
  const some = mint({ targets: ['tcp://10.0.0.5:80'] }).grant
  assert.equal(grantAllowsTarget(some, 'TCP://10.0.0.5:80', 'tcp://127.0.0.1:22'), true)
  assert.equal(grantAllowsTarget(some, undefined, 'tcp://127.0.0.1:22'), false)
  assert.equal(grantAllowsTarget(some, undefined, 'tcp://10.0.0.5:80'), true)
})
