import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseNodeAddresses } from '../../../src/address/node.ts'
import { formatForScope, isReachableFrom, scopeOf, scopeOfHost } from '../../../src/address/scope.ts'
import type { NodeAddress, Scope } from '../../../src/address/types.ts'
import { newId } from './arbitraries.ts'

const HOSTS: [string, Scope][] = [
  // device: loopback, localhost names, the unspecified addresses
  ['127.0.0.1', 'device'],
  ['127.255.255.254', 'device'],
  ['::1', 'device'],
  ['[::1]', 'device'],
  ['::ffff:7f00:1', 'device'],
  ['::ffff:127.0.0.1', 'device'],
  ['localhost', 'device'],
  ['LOCALHOST.', 'device'],
  ['app.localhost', 'device'],
  ['0.0.0.0', 'device'],
  ['::', 'device'],
  // local: RFC 1918, CGNAT, link-local, unique local, LAN names
  ['10.0.0.1', 'local'],
  ['10.255.255.255', 'local'],
  ['172.16.0.1', 'local'],
  ['172.31.255.255', 'local'],
  ['192.168.1.5', 'local'],
  ['100.64.0.1', 'local'],
  ['100.127.255.255', 'local'],
  ['169.254.1.1', 'local'],
  ['fc00::1', 'local'],
  ['fd12:3456:789a::1', 'local'],
  ['fe80::1', 'local'],
  ['febf::1', 'local'],
  ['::ffff:a00:1', 'local'],
  ['printer.local', 'local'],
  ['nas.lan', 'local'],
  ['router.home.arpa', 'local'],
  ['db.internal', 'local'],
  ['nas', 'local'],
  ['nas.', 'local'],
  // public: everything else, including the neighbours of each range
  ['8.8.8.8', 'public'],
  ['126.255.255.255', 'public'],
  ['128.0.0.1', 'public'],
  ['11.0.0.1', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.1', 'public'],
  ['192.169.0.1', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.1', 'public'],
  ['169.253.1.1', 'public'],
  ['1.0.0.0', 'public'],
  ['2001:db8::1', 'public'],
  ['fec0::1', 'public'],
  ['fbff::1', 'public'],
  ['::2', 'public'],
  ['relay.example.com', 'public'],
  ['local.example.com', 'public'],
  ['localhost.example.com', 'public'],
  ['mylan', 'local'],
  ['example.lan.com', 'public'],
]

describe('scopeOfHost', () => {
  for (const [host, scope] of HOSTS) {
    test(`${host} is ${scope}`, () => assert.equal(scopeOfHost(host), scope))
  }
})

test('scopeOf by transport', () => {
  assert.equal(scopeOf({ kind: 'unix', path: '/run/b.sock' }), 'device')
  assert.equal(scopeOf({ kind: 'tcp', host: '192.168.0.2', port: 1 }), 'local')
  assert.equal(scopeOf({ kind: 'ws', host: '::1', port: 80, path: '/' }), 'device')
  assert.equal(scopeOf({ kind: 'wss', host: 'relay.example.com', port: 443, path: '/' }), 'public')
  // Hosts as parsed (normalised): 127.1 is loopback, not a DNS name.
  const [a] = parseNodeAddresses('tcp:127.1:80')
  assert.equal(scopeOf((a as NodeAddress).transport), 'device')
})

test('isReachableFrom: each audience reaches its own scope and the wider ones', () => {
  const expected: Record<Scope, Scope[]> = {
    device: ['device', 'local', 'public'],
    local: ['local', 'public'],
    public: ['public'],
  }
  for (const from of ['device', 'local', 'public'] as const) {
    for (const address of ['device', 'local', 'public'] as const) {
      assert.equal(
        isReachableFrom(address, from),
        expected[from].includes(address),
        `${address} from ${from}`,
      )
    }
  }
  assert.throws(() => isReachableFrom('device', 'galaxy' as Scope), { code: 'TUN_ERR_INVALID_ARGUMENT' })
})

describe('formatForScope', () => {
  const id = newId()
  const all = parseNodeAddresses(
    [
      `unix:/run/burrow.sock~noise:${id}`,
      `tcp:127.0.0.1:7000~noise:${id}`,
      `tcp:192.168.1.5:7000~noise:${id}`,
      `ws://[fe80::1]:8080/b~noise:${id}`,
      `tcp:relay.example.com:7000~noise:${id}`,
      `wss://relay.example.com/burrow~noise:${id}`,
    ].join(';'),
  )
  test('device: every alternative, in order', () => {
    assert.equal(formatForScope(all, 'device').split(';').length, 6)
  })
  test('local: local and public alternatives', () => {
    assert.equal(
      formatForScope(all, 'local'),
      `tcp:192.168.1.5:7000~noise:${id};ws://[fe80::1]:8080/b~noise:${id};tcp:relay.example.com:7000~noise:${id};wss://relay.example.com/burrow~noise:${id}`,
    )
  })
  test('public: public alternatives only', () => {
    assert.equal(
      formatForScope(all, 'public'),
      `tcp:relay.example.com:7000~noise:${id};wss://relay.example.com/burrow~noise:${id}`,
    )
  })
  test('nothing reachable gives the empty string', () => {
    assert.equal(formatForScope(all.slice(0, 2), 'local'), '')
    assert.equal(formatForScope([], 'device'), '')
  })
})
