import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatIp, isUnspecified, maskOf, parseIp, parseIpRaw } from '../../../src/policy/ip.ts'

describe('ip', () => {
  const table: [string, 4 | 6, bigint, string][] = [
    ['0.0.0.0', 4, 0n, '0.0.0.0'],
    ['10.1.2.3', 4, 0x0a010203n, '10.1.2.3'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['::', 6, 0n, '::'],
    ['::1', 6, 1n, '::1'],
    ['1::', 6, 1n << 112n, '1::'],
    ['2001:DB8:0:0:1:0:0:1', 6, 0x20010db8000000000001000000000001n, '2001:db8::1:0:0:1'],
    ['::1.2.3.4', 6, 0x01020304n, '::102:304'],
    ['64:ff9b::10.0.0.1', 6, (0x64ff9bn << 96n) | 0x0a000001n, '64:ff9b::a00:1'],
    // Mapped addresses fold to IPv4.
    ['::ffff:10.0.0.1', 4, 0x0a000001n, '10.0.0.1'],
    ['::FFFF:a00:1', 4, 0x0a000001n, '10.0.0.1'],
  ]
  for (const [text, family, value, canonical] of table) {
    test(`${text} -> ${canonical}`, () => {
      assert.deepEqual(parseIp(text), { family, value })
      assert.equal(formatIp({ family, value }), canonical)
    })
  }

  test('parseIpRaw keeps the mapped form', () => {
    assert.deepEqual(parseIpRaw('::ffff:10.0.0.1'), { family: 6, value: (0xffffn << 32n) | 0x0a000001n })
  })

  test('refuses what is not a plain address', () => {
    for (const text of [
      '',
      'localhost',
      '127.1',
      '010.0.0.1',
      '1.2.3.4.5',
      '[::1]',
      'fe80::1%eth0',
      '::g',
      ' ::1',
    ]) {
      assert.equal(parseIp(text), undefined, text)
    }
  })

  test('masks and the unspecified address', () => {
    assert.equal(maskOf(4, 0), 0n)
    assert.equal(maskOf(4, 8), 0xff000000n)
    assert.equal(maskOf(4, 32), 0xffffffffn)
    assert.equal(maskOf(6, 128), (1n << 128n) - 1n)
    assert.ok(isUnspecified({ family: 4, value: 0n }))
    assert.ok(!isUnspecified({ family: 6, value: 1n }))
  })

  test('every 128-bit value survives format -> parse, and its uncompressed form parses', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, (1n << 128n) - 1n), (value) => {
        assert.deepEqual(parseIpRaw(formatIp({ family: 6, value })), { family: 6, value })
        const full = Array.from({ length: 8 }, (_, i) =>
          ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
        )
        assert.deepEqual(parseIpRaw(full.join(':')), { family: 6, value })
      }),
      { numRuns: 2000 },
    )
  })

  test('generated IPv6 texts (with embedded IPv4 and :: forms) parse to a stable value', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIpRaw(text)
        assert.ok(ip !== undefined, text)
        assert.deepEqual(parseIpRaw(formatIp(ip)), ip)
        const url = new URL(`http://[${text}]/`).hostname.slice(1, -1)
        assert.deepEqual(parseIpRaw(url), ip, `${text} vs the URL parser's ${url}`)
      }),
      { numRuns: 2000 },
    )
  })
})
