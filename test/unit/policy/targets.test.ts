import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import {
  ALL_PORTS,
  MAX_RULE_LENGTH,
  formatTargetRule,
  parseTargetRule,
  type TargetRule,
} from '../../../src/policy/targets.ts'

const rule = (
  family: 4 | 6,
  network: string,
  prefix: number,
  ports: TargetRule['ports'] = ALL_PORTS,
): TargetRule => ({ family, network, prefix, ports })

describe('parseTargetRule', () => {
  const valid: [string, TargetRule, string][] = [
    ['10.0.0.0/8', rule(4, '10.0.0.0', 8), '10.0.0.0/8'],
    ['10.0.0.1', rule(4, '10.0.0.1', 32), '10.0.0.1'],
    ['10.0.0.1/32', rule(4, '10.0.0.1', 32), '10.0.0.1'],
    ['0.0.0.0/0', rule(4, '0.0.0.0', 0), '0.0.0.0/0'],
    ['10.0.0.1:22', rule(4, '10.0.0.1', 32, [{ from: 22, to: 22 }]), '10.0.0.1:22'],
    ['10.0.0.0/8:*', rule(4, '10.0.0.0', 8), '10.0.0.0/8'],
    ['10.0.0.0/8:1-65535', rule(4, '10.0.0.0', 8), '10.0.0.0/8'],
    [
      '192.168.0.0/16:22,80,8000-8100',
      rule(4, '192.168.0.0', 16, [
        { from: 22, to: 22 },
        { from: 80, to: 80 },
        { from: 8000, to: 8100 },
      ]),
      '192.168.0.0/16:22,80,8000-8100',
    ],
    [
      '10.0.0.1:80,22,23,79',
      rule(4, '10.0.0.1', 32, [
        { from: 22, to: 23 },
        { from: 79, to: 80 },
      ]),
      '10.0.0.1:22-23,79-80',
    ],
    ['10.0.0.1:10-20,15-30', rule(4, '10.0.0.1', 32, [{ from: 10, to: 30 }]), '10.0.0.1:10-30'],
    ['10.0.0.1:65535', rule(4, '10.0.0.1', 32, [{ from: 65535, to: 65535 }]), '10.0.0.1:65535'],
    ['::1', rule(6, '::1', 128), '::1'],
    ['fd00::/8', rule(6, 'fd00::', 8), 'fd00::/8'],
    ['::/0', rule(6, '::', 0), '::/0'],
    ['[::1]', rule(6, '::1', 128), '::1'],
    ['[::1]:22', rule(6, '::1', 128, [{ from: 22, to: 22 }]), '[::1]:22'],
    ['[fd00::/8]:80-90', rule(6, 'fd00::', 8, [{ from: 80, to: 90 }]), '[fd00::/8]:80-90'],
    ['[FD00:0:0:0::/64]:*', rule(6, 'fd00::', 64), 'fd00::/64'],
    ['2001:db8::/32', rule(6, '2001:db8::', 32), '2001:db8::/32'],
    // IPv4-mapped IPv6 rules are IPv4 rules.
    ['::ffff:10.0.0.1', rule(4, '10.0.0.1', 32), '10.0.0.1'],
    ['[::ffff:10.0.0.0/104]:22', rule(4, '10.0.0.0', 8, [{ from: 22, to: 22 }]), '10.0.0.0/8:22'],
    ['::ffff:0:0/96', rule(4, '0.0.0.0', 0), '0.0.0.0/0'],
    // A prefix wider than the mapped range stays IPv6.
    ['::/80', rule(6, '::', 80), '::/80'],
  ]
  for (const [text, expected, canonical] of valid) {
    test(`${text} -> ${canonical}`, () => {
      const parsed = parseTargetRule(text)
      assert.deepEqual(parsed, expected)
      assert.equal(formatTargetRule(parsed), canonical)
      assert.deepEqual(parseTargetRule(canonical), parsed, 'the canonical form parses back')
    })
  }

  const invalid: [string, RegExp][] = [
    ['', /not empty/],
    ['example.com', /"example\.com" is a host name/],
    ['example.com:22', /"example\.com" is a host name/],
    ['localhost/8', /host name/],
    ['10.0.0.0/33', /prefix length "33" is not 0-32/],
    ['fd00::/129', /prefix length "129" is not 0-128/],
    ['10.0.0.0/08', /prefix length "08"/],
    ['10.0.0.0/', /prefix length ""/],
    ['10.0.0.0/-1', /prefix length "-1"/],
    ['10.1.2.3/8', /host bits set: write 10\.0\.0\.0\/8 .* or 10\.1\.2\.3/],
    ['fd00::1/8', /host bits set: write fd00::\/8/],
    ['10.0.0.1:0', /port 0 is not a target port/],
    ['10.0.0.1:65536', /port "65536" is not a decimal/],
    ['10.0.0.1:022', /port "022"/],
    ['10.0.0.1:ssh', /port "ssh"/],
    ['10.0.0.1:', /nothing after ":"/],
    ['10.0.0.1:22,,80', /empty item/],
    ['10.0.0.1:22,', /empty item/],
    ['10.0.0.1:22,*', /"\*" stands alone/],
    ['10.0.0.1:90-80', /"90-80" runs backwards/],
    ['10.0.0.1:1-2-3', /port "2-3"/],
    ['10.0.0.1:-5', /port ""/],
    ['10.0.0', /not an IPv4 or IPv6 address/],
    ['127.1', /not an IPv4 or IPv6 address/],
    ['010.0.0.1', /not an IPv4 or IPv6 address/],
    ['10.0.0.1 ', /no spaces/],
    ['10.0.0.1:22, 80', /no spaces/],
    ['fd00::/8:80', /put IPv6 in brackets/],
    ['fe80::1%eth0', /put IPv6 in brackets|zone/],
    ['[fe80::1%eth0]:22', /zone ids/],
    ['[::1', /missing "]"/],
    ['[::1]22', /expected ":PORTS" after "]"/],
    ['[10.0.0.1]:22', /brackets are for IPv6/],
    ['[]:22', /brackets are for IPv6/],
    ['::g', /put IPv6 in brackets/],
    ['x'.repeat(MAX_RULE_LENGTH + 1), /longer than 1024/],
  ]
  for (const [text, message] of invalid) {
    test(`refuses ${JSON.stringify(text.length > 40 ? `${text.slice(0, 20)}...` : text)}`, () => {
      assert.throws(() => parseTargetRule(text), { code: 'TUN_ERR_INVALID_ARGUMENT', message })
      assert.throws(() => parseTargetRule(text), { message: /^invalid target rule "/ })
    })
  }

  test('refuses a non-string with a coded error', () => {
    assert.throws(() => parseTargetRule(22 as unknown as string), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  })

  test('random strings throw nothing but TUN_ERR_INVALID_ARGUMENT', () => {
    const ruleChars = fc.constantFrom(...'0123456789abcdefABCDEF:./[]-,*% gx'.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: ruleChars, maxLength: 40 })), (text) => {
        try {
          const parsed = parseTargetRule(text)
          assert.deepEqual(parseTargetRule(formatTargetRule(parsed)), parsed)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'), String(err))
        }
      }),
      { numRuns: 3000 },
    )
  })
})
