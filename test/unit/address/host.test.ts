import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { checkPort, hostForUrl, normalizeHost, parsePort } from '../../../src/address/host.ts'

describe('normalizeHost', () => {
  const table: [string, string][] = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com.'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['_dns.example', '_dns.example'],
    ['localhost', 'localhost'],
    ['nas', 'nas'],
    ['10.0.0.1', '10.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['::', '::'],
  ]
  for (const [input, expected] of table) {
    test(`${input} -> ${expected}`, () => {
      assert.equal(normalizeHost(input), expected)
      assert.equal(normalizeHost(expected), expected, 'idempotent')
    })
  }

  const refused = [
    '',
    '[::1]',
    'a b',
    'a/b',
    'a@b',
    'a?b',
    'a#b',
    'a\\b',
    'bücher.de',
    'a..b',
    '.',
    '1.2.3.4.5',
    '::g',
    'fe80::1%eth0',
  ]
  for (const input of refused) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(() => normalizeHost(input), { code: 'TUN_ERR_ADDRESS_SYNTAX', message: /^invalid host / })
    })
  }

  test('is idempotent on generated hosts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), fc.domain()), (host) => {
        const once = normalizeHost(host)
        assert.equal(normalizeHost(once), once)
      }),
      { numRuns: 1000 },
    )
  })

  test('hostForUrl brackets IPv6 only', () => {
    assert.equal(hostForUrl('::1'), '[::1]')
    assert.equal(hostForUrl('10.0.0.1'), '10.0.0.1')
    assert.equal(hostForUrl('h.example'), 'h.example')
  })
})

describe('ports', () => {
  test('parsePort accepts 0-65535 in one spelling', () => {
    for (const [text, port] of [
      ['0', 0],
      ['1', 1],
      ['80', 80],
      ['65535', 65535],
    ] as const) {
      assert.equal(parsePort(text), port)
    }
    for (const text of ['', '-1', '+1', '00', '080', '65536', '99999', '1e3', '0x50', ' 80', '80 ', '1.0']) {
      assert.throws(() => parsePort(text), { code: 'TUN_ERR_ADDRESS_SYNTAX', message: /^invalid port / })
    }
  })
  test('checkPort accepts integers 0-65535 only', () => {
    assert.equal(checkPort(0), 0)
    assert.equal(checkPort(65535), 65535)
    for (const port of [-1, 65536, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => checkPort(port), { code: 'TUN_ERR_ADDRESS_SYNTAX' })
    }
  })
})
