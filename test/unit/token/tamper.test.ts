// Every single-bit flip and every truncation of a server token, a client token (binary and text)
// and a grant is refused with a coded error: exhaustively, every bit of every byte, every length.
// Nothing is accepted and nothing throws anything but a TunnelError.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createServerToken,
  decodeGrant,
  decodeToken,
  encodeGrant,
  encodeToken,
  mintClientToken,
  tokenFromBytes,
  tokenToBytes,
  verifyGrant,
} from '../../../src/token/index.ts'
import {
  HOUR,
  RELAY_ADDRESS,
  SERVER,
  T0,
  assertCode,
  countingRandom,
  flipBit,
  flipTextBit,
} from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const client = mintClientToken(server, {
  targets: ['tcp://127.0.0.1:22', 'tcp://db.internal:5432'],
  name: 'laptop',
  now: T0 + HOUR,
  random: countingRandom(7),
})
const INVALID = ['TUN_ERR_TOKEN_INVALID'] as const
/** Codes verifyGrant may give a damaged grant: a flip may land in the server key or a time. */
const REFUSED = [
  'TUN_ERR_TOKEN_INVALID',
  'TUN_ERR_TOKEN_WRONG_SERVER',
  'TUN_ERR_TOKEN_EXPIRED',
  'TUN_ERR_TOKEN_NOT_YET_VALID',
] as const

function everyFlipAndTruncation(
  name: string,
  bytes: Uint8Array,
  decode: (b: Uint8Array) => unknown,
  codes: readonly (typeof REFUSED)[number][],
): void {
  test(`${name}: all ${bytes.length * 8} single-bit flips and ${bytes.length} truncations are refused`, () => {
    decode(bytes) // the original is accepted
    for (let i = 0; i < bytes.length; i++)
      for (let bit = 0; bit < 8; bit++)
        assertCode(() => decode(flipBit(bytes, i, bit)), codes, `${name} byte ${i} bit ${bit}`)
    for (let n = 0; n < bytes.length; n++)
      assertCode(() => decode(bytes.subarray(0, n)), codes, `${name} truncated to ${n}`)
  })
}

function everyTextFlipAndTruncation(name: string, text: string): void {
  test(`${name} text: all ${text.length * 8} single-bit flips and ${text.length} truncations are refused`, () => {
    decodeToken(text)
    for (let i = 0; i < text.length; i++)
      for (let bit = 0; bit < 8; bit++)
        assertCode(() => decodeToken(flipTextBit(text, i, bit)), INVALID, `${name} char ${i} bit ${bit}`)
    for (let n = 0; n < text.length; n++)
      assertCode(() => decodeToken(text.slice(0, n)), INVALID, `${name} truncated to ${n}`)
  })
}

everyFlipAndTruncation('server token', tokenToBytes(server), tokenFromBytes, INVALID)
everyFlipAndTruncation('client token', tokenToBytes(client), tokenFromBytes, INVALID)
everyFlipAndTruncation('grant (decodeGrant)', encodeGrant(client.grant), decodeGrant, INVALID)
everyFlipAndTruncation(
  'grant (verifyGrant)',
  encodeGrant(client.grant),
  (b) => verifyGrant(b, { serverId: server.serverId, now: T0 + 2 * HOUR }),
  REFUSED,
)
everyTextFlipAndTruncation('server token', encodeToken(server))
everyTextFlipAndTruncation('client token', encodeToken(client))

test('a byte appended to any form, or one character appended inside the text, is refused', () => {
  for (const bytes of [tokenToBytes(server), tokenToBytes(client)]) {
    assertCode(() => tokenFromBytes(Uint8Array.of(...bytes, 0)), INVALID)
  }
  assertCode(() => decodeGrant(Uint8Array.of(...encodeGrant(client.grant), 0)), INVALID)
  for (const text of [encodeToken(server), encodeToken(client)]) {
    for (const extra of ['A', '-', '_', '=', '.', ' x'])
      assertCode(() => decodeToken(text + extra), INVALID, extra)
    assertCode(() => decodeToken(`${text.slice(0, 40)}\n${text.slice(40)}`), INVALID, 'a newline inside')
  }
})

test('a flip in the seed is caught by the signature: the key changes with the seed', () => {
  const bytes = tokenToBytes(server)
  const flipped = flipBit(bytes, 2, 0)
  const err = assertCode(() => tokenFromBytes(flipped), INVALID)
  assert.match(err.message, /signature/)
})
