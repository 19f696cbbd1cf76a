import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import {
  dhPublicKeyFromId,
  generateIdentity,
  identityFromSeed,
  type Identity,
} from '../../../src/identity/keys.ts'
import { MAX_MESSAGE_LENGTH } from '../../../src/secure/crypto.ts'
import { createHandshake, type Handshake, type HandshakePattern } from '../../../src/secure/handshake.ts'

const PROLOGUE = new TextEncoder().encode('burrow test prologue v1')
const EMPTY = new Uint8Array(0)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const alice = generateIdentity()
const bob = generateIdentity()
const carol = generateIdentity()
const LENGTHS: Record<HandshakePattern, number> = { XX: 3, IK: 2 }

function pair(
  pattern: HandshakePattern,
  i: Identity,
  r: Identity,
  prologue: Uint8Array = PROLOGUE,
): [Handshake, Handshake] {
  return [
    createHandshake({
      pattern,
      initiator: true,
      staticKey: i.dh,
      prologue,
      ...(pattern === 'IK' ? { remoteStatic: dhPublicKeyFromId(r.id) } : {}),
    }),
    createHandshake({ pattern, initiator: false, staticKey: r.dh, prologue }),
  ]
}

/** Runs the whole handshake; message k goes through `tamper` first. Returns the payloads received. */
function run(
  init: Handshake,
  resp: Handshake,
  payloads: Uint8Array[],
  tamper = (_k: number, m: Uint8Array) => m,
) {
  return payloads.map((payload, k) => {
    const [sender, receiver] = k % 2 === 0 ? [init, resp] : [resp, init]
    return receiver.readMessage(tamper(k, sender.writeMessage(payload)))
  })
}

function rejectsWith(fn: () => unknown, ...codes: string[]): void {
  assert.throws(fn, (err: unknown) => isTunnelError(err) && codes.includes(err.code))
}

for (const pattern of ['XX', 'IK'] as const) {
  test(`${pattern}: completes between two burrow nodes, payloads both ways, named states in order`, () => {
    const [init, resp] = pair(pattern, alice, bob)
    const seen: string[] = [`${init.status}|${resp.status}`]
    const payloads = [text('hello 1'), text('hello 2'), text('hello 3')].slice(0, LENGTHS[pattern])
    const received = payloads.map((payload, k) => {
      const [sender, receiver] = k % 2 === 0 ? [init, resp] : [resp, init]
      const out = receiver.readMessage(sender.writeMessage(payload))
      seen.push(`${init.status}|${resp.status}`)
      return out
    })
    assert.deepEqual(received, payloads)
    assert.deepEqual(
      seen,
      pattern === 'XX'
        ? ['write-e|read-e', 'read-e-ee-s-es|write-e-ee-s-es', 'write-s-se|read-s-se', 'done|done']
        : ['write-e-es-s-ss|read-e-es-s-ss', 'read-e-ee-se|write-e-ee-se', 'done|done'],
    )
    const i = init.split()
    const r = resp.split()
    assert.equal(init.status, 'split')
    assert.deepEqual(i.handshakeHash, r.handshakeHash)
    assert.deepEqual(i.sendKey, r.receiveKey)
    assert.deepEqual(i.receiveKey, r.sendKey)
    assert.notDeepEqual(i.sendKey, i.receiveKey)
    const ad = EMPTY
    assert.deepEqual(r.receive.decryptWithAd(ad, i.send.encryptWithAd(ad, text('ping'))), text('ping'))
    assert.deepEqual(i.receive.decryptWithAd(ad, r.send.encryptWithAd(ad, text('pong'))), text('pong'))
  })

  test(`${pattern}: remoteStatic is the peer's identity dh key on both sides`, () => {
    const [init, resp] = pair(pattern, alice, bob)
    run(
      init,
      resp,
      Array.from({ length: LENGTHS[pattern] }, () => EMPTY),
    )
    assert.deepEqual(init.split().remoteStatic, bob.dh.publicKey)
    assert.deepEqual(resp.split().remoteStatic, alice.dh.publicKey)
  })

  test(`${pattern}: a different prologue on each side fails the handshake`, () => {
    const init = pair(pattern, alice, bob)[0]
    const resp = pair(pattern, alice, bob, text('another prologue'))[1]
    rejectsWith(
      () => run(init, resp, [EMPTY, EMPTY, EMPTY].slice(0, LENGTHS[pattern])),
      'TUN_ERR_HANDSHAKE_FAILED',
    )
  })

  test(`${pattern}: the largest payload makes a 65535-byte message; one byte more is refused without harm`, () => {
    const [init, resp] = pair(pattern, alice, bob)
    const max = init.maxPayloadLength
    rejectsWith(() => init.writeMessage(new Uint8Array(max + 1)), 'TUN_ERR_RECORD_TOO_LARGE')
    assert.equal(init.status, pattern === 'XX' ? 'write-e' : 'write-e-es-s-ss')
    const message = init.writeMessage(new Uint8Array(max).fill(7))
    assert.equal(message.length, MAX_MESSAGE_LENGTH)
    assert.deepEqual(resp.readMessage(message), new Uint8Array(max).fill(7))
  })

  test(`${pattern}: a message over 65535 bytes is TUN_ERR_RECORD_TOO_LARGE and fails the handshake`, () => {
    const resp = pair(pattern, alice, bob)[1]
    rejectsWith(() => resp.readMessage(new Uint8Array(MAX_MESSAGE_LENGTH + 1)), 'TUN_ERR_RECORD_TOO_LARGE')
    assert.equal(resp.status, 'failed')
  })
}

test('IK from an id alone: the initiator needs only the responder id', () => {
  const init = createHandshake({
    pattern: 'IK',
    initiator: true,
    staticKey: alice.dh,
    remoteStatic: dhPublicKeyFromId(bob.id),
    prologue: PROLOGUE,
  })
  const resp = createHandshake({ pattern: 'IK', initiator: false, staticKey: bob.dh, prologue: PROLOGUE })
  assert.deepEqual(run(init, resp, [text('a'), text('b')]), [text('a'), text('b')])
})

test('IK with the wrong responder key fails on the responder readMessage', () => {
  const init = createHandshake({
    pattern: 'IK',
    initiator: true,
    staticKey: alice.dh,
    remoteStatic: carol.dh.publicKey,
    prologue: PROLOGUE,
  })
  const resp = createHandshake({ pattern: 'IK', initiator: false, staticKey: bob.dh, prologue: PROLOGUE })
  const message = init.writeMessage(text('secret for carol'))
  assert.throws(
    () => resp.readMessage(message),
    (err: unknown) => isTunnelError(err, 'TUN_ERR_HANDSHAKE_FAILED') && /IK responder read/.test(err.message),
  )
  assert.equal(resp.status, 'failed')
})

test('XX with an expected remote key: a different responder is refused before the initiator reveals itself', () => {
  const init = createHandshake({
    pattern: 'XX',
    initiator: true,
    staticKey: alice.dh,
    remoteStatic: carol.dh.publicKey,
    prologue: PROLOGUE,
  })
  const resp = createHandshake({ pattern: 'XX', initiator: false, staticKey: bob.dh, prologue: PROLOGUE })
  resp.readMessage(init.writeMessage())
  rejectsWith(() => init.readMessage(resp.writeMessage()), 'TUN_ERR_REMOTE_KEY_MISMATCH')
  assert.equal(init.status, 'failed')
  rejectsWith(() => init.writeMessage(), 'TUN_ERR_HANDSHAKE_FAILED')
})

test('wrong-state calls fail with TUN_ERR_HANDSHAKE_FAILED and move to failed', () => {
  const cases: [string, (hs: [Handshake, Handshake]) => unknown][] = [
    ['initiator reads first', ([i]) => i.readMessage(new Uint8Array(100))],
    ['responder writes first', ([, r]) => r.writeMessage()],
    ['split before done', ([i]) => i.split()],
    ['initiator writes twice', ([i]) => (i.writeMessage(), i.writeMessage())],
  ]
  for (const pattern of ['XX', 'IK'] as const) {
    for (const [name, call] of cases) {
      const hs = pair(pattern, alice, bob)
      assert.throws(
        () => call(hs),
        (err: unknown) => isTunnelError(err, 'TUN_ERR_HANDSHAKE_FAILED'),
        name,
      )
      assert.ok(
        hs.some((h) => h.status === 'failed'),
        name,
      )
    }
    const [init, resp] = pair(pattern, alice, bob)
    run(
      init,
      resp,
      Array.from({ length: LENGTHS[pattern] }, () => EMPTY),
    )
    init.split()
    rejectsWith(() => init.split(), 'TUN_ERR_HANDSHAKE_FAILED')
    rejectsWith(() => resp.writeMessage(), 'TUN_ERR_HANDSHAKE_FAILED')
    assert.equal(resp.status, 'failed')
    rejectsWith(() => resp.split(), 'TUN_ERR_HANDSHAKE_FAILED')
  }
})

test('non-bytes input is a handshake failure, bad options are TUN_ERR_INVALID_ARGUMENT', () => {
  const resp = pair('XX', alice, bob)[1]
  rejectsWith(() => resp.readMessage('hello' as unknown as Uint8Array), 'TUN_ERR_HANDSHAKE_FAILED')
  const bad = (o: object) => () =>
    createHandshake({ pattern: 'XX', initiator: true, staticKey: alice.dh, prologue: PROLOGUE, ...o })
  rejectsWith(bad({ pattern: 'NN' }), 'TUN_ERR_INVALID_ARGUMENT')
  rejectsWith(bad({ pattern: 'IK' }), 'TUN_ERR_INVALID_ARGUMENT')
  rejectsWith(
    bad({ pattern: 'IK', initiator: false, remoteStatic: bob.dh.publicKey }),
    'TUN_ERR_INVALID_ARGUMENT',
  )
  rejectsWith(bad({ remoteStatic: new Uint8Array(31) }), 'TUN_ERR_INVALID_ARGUMENT')
  rejectsWith(
    bad({ staticKey: { publicKey: alice.publicKey, privateKey: alice.privateKey } }),
    'TUN_ERR_INVALID_ARGUMENT',
  )
  rejectsWith(bad({ prologue: 'x' }), 'TUN_ERR_INVALID_ARGUMENT')
})

test('a low-order ephemeral key from the peer fails the handshake (all-zero DH output)', () => {
  // u = 0 and the order-8 point of RFC 7748 / libsodium's blocklist.
  for (const point of ['00'.repeat(32), 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800']) {
    const e = Buffer.from(point, 'hex')
    const xx = pair('XX', alice, bob)[1]
    xx.readMessage(e) // XX message 1 is unauthenticated: the failure comes at ee
    rejectsWith(() => xx.writeMessage(), 'TUN_ERR_HANDSHAKE_FAILED')
    const ik = pair('IK', alice, bob)[1]
    rejectsWith(() => ik.readMessage(Buffer.concat([e, new Uint8Array(64)])), 'TUN_ERR_HANDSHAKE_FAILED')
  }
})

const patternArb = fc.constantFrom<HandshakePattern>('XX', 'IK')

test('property: random bytes as any handshake message fail cleanly (only XX message 1 is unauthenticated)', () => {
  fc.assert(
    fc.property(
      patternArb,
      fc.nat(2),
      fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(MAX_MESSAGE_LENGTH + 1))),
      (pattern, at, junk) => {
        const k = at % LENGTHS[pattern]
        const [init, resp] = pair(pattern, alice, bob)
        run(
          init,
          resp,
          Array.from({ length: k }, () => EMPTY),
        )
        const [sender, receiver] = k % 2 === 0 ? [init, resp] : [resp, init]
        sender.writeMessage(EMPTY) // the honest message, replaced by junk
        try {
          receiver.readMessage(junk)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_HANDSHAKE_FAILED', 'TUN_ERR_RECORD_TOO_LARGE'), String(err))
          assert.equal(receiver.status, 'failed')
          return
        }
        assert.ok(pattern === 'XX' && k === 0 && junk.length >= 32, 'only XX message 1 may be accepted')
        // The responder now holds the junk's e and h: the honest initiator refuses its reply.
        try {
          init.readMessage(resp.writeMessage(EMPTY))
          assert.fail('the handshake completed with junk in it')
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_HANDSHAKE_FAILED'), String(err))
        }
      },
    ),
    { numRuns: 300 },
  )
})

test('property: any single-bit flip in any handshake message fails the handshake, never another error', () => {
  fc.assert(
    fc.property(
      patternArb,
      fc.nat(2),
      fc.nat(),
      fc.uint8Array({ maxLength: 40 }),
      (pattern, at, bit, payload) => {
        const k = at % LENGTHS[pattern]
        const [init, resp] = pair(pattern, alice, bob)
        const payloads = Array.from({ length: LENGTHS[pattern] }, () => payload)
        const flip = (n: number, m: Uint8Array): Uint8Array => {
          if (n !== k) return m
          const copy = new Uint8Array(m)
          const i = bit % (m.length * 8)
          copy[i >> 3] = (copy[i >> 3] ?? 0) ^ (1 << (i & 7))
          return copy
        }
        assert.throws(
          () => run(init, resp, payloads, flip),
          (err: unknown) => isTunnelError(err, 'TUN_ERR_HANDSHAKE_FAILED'),
        )
        assert.ok(init.status === 'failed' || resp.status === 'failed')
      },
    ),
    { numRuns: 300 },
  )
})

test('property: keys, hash and remote keys agree for random identities, prologues and payloads', () => {
  fc.assert(
    fc.property(
      patternArb,
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.uint8Array({ maxLength: 100 }), { minLength: 3, maxLength: 3 }),
      (pattern, seedA, seedB, prologue, payloads) => {
        const a = identityFromSeed(seedA)
        const b = identityFromSeed(seedB)
        const [init, resp] = pair(pattern, a, b, prologue)
        const sent = payloads.slice(0, LENGTHS[pattern])
        assert.deepEqual(
          run(init, resp, sent),
          sent.map((p) => new Uint8Array(p)),
        )
        const i = init.split()
        const r = resp.split()
        assert.deepEqual(i.sendKey, r.receiveKey)
        assert.deepEqual(i.receiveKey, r.sendKey)
        assert.deepEqual(i.handshakeHash, r.handshakeHash)
        assert.deepEqual(i.remoteStatic, b.dh.publicKey)
        assert.deepEqual(r.remoteStatic, a.dh.publicKey)
      },
    ),
    { numRuns: 50 },
  )
})
