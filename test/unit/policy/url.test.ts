import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import {
  MAX_TARGET_URL_LENGTH,
  formatTargetUrl,
  parseTargetUrl,
  type TargetUrl,
} from '../../../src/policy/url.ts'

describe('parseTargetUrl', () => {
  const valid: [string, TargetUrl][] = [
    ['tcp://localhost:22', { protocol: 'tcp', host: 'localhost', port: 22 }],
    ['udp://10.0.0.1:53', { protocol: 'udp', host: '10.0.0.1', port: 53 }],
    ['TCP://Example.COM:443', { protocol: 'tcp', host: 'example.com', port: 443 }],
    ['tcp://[::1]:22', { protocol: 'tcp', host: '::1', port: 22 }],
    ['tcp://[0:0:0:0:0:0:0:1]:22', { protocol: 'tcp', host: '::1', port: 22 }],
    ['tcp://[::ffff:10.0.0.1]:22', { protocol: 'tcp', host: '::ffff:a00:1', port: 22 }],
    ['tcp://127.1:65535', { protocol: 'tcp', host: '127.0.0.1', port: 65535 }],
    ['udp://nas.lan.:1', { protocol: 'udp', host: 'nas.lan.', port: 1 }],
  ]
  for (const [text, expected] of valid) {
    test(`${text}`, () => {
      const parsed = parseTargetUrl(text)
      assert.deepEqual(parsed, expected)
      assert.deepEqual(parseTargetUrl(formatTargetUrl(parsed)), parsed)
    })
  }

  const invalid: [string, RegExp][] = [
    ['localhost:22', /write it as tcp:\/\/host:port/],
    ['http://localhost:80', /unknown protocol "http"/],
    ['tcp://localhost', /missing port \(write tcp:\/\/localhost:PORT\)/],
    ['tcp://localhost:', /missing port after ":"/],
    ['tcp://[::1]', /missing port/],
    ['tcp://localhost:0', /port 0 is not a target/],
    ['tcp://localhost:65536', /port "65536"/],
    ['tcp://localhost:022', /port "022"/],
    ['tcp://localhost:ssh', /port "ssh"/],
    ['tcp://localhost:22/', /no path/],
    ['tcp://localhost:22/x', /no path/],
    ['tcp://localhost:22?x=1', /no path, query or fragment/],
    ['tcp://localhost:22#x', /no path, query or fragment/],
    ['tcp://user@localhost:22', /credentials/],
    ['tcp://user:pw@localhost:22', /credentials/],
    ['tcp://', /missing host/],
    ['tcp://:22', /missing host/],
    ['tcp://::1:22', /IPv6 hosts go in brackets/],
    ['tcp://[::1:22', /missing "]"/],
    ['tcp://[::1]x:22', /expected ":PORT" after "]"/],
    ['tcp://[localhost]:22', /brackets are for IPv6/],
    ['tcp://[fe80::1%eth0]:22', /zone ids/],
    ['tcp://bad host:22', /is not allowed/],
    ['tcp://a..b:22', /empty label/],
    [`tcp://${'a'.repeat(MAX_TARGET_URL_LENGTH)}:22`, /longer than 512/],
  ]
  for (const [text, message] of invalid) {
    test(`refuses ${JSON.stringify(text.length > 60 ? `${text.slice(0, 30)}...` : text)}`, () => {
      assert.throws(() => parseTargetUrl(text), { code: 'TUN_ERR_INVALID_ARGUMENT', message })
      assert.throws(() => parseTargetUrl(text), { message: /^invalid target "/ })
    })
  }

  test('random strings throw nothing but TUN_ERR_INVALID_ARGUMENT', () => {
    const chars = fc.constantFrom(...'tcpudp:/[]@?#.0123456789abcdef-%'.split(''))
    const arb = fc.oneof(
      fc.string(),
      fc.string({ unit: chars, maxLength: 30 }),
      fc.string({ unit: chars, maxLength: 20 }).map((s) => `tcp://${s}`),
    )
    fc.assert(
      fc.property(arb, (text) => {
        try {
          const parsed = parseTargetUrl(text)
          assert.deepEqual(parseTargetUrl(formatTargetUrl(parsed)), parsed)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'), String(err))
        }
      }),
      { numRuns: 3000 },
    )
  })
})
