// Published Noise test vectors (test/vectors/noise-*.json), run byte for byte: every handshake message
// and payload, the handshake hash, and every transport message after Split(). The handshake hash is
// also recomputed from the wire bytes alone (MixHash over each token's bytes, spec 5.2/5.3), which is
// how the cacophony file's handshake_hash is checked: see its source.handshake_hash note.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { HASHLEN, hash, x25519KeyPairFromSecret } from '../../../src/secure/crypto.ts'
import { createHandshake, type HandshakePattern } from '../../../src/secure/handshake.ts'

interface Vector {
  protocol_name?: string
  name?: string
  init_prologue: string
  init_static: string
  init_ephemeral: string
  init_remote_static?: string
  resp_prologue: string
  resp_static: string
  resp_ephemeral: string
  handshake_hash?: string
  messages: { payload: string; ciphertext: string }[]
}
interface VectorFile {
  source: { repo: string; path: string; commit: string; licence: string }
  vectors: Vector[]
}

/** Where handshake_hash was taken: after the whole handshake, or (cacophony) before its last message. */
const SOURCES = {
  'noise-c-basic.json': 'final',
  'noise-cacophony.json': 'before-last-message',
  'noise-snow.json': 'absent',
} as const
const SUITES = new Map<string, HandshakePattern>([
  ['Noise_XX_25519_ChaChaPoly_BLAKE2b', 'XX'],
  ['Noise_IK_25519_ChaChaPoly_BLAKE2b', 'IK'],
])
/** Byte lengths of the MixHash'ed chunks of each handshake message before its payload (spec 7.5; s is 32 + tag). */
const CHUNKS: Record<HandshakePattern, number[][]> = {
  XX: [[32], [32, 48], [48]],
  IK: [[32, 48], [32]],
}
const EMPTY = new Uint8Array(0)
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** h after each handshake message, recomputed from the wire bytes alone. */
function transcript(pattern: HandshakePattern, prologue: Uint8Array, rs: Uint8Array, wire: Uint8Array[]) {
  let h: Uint8Array = new Uint8Array(HASHLEN)
  h.set(new TextEncoder().encode(`Noise_${pattern}_25519_ChaChaPoly_BLAKE2b`))
  h = hash(h, prologue)
  if (pattern === 'IK') h = hash(h, rs)
  return wire.map((message, i) => {
    let at = 0
    for (const n of CHUNKS[pattern][i] ?? []) h = hash(h, message.subarray(at, (at += n)))
    h = hash(h, message.subarray(at))
    return toHex(h)
  })
}

const covered = new Set<string>()
for (const [file, hashKind] of Object.entries(SOURCES)) {
  const { source, vectors } = JSON.parse(
    readFileSync(new URL(`../../vectors/${file}`, import.meta.url), 'utf8'),
  ) as VectorFile

  test(`${file} names its source and licence and holds only the suites burrow implements`, () => {
    assert.ok(source.repo && source.path && source.commit && source.licence)
    for (const v of vectors) assert.ok(SUITES.has(v.protocol_name ?? v.name ?? ''), v.protocol_name ?? v.name)
  })

  vectors.forEach((v, index) => {
    const name = v.protocol_name ?? v.name ?? ''
    const pattern = SUITES.get(name) as HandshakePattern
    covered.add(`${file} ${name}`)
    test(`${file} #${index}: ${name}`, () => {
      const initStatic = x25519KeyPairFromSecret(hex(v.init_static))
      const respStatic = x25519KeyPairFromSecret(hex(v.resp_static))
      if (v.init_remote_static !== undefined) assert.equal(toHex(respStatic.publicKey), v.init_remote_static)
      const init = createHandshake({
        pattern,
        initiator: true,
        staticKey: initStatic,
        prologue: hex(v.init_prologue),
        ephemeral: x25519KeyPairFromSecret(hex(v.init_ephemeral)),
        ...(pattern === 'IK' ? { remoteStatic: hex(v.init_remote_static ?? '') } : {}),
      })
      const resp = createHandshake({
        pattern,
        initiator: false,
        staticKey: respStatic,
        prologue: hex(v.resp_prologue),
        ephemeral: x25519KeyPairFromSecret(hex(v.resp_ephemeral)),
      })

      const handshakeLength = CHUNKS[pattern].length
      const wire = v.messages.slice(0, handshakeLength).map((m, i) => {
        const [sender, receiver] = i % 2 === 0 ? [init, resp] : [resp, init]
        const message = sender.writeMessage(hex(m.payload))
        assert.equal(toHex(message), m.ciphertext, `handshake message ${i}`)
        assert.equal(toHex(receiver.readMessage(message)), m.payload, `handshake payload ${i}`)
        return message
      })
      assert.equal(init.status, 'done')
      assert.equal(resp.status, 'done')

      const i = init.split()
      const r = resp.split()
      const hashes = transcript(pattern, hex(v.init_prologue), respStatic.publicKey, wire)
      assert.equal(toHex(i.handshakeHash), hashes.at(-1), 'handshake hash = transcript of the wire bytes')
      assert.deepEqual(r.handshakeHash, i.handshakeHash)
      if (hashKind === 'final') assert.equal(toHex(i.handshakeHash), v.handshake_hash)
      if (hashKind === 'before-last-message') assert.equal(hashes.at(-2), v.handshake_hash)
      if (hashKind === 'absent') assert.equal(v.handshake_hash, undefined)
      assert.deepEqual(i.remoteStatic, respStatic.publicKey)
      assert.deepEqual(r.remoteStatic, initStatic.publicKey)
      assert.deepEqual(i.sendKey, r.receiveKey)
      assert.deepEqual(i.receiveKey, r.sendKey)

      v.messages.slice(handshakeLength).forEach((m, k) => {
        const n = handshakeLength + k
        const [sender, receiver] = n % 2 === 0 ? [i, r] : [r, i]
        const ciphertext = sender.send.encryptWithAd(EMPTY, hex(m.payload))
        assert.equal(toHex(ciphertext), m.ciphertext, `transport message ${n}`)
        assert.equal(toHex(receiver.receive.decryptWithAd(EMPTY, ciphertext)), m.payload)
      })
    })
  })
}

test('each source covers both suites', () => {
  assert.equal(covered.size, Object.keys(SOURCES).length * SUITES.size)
})
