import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import { MAX_NONCE, decrypt, encrypt, hash, rekey } from '../../../src/secure/crypto.ts'
import { CipherState, SymmetricState } from '../../../src/secure/symmetric.ts'

const KEY = new Uint8Array(32).fill(9)
const EMPTY = new Uint8Array(0)
const data = new TextEncoder().encode('payload')

test('a CipherState without a key passes data through (spec 5.1)', () => {
  const cs = new CipherState()
  assert.equal(cs.hasKey(), false)
  assert.equal(cs.encryptWithAd(EMPTY, data), data)
  assert.equal(cs.decryptWithAd(EMPTY, data), data)
})

test('nonces count up from 0, one per call, and match ENCRYPT at that nonce', () => {
  const send = new CipherState(KEY)
  const receive = new CipherState(KEY)
  for (let n = 0n; n < 3n; n++) {
    const ct = send.encryptWithAd(EMPTY, data)
    assert.deepEqual(ct, encrypt(KEY, n, EMPTY, data))
    assert.deepEqual(receive.decryptWithAd(EMPTY, ct), data)
  }
  assert.equal(send.nonce, 3n)
})

test('a failed decrypt does not advance the nonce (spec 5.1)', () => {
  const cs = new CipherState(KEY)
  assert.throws(
    () => cs.decryptWithAd(EMPTY, new Uint8Array(20)),
    (e: unknown) => isTunnelError(e, 'TUN_ERR_DECRYPT'),
  )
  assert.equal(cs.nonce, 0n)
  assert.deepEqual(cs.decryptWithAd(EMPTY, encrypt(KEY, 0n, EMPTY, data)), data)
})

test('nonce 2^64-1 is refused with TUN_ERR_NONCE_EXHAUSTED (spec 5.1)', () => {
  const cs = new CipherState(KEY)
  cs.setNonce(MAX_NONCE - 1n)
  assert.deepEqual(cs.encryptWithAd(EMPTY, data), encrypt(KEY, MAX_NONCE - 1n, EMPTY, data))
  assert.equal(cs.nonce, MAX_NONCE)
  const exhausted = (e: unknown) => isTunnelError(e, 'TUN_ERR_NONCE_EXHAUSTED')
  assert.throws(() => cs.encryptWithAd(EMPTY, data), exhausted)
  assert.throws(() => cs.decryptWithAd(EMPTY, data), exhausted)
  assert.throws(
    () => cs.setNonce(MAX_NONCE + 1n),
    (e: unknown) => isTunnelError(e, 'TUN_ERR_INVALID_ARGUMENT'),
  )
})

test('rekey replaces the key with REKEY(k) and keeps the nonce; destroy forgets the key', () => {
  const cs = new CipherState(KEY)
  cs.encryptWithAd(EMPTY, data)
  cs.rekey()
  assert.equal(cs.nonce, 1n)
  assert.deepEqual(decrypt(rekey(KEY), 1n, EMPTY, cs.encryptWithAd(EMPTY, data)), data)
  cs.destroy()
  assert.equal(cs.hasKey(), false)
})

test('the key is copied in: wiping the caller copy does not change the state', () => {
  const key = new Uint8Array(KEY)
  const cs = new CipherState(key)
  key.fill(0)
  assert.deepEqual(cs.encryptWithAd(EMPTY, data), encrypt(KEY, 0n, EMPTY, data))
})

test('SymmetricState: h starts as the zero-padded name, or its hash beyond HASHLEN (spec 5.2)', () => {
  const short = new SymmetricState('Noise_XX_25519_ChaChaPoly_BLAKE2b')
  const padded = new Uint8Array(64)
  padded.set(new TextEncoder().encode('Noise_XX_25519_ChaChaPoly_BLAKE2b'))
  assert.deepEqual(short.handshakeHash(), padded)
  const name = 'N'.repeat(65)
  assert.deepEqual(new SymmetricState(name).handshakeHash(), hash(new TextEncoder().encode(name)))
})

test('SymmetricState: no key until MixKey; the two ends of Split() match; raw keys are the ones used', () => {
  const a = new SymmetricState('test')
  const b = new SymmetricState('test')
  assert.equal(a.hasKey(), false)
  assert.deepEqual(a.encryptAndHash(data), data)
  b.decryptAndHash(data)
  a.mixKey(KEY)
  b.mixKey(KEY)
  assert.equal(a.hasKey(), true)
  assert.deepEqual(b.decryptAndHash(a.encryptAndHash(data)), data)
  assert.deepEqual(a.handshakeHash(), b.handshakeHash())
  const x = a.split()
  const y = b.split()
  assert.deepEqual([x.k1, x.k2], [y.k1, y.k2])
  assert.notDeepEqual(x.k1, x.k2)
  assert.deepEqual(x.c1.encryptWithAd(EMPTY, data), encrypt(x.k1, 0n, EMPTY, data))
  assert.deepEqual(y.c2.encryptWithAd(EMPTY, data), encrypt(x.k2, 0n, EMPTY, data))
})
