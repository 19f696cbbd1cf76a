// PROXY protocol v2 encoder: byte vectors (test/vectors/proxy-protocol-v2.json, after HAProxy's
// doc/proxy-protocol.txt 2.2) and a round trip through an independent decoder.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import fc from 'fast-check'
import { encodeProxyV2, parseEndpoint } from '../../../src/peer/proxy-v2.ts'
import { formatEndpoint } from '../../../src/relay/public-port.ts'
import { decodeProxyV2 } from '../../helpers/proxy-v2.ts'

interface Vector {
  name: string
  source: { address: string; port: number }
  destination: { address: string; port: number }
  hex: string
}
const { vectors } = JSON.parse(
  readFileSync(new URL('../../vectors/proxy-protocol-v2.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] }

for (const v of vectors) {
  test(`proxy-protocol-v2 vector ${v.name}`, () => {
    assert.equal(encodeProxyV2(v.source, v.destination).toString('hex'), v.hex)
  })
}

test('the IPv4 and IPv6 vectors are the sizes the spec gives: 16 + 12 and 16 + 36 bytes', () => {
  assert.equal(encodeProxyV2({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 }).length, 28)
  assert.equal(encodeProxyV2({ address: '::1', port: 1 }, { address: '::2', port: 2 }).length, 52)
})

test('bad input is refused with a coded error', () => {
  const ok = { address: '127.0.0.1', port: 80 }
  for (const bad of [
    { address: 'localhost', port: 80 },
    { address: '[::1]', port: 80 },
    { address: 'fe80::1%eth0', port: 80 },
    { address: '127.0.0.1', port: 65536 },
    { address: '127.0.0.1', port: -1 },
    { address: '127.0.0.1', port: 1.5 },
  ]) {
    assert.throws(() => encodeProxyV2(bad, ok), { code: 'TUN_ERR_INVALID_ARGUMENT' }, JSON.stringify(bad))
    assert.throws(() => encodeProxyV2(ok, bad), { code: 'TUN_ERR_INVALID_ARGUMENT' }, JSON.stringify(bad))
  }
})

test('endpoints: the relay writes ip:port and [ipv6]:port; mapped IPv6 is written as IPv4', () => {
  assert.deepEqual(parseEndpoint('203.0.113.7:51000'), { address: '203.0.113.7', port: 51000 })
  assert.deepEqual(parseEndpoint('[2001:db8::7]:443'), { address: '2001:db8::7', port: 443 })
  assert.equal(formatEndpoint('::ffff:203.0.113.7', 51000), '203.0.113.7:51000')
  assert.equal(formatEndpoint('2001:db8::7', 443), '[2001:db8::7]:443')
  for (const bad of ['203.0.113.7', '2001:db8::7:443', 'host:80', '[::1]:99999', ''])
    assert.throws(() => parseEndpoint(bad), { code: 'TUN_ERR_INVALID_ARGUMENT' }, bad)
})

test('property: what is encoded decodes to the same endpoints', () => {
  const port = fc.integer({ min: 0, max: 65535 })
  const v4 = fc.ipV4()
  const v6 = fc.ipV6().filter((a) => !a.includes('.') && !/^::ffff:/i.test(a))
  const canon6 = (a: string) => new URL(`http://[${a}]/`).hostname.slice(1, -1)
  fc.assert(
    fc.property(fc.oneof(v4, v6), fc.oneof(v4, v6), port, port, (a, b, pa, pb) => {
      const d = decodeProxyV2(encodeProxyV2({ address: a, port: pa }, { address: b, port: pb }))
      assert.ok(d !== undefined)
      assert.equal(d.command, 'PROXY')
      const mixed = a.includes(':') !== b.includes(':')
      const expect = (x: string) => (x.includes(':') ? canon6(x) : mixed ? canon6(`::ffff:${x}`) : x)
      assert.deepEqual(d.source, { address: expect(a), port: pa })
      assert.deepEqual(d.destination, { address: expect(b), port: pb })
    }),
  )
})
