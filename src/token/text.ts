/**
 * The text form of tokens (pure): `burrow-server-v1.<base64url>` and `burrow-client-v1.<base64url>`,
 * base64url without padding (RFC 4648 section 5). Letters, digits, `-`, `_` and one `.`: it survives
 * copy-paste, shells, URLs, environment variables and line-wrapping mail clients' word selection.
 *
 * Reading is strict inside and lenient outside: whitespace around the text (a trailing newline from
 * a file or `echo`) is ignored, but inside nothing may change. Any other character, a non-canonical
 * base64url spelling (non-zero trailing bits, a length no byte string has) or a prefix of another
 * version is `TUN_ERR_TOKEN_INVALID`, so every bit flip of the text fails before any signature check
 * could be fooled by lenient decoding.
 */
import { invalid } from './bytes.ts'
import { MAX_TOKEN_TEXT_LENGTH, TEXT_PREFIX } from './wire.ts'

export type TextKind = keyof typeof TEXT_PREFIX

/** Whitespace ignored around a token: space, tab, CR, LF, vertical tab, form feed. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d)

/** `text` without the whitespace around it (a linear scan: no regex backtracking on hostile input). */
function trimAround(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && isSpace(text.charCodeAt(start))) start++
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--
  return text.slice(start, end)
}

const isBase64Url = (c: number): boolean =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f
const PREFIX = /^burrow-(server|client)-v([0-9]{1,6})\./

/** `<prefix><base64url>` for a token's binary form. */
export function encodeText(kind: TextKind, bytes: Uint8Array): string {
  return (
    TEXT_PREFIX[kind] + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  )
}

/** True when `text` looks like a token's text form (for refusing tokens passed where a path goes). */
export function looksLikeTokenText(text: string): boolean {
  return /^\s*burrow-(server|client|grant)-v/.test(text)
}

/**
 * The kind named by the prefix and the binary form of a token text. The binary form is not checked
 * here (the caller decodes it, and checks that its kind byte agrees with the prefix).
 *
 * @throws TunnelError `TUN_ERR_TOKEN_INVALID` saying what is wrong with the text.
 */
export function decodeText(input: string): { kind: TextKind; bytes: Uint8Array } {
  if (typeof input !== 'string') throw invalid(`a token is text, got ${typeof input}`)
  if (input.length > MAX_TOKEN_TEXT_LENGTH + 4096) throw invalid('a token text is far too long')
  const text = trimAround(input)
  if (text.length > MAX_TOKEN_TEXT_LENGTH)
    throw invalid(`a token text is at most ${MAX_TOKEN_TEXT_LENGTH} characters, got ${text.length}`)
  const m = PREFIX.exec(text)
  if (m === null) {
    throw invalid(
      `not a burrow token: a token starts with ${TEXT_PREFIX.server} or ${TEXT_PREFIX.client}` +
        (text.startsWith('-----BEGIN') ? ' (this looks like a key file)' : ''),
    )
  }
  const kind = m[1] as TextKind
  if (m[2] !== '1') throw invalid(`token format v${m[2]} is not supported: this build reads v1`)
  const body = text.slice(m[0].length)
  if (body === '') throw invalid('the token text ends after its prefix')
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    if (!isBase64Url(c)) {
      throw invalid(
        `a token has only base64url characters after its prefix; found U+${c.toString(16).padStart(4, '0')} at position ${m[0].length + i} (was it wrapped or edited?)`,
      )
    }
  }
  if (body.length % 4 === 1) throw invalid('the token text is truncated (its length is not one of base64url)')
  const bytes = Buffer.from(body, 'base64url')
  if (bytes.toString('base64url') !== body) throw invalid('the token text is not canonical base64url')
  return { kind, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
}
