// Interop with an independent implementation: the `noise-handshake` npm package (Holepunch; libsodium
// X25519, BLAKE2b and ChaChaPoly), both directions, XX and IK. Same handshake hash, same transport keys,
// payloads delivered, and transport messages cross between the two cipher implementations.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { dhPublicKeyFromId, generateIdentity, type Identity } from '../../../src/identity/keys.ts'
import {
  createHandshake,
  type HandshakePattern,
  type HandshakeResult,
} from '../../../src/secure/handshake.ts'

interface NoiseHandshake {
  initialise(prologue: Buffer, remoteStatic?: Buffer): void
  send(payload?: Buffer): Buffer
  recv(message: Buffer): Buffer
  readonly complete: boolean
  /** noise-handshake's names: tx is this side's sending key, rx its receiving key (see its final()). */
  readonly tx: Buffer
  readonly rx: Buffer
  readonly rs: Buffer
  readonly hash: Buffer
}
interface NoiseCipher {
  encrypt(plaintext: Buffer, ad?: Buffer): Buffer
  decrypt(ciphertext: Buffer, ad?: Buffer): Buffer
}
const require = createRequire(import.meta.url)
const Noise = require('noise-handshake') as new (
  pattern: HandshakePattern,
  initiator: boolean,
  staticKeypair: { publicKey: Buffer; secretKey: Buffer },
) => NoiseHandshake
const Cipher = require('noise-handshake/cipher') as new (key: Buffer) => NoiseCipher

const PROLOGUE = Buffer.from('burrow/1 interop')
const EMPTY = new Uint8Array(0)
const LENGTHS: Record<HandshakePattern, number> = { XX: 3, IK: 2 }

/** noise-handshake takes raw X25519 keys: the private scalar comes out of the KeyObject via JWK. */
function rawKeys(identity: Identity): { publicKey: Buffer; secretKey: Buffer } {
  const { d } = identity.dh.privateKey.export({ format: 'jwk' })
  return { publicKey: Buffer.from(identity.dh.publicKey), secretKey: Buffer.from(String(d), 'base64url') }
}

function check(burrow: HandshakeResult, other: NoiseHandshake, burrowNode: Identity, otherNode: Identity) {
  assert.ok(other.complete)
  assert.deepEqual(Buffer.from(burrow.handshakeHash), other.hash, 'same handshake hash')
  assert.deepEqual(Buffer.from(burrow.sendKey), other.rx, 'burrow send key = their receive key')
  assert.deepEqual(Buffer.from(burrow.receiveKey), other.tx, 'burrow receive key = their send key')
  assert.deepEqual(burrow.remoteStatic, otherNode.dh.publicKey)
  assert.deepEqual(new Uint8Array(other.rs), burrowNode.dh.publicKey)
  const theirSend = new Cipher(other.tx)
  const theirReceive = new Cipher(other.rx)
  for (const text of ['first record', '', 'x'.repeat(1000), 'last']) {
    const fromBurrow = burrow.send.encryptWithAd(EMPTY, Buffer.from(text))
    assert.equal(theirReceive.decrypt(Buffer.from(fromBurrow)).toString(), text)
    const fromThem = theirSend.encrypt(Buffer.from(`re: ${text}`))
    assert.equal(Buffer.from(burrow.receive.decryptWithAd(EMPTY, fromThem)).toString(), `re: ${text}`)
  }
}

for (const pattern of ['XX', 'IK'] as const) {
  test(`${pattern}: burrow initiator <-> noise-handshake responder`, () => {
    const me = generateIdentity()
    const them = generateIdentity()
    const init = createHandshake({
      pattern,
      initiator: true,
      staticKey: me.dh,
      prologue: PROLOGUE,
      ...(pattern === 'IK' ? { remoteStatic: dhPublicKeyFromId(them.id) } : {}),
    })
    const resp = new Noise(pattern, false, rawKeys(them))
    resp.initialise(PROLOGUE)
    for (let k = 0; k < LENGTHS[pattern]; k++) {
      const payload = Buffer.from(`message ${k}`)
      if (k % 2 === 0) assert.deepEqual(resp.recv(Buffer.from(init.writeMessage(payload))), payload)
      else assert.deepEqual(Buffer.from(init.readMessage(resp.send(payload))), payload)
    }
    check(init.split(), resp, me, them)
  })

  test(`${pattern}: noise-handshake initiator <-> burrow responder`, () => {
    const me = generateIdentity()
    const them = generateIdentity()
    const init = new Noise(pattern, true, rawKeys(them))
    init.initialise(PROLOGUE, pattern === 'IK' ? Buffer.from(dhPublicKeyFromId(me.id)) : undefined)
    const resp = createHandshake({ pattern, initiator: false, staticKey: me.dh, prologue: PROLOGUE })
    for (let k = 0; k < LENGTHS[pattern]; k++) {
      const payload = Buffer.from(`message ${k}`)
      if (k % 2 === 0) assert.deepEqual(Buffer.from(resp.readMessage(init.send(payload))), payload)
      else assert.deepEqual(init.recv(Buffer.from(resp.writeMessage(payload))), payload)
    }
    check(resp.split(), init, me, them)
  })
}
