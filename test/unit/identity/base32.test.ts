import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { base32Decode, base32Encode } from '../../../src/identity/base32.ts'

// RFC 4648 section 10 test vectors, lowercased, without padding.
const RFC4648 = [
  ['', ''],
  ['f', 'my'],
  ['fo', 'mzxq'],
  ['foo', 'mzxw6'],
  ['foob', 'mzxw6yq'],
  ['fooba', 'mzxw6ytb'],
  ['foobar', 'mzxw6ytboi'],
] as const

test('RFC 4648 base32 vectors (lowercase, no padding)', () => {
  for (const [plain, encoded] of RFC4648) {
    assert.equal(base32Encode(Buffer.from(plain)), encoded)
    assert.equal(Buffer.from(base32Decode(encoded)).toString(), plain)
  }
})

test('round trip for random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      assert.deepEqual(base32Decode(base32Encode(bytes)), bytes)
    }),
  )
})

test('decoding is strict: uppercase, padding, bad length and non-zero trailing bits are refused', () => {
  for (const bad of ['MY', 'my======', 'm', 'mz', 'mzx', 'mz1', 'mz', 'mb']) {
    assert.throws(() => base32Decode(bad), { code: 'TUN_ERR_INVALID_ARGUMENT' }, bad)
  }
})

test('random strings decode or throw a coded error, never anything else', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      try {
        base32Decode(s)
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'TUN_ERR_INVALID_ARGUMENT')
      }
    }),
  )
})
