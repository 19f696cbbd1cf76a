// The text form: prefix + base64url without padding; lenient around, strict inside.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  MAX_TOKEN_TEXT_LENGTH,
  createServerToken,
  decodeToken,
  encodeToken,
  mintClientToken,
  tokenToBytes,
} from '../../../src/token/index.ts'
import { HOUR, RELAY_ADDRESS, SERVER, T0, assertCode } from './fixtures.ts'

const server = createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 })
const client = mintClientToken(server, { now: T0 + HOUR })
const text = encodeToken(server)
const body = text.slice('burrow-server-v1.'.length)
const invalid = (input: string, message?: RegExp): void => {
  const err = assertCode(
    () => decodeToken(input),
    ['TUN_ERR_TOKEN_INVALID'],
    JSON.stringify(input.slice(0, 40)),
  )
  if (message) assert.match(err.message, message)
}

test('the text is the prefix and unpadded base64url, safe in shells and URLs', () => {
  assert.match(text, /^burrow-server-v1\.[A-Za-z0-9_-]+$/)
  assert.match(encodeToken(client), /^burrow-client-v1\.[A-Za-z0-9_-]+$/)
  assert.equal(encodeURIComponent(text), text)
  assert.deepEqual(Buffer.from(body, 'base64url'), Buffer.from(tokenToBytes(server)))
})

test('whitespace around the text is ignored', () => {
  for (const around of [`${text}\n`, `  ${text}\r\n\r\n`, `\t${text} `, `\n\n${text}\n`])
    assert.equal(decodeToken(around).kind, 'server')
})

test('inside, nothing may change: whitespace, padding, standard base64, other characters', () => {
  invalid(`${text.slice(0, 30)} ${text.slice(30)}`, /U\+0020 at position 30/)
  invalid(`${text.slice(0, 30)}\n${text.slice(30)}`)
  invalid(`${text}=`)
  invalid(text.replace(/-/g, '+').replace(/_/g, '/'))
  invalid(`${text.slice(0, 30)}é${text.slice(31)}`)
  invalid(text.toUpperCase())
})

test('prefixes: unknown kinds and versions are refused, and the prefix must match the bytes', () => {
  invalid(`burrow-server-v2.${body}`, /v2 is not supported/)
  invalid(`burrow-grant-v1.${body}`, /not a burrow token/)
  invalid(`Burrow-server-v1.${body}`, /not a burrow token/)
  invalid(body, /not a burrow token/)
  invalid(`burrow-client-v1.${body}`, /prefix does not match/)
  invalid('burrow-server-v1.', /ends after its prefix/)
  invalid('-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----\n', /looks like a key file/)
})

test('non-canonical base64url (stray trailing bits, impossible length) is refused', () => {
  // The server token is 202 bytes: 270 characters, the last carrying 4 unused bits.
  const last = body.at(-1) ?? ''
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sibling = alphabet[alphabet.indexOf(last) + 1] ?? 'A'
  invalid(`burrow-server-v1.${body.slice(0, -1)}${sibling}`, /not canonical/)
  invalid(`burrow-server-v1.${body}A`, /truncated|trailing/)
})

test('sizes and types: over-long text and non-strings are refused', () => {
  invalid(`burrow-server-v1.${'A'.repeat(MAX_TOKEN_TEXT_LENGTH)}`, /at most/)
  invalid(' '.repeat(100_000))
  assertCode(() => decodeToken(undefined as never), ['TUN_ERR_TOKEN_INVALID'])
  assertCode(() => decodeToken(42 as never), ['TUN_ERR_TOKEN_INVALID'])
})
