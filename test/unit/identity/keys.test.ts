import assert from 'node:assert/strict'
import { diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { ed25519PublicToX25519 } from '../../../src/identity/convert.ts'
import {
  ID_LENGTH,
  dhPublicKeyFromId,
  generateIdentity,
  idFromPublicKey,
  identityFromSeed,
  identitySeed,
  isId,
  publicKeyFromId,
  rawPublicKey,
  signMessage,
  verifySignature,
  x25519PublicKeyObject,
} from '../../../src/identity/keys.ts'

test('an id is 52 lowercase base32 characters and decodes to the public key', () => {
  const identity = generateIdentity()
  assert.equal(identity.id.length, ID_LENGTH)
  assert.match(identity.id, /^[a-z2-7]{52}$/)
  assert.ok(isId(identity.id))
  assert.deepEqual(publicKeyFromId(identity.id), identity.publicKey)
  assert.equal(idFromPublicKey(identity.publicKey), identity.id)
})

test('the X25519 static key agrees with node:crypto for random identities', () => {
  for (let i = 0; i < 50; i++) {
    const identity = identityFromSeed(randomBytes(32))
    // node:crypto derives the public key from the derived private scalar; convert.ts maps the Ed25519 public key.
    assert.deepEqual(rawPublicKey(identity.dh.privateKey), identity.dh.publicKey)
    assert.deepEqual(dhPublicKeyFromId(identity.id), identity.dh.publicKey)
  }
})

test('two identities agree on a DH secret through their ids alone', () => {
  const a = generateIdentity()
  const b = generateIdentity()
  const ab = diffieHellman({
    privateKey: a.dh.privateKey,
    publicKey: x25519PublicKeyObject(dhPublicKeyFromId(b.id)),
  })
  const ba = diffieHellman({
    privateKey: b.dh.privateKey,
    publicKey: x25519PublicKeyObject(dhPublicKeyFromId(a.id)),
  })
  assert.deepEqual(ab, ba)
})

test('seed round trip rebuilds the same identity', () => {
  const identity = generateIdentity()
  const again = identityFromSeed(identitySeed(identity))
  assert.equal(again.id, identity.id)
  assert.deepEqual(again.dh.publicKey, identity.dh.publicKey)
})

test('RFC 8032 test 1: seed to public key', () => {
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
  const identity = identityFromSeed(seed)
  assert.equal(
    Buffer.from(identity.publicKey).toString('hex'),
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  )
  const signature = signMessage(identity, new Uint8Array(0))
  assert.equal(
    Buffer.from(signature).toString('hex'),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  )
})

test('signatures verify by id, and fail for another message, key or a flipped bit', () => {
  const identity = generateIdentity()
  const other = generateIdentity()
  const message = new TextEncoder().encode('burrow test message')
  const signature = signMessage(identity, message)
  assert.ok(verifySignature(identity.id, message, signature))
  assert.ok(!verifySignature(other.id, message, signature))
  assert.ok(!verifySignature(identity.id, new TextEncoder().encode('other'), signature))
  const flipped = Uint8Array.from(signature)
  flipped[10] = (flipped[10] ?? 0) ^ 1
  assert.ok(!verifySignature(identity.id, message, flipped))
  assert.ok(!verifySignature(identity.id, message, signature.subarray(0, 63)))
})

test('bad ids are refused with TUN_ERR_ID_INVALID naming the problem', () => {
  const good = generateIdentity().id
  assert.throws(() => publicKeyFromId(good.slice(1)), {
    code: 'TUN_ERR_ID_INVALID',
    message: /52 characters/,
  })
  assert.throws(() => publicKeyFromId(`A${good.slice(1)}`), {
    code: 'TUN_ERR_ID_INVALID',
    message: /"A" at position 0/,
  })
  assert.throws(() => publicKeyFromId(`${good.slice(0, 51)}b`), { code: 'TUN_ERR_ID_INVALID' })
  assert.ok(!isId(`${good.slice(0, 51)}b`))
  fc.assert(
    fc.property(fc.string({ minLength: 0, maxLength: 60 }), (s) => {
      try {
        dhPublicKeyFromId(s)
      } catch (err) {
        assert.ok(['TUN_ERR_ID_INVALID'].includes((err as { code?: string }).code ?? ''), String(err))
      }
    }),
  )
})

test('the Ed25519 to X25519 map matches node:crypto for generated keys', () => {
  for (let i = 0; i < 20; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    const raw = rawPublicKey(publicKey)
    const identity = identityFromSeed(
      Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url'),
    )
    assert.deepEqual(ed25519PublicToX25519(raw), identity.dh.publicKey)
  }
  assert.throws(() => ed25519PublicToX25519(new Uint8Array(31)), { code: 'TUN_ERR_KEY_INVALID' })
})
