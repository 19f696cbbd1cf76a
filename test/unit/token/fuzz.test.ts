// fast-check: whatever goes into a decoder, only coded errors come out (or, for a valid input,
// the token itself). Random text, random bytes, bytes with a valid header, mutated valid tokens.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import {
  createServerToken,
  decodeGrant,
  decodeToken,
  encodeGrant,
  encodeToken,
  mintClientToken,
  parseRevocationList,
  tokenFromBytes,
  tokenToBytes,
  verifyGrant,
} from '../../../src/token/index.ts'
import { signMessage } from '../../../src/identity/keys.ts'
import { SIGNATURE_DOMAIN } from '../../../src/token/index.ts'
import { grantBody, serverTokenBody, signedMessage } from '../../../src/token/wire.ts'
import { HOUR, RELAY_ADDRESS, SERVER, T0 } from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const client = mintClientToken(server, { targets: ['tcp://127.0.0.1:22'], name: 'fuzz', now: T0 + HOUR })
const RUNS = { numRuns: 2000 }

/** Runs `fn`; passes if it returns or throws a TunnelError whose code starts TUN_ERR_TOKEN_. */
function codedOnly(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    assert.ok(isTunnelError(err), `not a TunnelError: ${String(err)}`)
    assert.match(err.code, /^TUN_ERR_TOKEN_/)
  }
}

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['tokenFromBytes', tokenFromBytes],
  ['decodeGrant', decodeGrant],
  ['verifyGrant', (b) => verifyGrant(b, { serverId: server.serverId, now: T0 + 2 * HOUR })],
]

test('random strings into decodeToken: coded errors only', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => codedOnly(() => decodeToken(s))),
    RUNS,
  )
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => codedOnly(() => decodeToken(s))),
    RUNS,
  )
})

test('random bytes behind a valid prefix into decodeToken: coded errors only', () => {
  const prefixes = ['burrow-server-v1.', 'burrow-client-v1.']
  fc.assert(
    fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 600 }), (p, b) =>
      codedOnly(() => decodeToken(p + Buffer.from(b).toString('base64url'))),
    ),
    RUNS,
  )
})

for (const [name, decode] of decoders) {
  test(`random bytes into ${name}: coded errors only`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => codedOnly(() => decode(b))),
      RUNS,
    )
  })

  test(`random bytes behind a valid header into ${name}: coded errors only`, () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: 600 }), (kind, b) =>
        codedOnly(() => decode(Uint8Array.of(1, kind, ...b))),
      ),
      RUNS,
    )
  })
}

test('valid tokens with random bytes overwritten: refused with a code unless unchanged', () => {
  const originals = [tokenToBytes(server), tokenToBytes(client), encodeGrant(client.grant)]
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      (which, edits) => {
        const original = originals[which] ?? new Uint8Array()
        const bytes = Uint8Array.from(original)
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        const decode = which === 2 ? decodeGrant : tokenFromBytes
        if (Buffer.compare(bytes, original) === 0) decode(bytes)
        else codedOnly(() => decode(bytes))
      },
    ),
    RUNS,
  )
})

test('well-laid-out, correctly signed forms with arbitrary strings and times: coded errors only', () => {
  const str = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  )
  const sign = (domain: string, body: Uint8Array) =>
    Uint8Array.from([...body, ...signMessage(SERVER, signedMessage(domain, body))])
  const times = fc
    .tuple(fc.nat(2_000_000_000), fc.nat(1_000_000), fc.integer({ min: 1, max: 1_000_000 }))
    .map(([issuedAt, wait, life]) => ({
      issuedAt,
      notBefore: issuedAt + wait,
      expiresAt: issuedAt + wait + life,
    }))
  fc.assert(
    fc.property(fc.array(str, { maxLength: 4 }), times, (relays, t) => {
      const body = serverTokenBody({
        seed: new Uint8Array(32).fill(0x11),
        issuedAt: t.issuedAt,
        expiresAt: t.expiresAt,
        relays,
      })
      codedOnly(() => tokenFromBytes(sign(SIGNATURE_DOMAIN.server, body)))
    }),
    { numRuns: 500 },
  )
  fc.assert(
    fc.property(
      fc.array(str, { maxLength: 3 }),
      fc.array(str, { maxLength: 3 }),
      fc.option(str, { nil: undefined }),
      times,
      (relays, targets, name, t) => {
        const body = grantBody({
          serverKey: SERVER.publicKey,
          clientKey: SERVER.publicKey,
          tokenId: new Uint8Array(16),
          ...t,
          name,
          relays,
          targets,
        })
        codedOnly(() => decodeGrant(sign(SIGNATURE_DOMAIN.grant, body)))
      },
    ),
    { numRuns: 500 },
  )
})

test('minted tokens round-trip through text for any valid targets, name and lifetime', () => {
  const target = fc
    .tuple(fc.constantFrom('tcp', 'udp'), fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
    .map(([p, host, port]) => `${p}://${host}:${port}`)
  const name = fc
    .string({ minLength: 1, maxLength: 20 })
    // eslint-disable-next-line no-control-regex
    .filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s) && Buffer.byteLength(s) <= 64)
  fc.assert(
    fc.property(
      fc.array(target, { maxLength: 8 }),
      fc.option(name, { nil: undefined }),
      fc.integer({ min: 1, max: 179 }),
      (targets, tokenName, days) => {
        const token = mintClientToken(server, {
          targets,
          ...(tokenName === undefined ? {} : { name: tokenName }),
          days,
          now: T0,
        })
        const back = decodeToken(encodeToken(token))
        assert.deepEqual(back, token)
        assert.equal(encodeToken(back), encodeToken(token))
        verifyGrant(encodeGrant(token.grant), { serverId: server.serverId, now: T0 })
      },
    ),
    { numRuns: 200 },
  )
})

test('random text into parseRevocationList: parsed, or TUN_ERR_INVALID_ARGUMENT', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        parseRevocationList(s, 'fuzz')
      } catch (err) {
        assert.ok(isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'), String(err))
      }
    }),
    RUNS,
  )
})
