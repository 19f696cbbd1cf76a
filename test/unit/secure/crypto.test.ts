import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import {
  BLOCKLEN,
  MAX_NONCE,
  decrypt,
  dh,
  encrypt,
  generateEphemeral,
  hash,
  hkdf,
  hmac,
  nonceBytes,
  rekey,
  x25519KeyPairFromSecret,
} from '../../../src/secure/crypto.ts'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const EMPTY = new Uint8Array(0)
const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')

/** HMAC exactly as RFC 2104 writes it, from BLAKE2b-512 and its 128-byte block (Noise spec 4.3). */
function rfc2104(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(BLOCKLEN)
  k.set(key.length > BLOCKLEN ? createHash('blake2b512').update(key).digest() : key)
  const pad = (byte: number) => k.map((x) => x ^ byte)
  const inner = createHash('blake2b512').update(pad(0x36)).update(data).digest()
  return new Uint8Array(createHash('blake2b512').update(pad(0x5c)).update(inner).digest())
}

test('hmac is RFC 2104 over BLAKE2b with a 128-byte block, for short, block-size and long keys', () => {
  for (const length of [0, 1, 32, 64, 127, 128, 129, 300]) {
    const key = randomBytes(length)
    const data = randomBytes(77)
    assert.deepEqual(
      hmac(key, data.subarray(0, 10), data.subarray(10)),
      rfc2104(key, data),
      `key of ${length}`,
    )
  }
})

test('hkdf is Noise HKDF (spec 4.3) built on RFC 2104, with 2 and 3 outputs', () => {
  const ck = randomBytes(64)
  const ikm = randomBytes(32)
  const temp = rfc2104(ck, ikm)
  const o1 = rfc2104(temp, Uint8Array.of(1))
  const o2 = rfc2104(temp, new Uint8Array([...o1, 2]))
  const o3 = rfc2104(temp, new Uint8Array([...o2, 3]))
  assert.deepEqual(hkdf(ck, ikm, 2), [o1, o2])
  assert.deepEqual(hkdf(ck, ikm, 3), [o1, o2, o3])
})

test('hash is BLAKE2b-512 of the concatenation', () => {
  assert.deepEqual(
    hash(hex('6162'), hex('63')),
    new Uint8Array(createHash('blake2b512').update('abc').digest()),
  )
})

test('the ChaChaPoly nonce is 4 zero bytes then the 64-bit little-endian counter (spec 12.3)', () => {
  assert.equal(nonceBytes(0n).toString('hex'), '000000000000000000000000')
  assert.equal(nonceBytes(0x0102n).toString('hex'), '000000000201000000000000')
  assert.equal(nonceBytes(MAX_NONCE).toString('hex'), '00000000ffffffffffffffff')
})

test('encrypt/decrypt round trip; a bad tag, wrong ad or nonce, or a short input is TUN_ERR_DECRYPT', () => {
  const ad = hex('aabb')
  const ct = encrypt(KEY, 5n, ad, hex('00112233'))
  assert.equal(ct.length, 4 + 16)
  assert.deepEqual(decrypt(KEY, 5n, ad, ct), hex('00112233'))
  const flipped = new Uint8Array(ct)
  flipped[19] = (flipped[19] ?? 0) ^ 1
  for (const [n, a, c] of [
    [5n, ad, flipped],
    [6n, ad, ct],
    [5n, EMPTY, ct],
    [5n, ad, ct.subarray(0, 15)],
  ] as const) {
    assert.throws(
      () => decrypt(KEY, n, a, c),
      (err: unknown) => isTunnelError(err, 'TUN_ERR_DECRYPT'),
    )
  }
})

test('REKEY(k) is the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes) (spec 4.2)', () => {
  const expected = encrypt(KEY, MAX_NONCE, EMPTY, new Uint8Array(32)).subarray(0, 32)
  assert.deepEqual(rekey(KEY), new Uint8Array(expected))
  assert.notDeepEqual(rekey(KEY), KEY)
})

test('X25519 matches RFC 7748 section 6.1', () => {
  const alice = x25519KeyPairFromSecret(
    hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  )
  const bob = x25519KeyPairFromSecret(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))
  assert.equal(toHex(alice.publicKey), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
  assert.equal(toHex(bob.publicKey), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
  assert.equal(toHex(dh(alice.privateKey, bob.publicKey)), shared)
  assert.equal(toHex(dh(bob.privateKey, alice.publicKey)), shared)
})

test('dh rejects low-order points (all-zero output) with TUN_ERR_KEY_INVALID', () => {
  const { privateKey } = generateEphemeral()
  for (const point of [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ]) {
    assert.throws(
      () => dh(privateKey, hex(point)),
      (err: unknown) => isTunnelError(err, 'TUN_ERR_KEY_INVALID'),
      point,
    )
  }
})

test('generateEphemeral gives fresh key pairs whose DH agrees', () => {
  const a = generateEphemeral()
  const b = generateEphemeral()
  assert.notDeepEqual(a.publicKey, b.publicKey)
  assert.deepEqual(dh(a.privateKey, b.publicKey), dh(b.privateKey, a.publicKey))
})
