import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { TargetPolicy, parseTargetRule } from '../../../src/policy/targets.ts'

/** Checks a list of [ip, port, allowed] cases against a policy. */
function expect(policy: TargetPolicy, cases: [string, number, boolean][]): void {
  for (const [ip, port, allowed] of cases) {
    assert.equal(
      policy.allows(ip, port),
      allowed,
      `${ip} port ${port} should be ${allowed ? 'allowed' : 'denied'}`,
    )
  }
}

describe('TargetPolicy.allows', () => {
  test('an empty list allows nothing', () => {
    const policy = new TargetPolicy([])
    assert.equal(policy.isEmpty, true)
    expect(policy, [
      ['127.0.0.1', 22, false],
      ['10.0.0.1', 80, false],
      ['::1', 22, false],
    ])
    assert.equal(new TargetPolicy().allows('127.0.0.1', 22), false)
  })

  test('IPv4 networks and ports', () => {
    const policy = new TargetPolicy(['10.0.0.0/8:22,80,8000-8100', '192.168.1.10'])
    assert.equal(policy.isEmpty, false)
    expect(policy, [
      ['10.0.0.1', 22, true],
      ['10.255.255.255', 80, true],
      ['10.1.2.3', 8000, true],
      ['10.1.2.3', 8050, true],
      ['10.1.2.3', 8100, true],
      ['10.1.2.3', 7999, false],
      ['10.1.2.3', 8101, false],
      ['10.1.2.3', 23, false],
      ['11.0.0.1', 22, false],
      ['9.255.255.255', 22, false],
      ['192.168.1.10', 1, true],
      ['192.168.1.10', 65535, true],
      ['192.168.1.11', 22, false],
    ])
  })

  test('IPv6 networks, any spelling of the address', () => {
    const policy = new TargetPolicy(['[fd00::/8]:80-90', '[::1]:22'])
    expect(policy, [
      ['fd00::1', 80, true],
      ['fdff:ffff::1', 90, true],
      ['FD12:3456::1', 85, true],
      ['fd00::1', 91, false],
      ['fe00::1', 80, false],
      ['::1', 22, true],
      ['0:0:0:0:0:0:0:1', 22, true],
      ['::1', 23, false],
      ['::2', 22, false],
    ])
  })

  test('IPv4-mapped IPv6 is matched as IPv4, both ways', () => {
    const v4 = new TargetPolicy(['10.0.0.0/8:22'])
    expect(v4, [
      ['::ffff:10.0.0.1', 22, true],
      ['::ffff:a00:1', 22, true],
      ['0:0:0:0:0:ffff:a00:1', 22, true],
      ['::ffff:11.0.0.1', 22, false],
    ])
    const mapped = new TargetPolicy(['[::ffff:10.0.0.0/104]:22'])
    expect(mapped, [
      ['10.0.0.1', 22, true],
      ['::ffff:10.0.0.1', 22, true],
      ['11.0.0.1', 22, false],
    ])
    // An IPv6 rule wider than the mapped range does not reach IPv4, in either spelling.
    const allV6 = new TargetPolicy(['::/0'])
    expect(allV6, [
      ['2001:db8::1', 22, true],
      ['10.0.0.1', 22, false],
      ['::ffff:10.0.0.1', 22, false],
    ])
    // And an IPv4 rule does not reach IPv6 (IPv4-compatible ::a.b.c.d is not folded).
    const allV4 = new TargetPolicy(['0.0.0.0/0'])
    expect(allV4, [
      ['10.0.0.1', 22, true],
      ['::10.0.0.1', 22, false],
      ['64:ff9b::a00:1', 22, false],
    ])
  })

  test('the unspecified address is never allowed (Linux dials it as the local host)', () => {
    const policy = new TargetPolicy(['0.0.0.0/0', '::/0'])
    expect(policy, [
      ['0.0.0.0', 22, false],
      ['::', 22, false],
      ['::ffff:0.0.0.0', 22, false],
      ['0.0.0.1', 22, true],
    ])
  })

  test('host names, malformed addresses and bad ports are denied, never thrown', () => {
    const policy = new TargetPolicy(['0.0.0.0/0', '::/0'])
    for (const ip of ['localhost', 'example.com', '', '127.1', '[::1]', 'fe80::1%eth0', ' 10.0.0.1']) {
      assert.equal(policy.allows(ip, 22), false, ip)
    }
    for (const port of [0, -1, 65536, 22.5, Number.NaN, Infinity]) {
      assert.equal(policy.allows('10.0.0.1', port), false, String(port))
    }
    assert.equal(policy.allows(undefined as unknown as string, 22), false)
  })

  test('rule objects are checked like texts', () => {
    const policy = new TargetPolicy([parseTargetRule('10.0.0.0/8:22')])
    assert.equal(policy.allows('10.9.9.9', 22), true)
    assert.throws(
      () => new TargetPolicy([{ family: 4, network: '10.1.0.0', prefix: 8, ports: [{ from: 22, to: 22 }] }]),
      { code: 'TUN_ERR_INVALID_ARGUMENT', message: /host bits set/ },
    )
    assert.throws(() => new TargetPolicy(['10.0.0.0/8', 'nope']), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  })
})

// Generated networks: an address inside matches, an address outside does not.
const v4Text = (v: bigint): string => [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.')
const v6Text = (v: bigint): string =>
  Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':')
const isMappedV6 = (v: bigint): boolean => v >> 32n === 0xffffn

const cidrArb = fc.oneof(
  fc.record({ family: fc.constant(4 as const), value: fc.bigInt(0n, 2n ** 32n - 1n), prefix: fc.nat(32) }),
  fc.record({ family: fc.constant(6 as const), value: fc.bigInt(0n, 2n ** 128n - 1n), prefix: fc.nat(128) }),
)

describe('TargetPolicy.allows (properties)', () => {
  test('an address inside a generated CIDR matches, one outside does not', () => {
    fc.assert(
      fc.property(
        cidrArb,
        fc.bigInt(0n, 2n ** 128n - 1n),
        fc.integer({ min: 1, max: 65535 }),
        (cidr, other, port) => {
          const bits = cidr.family === 4 ? 32 : 128
          const all = (1n << BigInt(bits)) - 1n
          const mask = all ^ ((1n << BigInt(bits - cidr.prefix)) - 1n)
          const base = cidr.value & mask
          const text = cidr.family === 4 ? v4Text : v6Text
          // Mapped and unspecified addresses follow their own rules (tested above).
          fc.pre(!(cidr.family === 6 && (isMappedV6(base) || isMappedV6(cidr.value))) && cidr.value !== 0n)
          const rule =
            cidr.family === 4
              ? `${text(base)}/${cidr.prefix}:${port}`
              : `[${text(base)}/${cidr.prefix}]:${port}`
          const policy = new TargetPolicy([rule])
          assert.equal(policy.allows(text(cidr.value), port), true, `${text(cidr.value)} in ${rule}`)
          assert.equal(policy.allows(text(cidr.value), port === 65535 ? 1 : port + 1), false, 'other port')
          const outside = other & all
          if ((outside & mask) !== base && outside !== 0n && !(cidr.family === 6 && isMappedV6(outside))) {
            assert.equal(policy.allows(text(outside), port), false, `${text(outside)} not in ${rule}`)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('a port matches exactly when some range of the rule holds it', () => {
    const rangeArb = fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }))
      .map(([a, b]) => (a <= b ? [a, b] : [b, a]))
    fc.assert(
      fc.property(
        fc.array(rangeArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 65535 }),
        (ranges, port) => {
          const text = ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',')
          const policy = new TargetPolicy([`10.0.0.0/8:${text}`])
          const expected = ranges.some(([a, b]) => port >= (a ?? 0) && port <= (b ?? 0))
          assert.equal(policy.allows('10.1.1.1', port), expected, `${port} in ${text}`)
        },
      ),
      { numRuns: 1000 },
    )
  })
})
