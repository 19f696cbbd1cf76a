/**
 * RFC 4648 base32, lowercase, without padding: the text form of node ids. Lowercase letters and
 * digits 2-7 only, so an id is a valid DNS label (52 characters for 32 bytes) and survives
 * copy-paste, shells and URLs. Decoding is strict: one canonical spelling per byte string (no
 * uppercase, no padding, unused trailing bits must be zero).
 */
import { TunnelError } from '../errors.ts'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i

export function base32Encode(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

export function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8))
  let bits = 0
  let value = 0
  let at = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const v = code < 128 ? (VALUES[code] ?? -1) : -1
    if (v < 0) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        `invalid base32 character ${JSON.stringify(text[i])} at position ${i}`,
      )
    }
    value = ((value << 5) | v) & 0xfff
    bits += 5
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      'base32 text is not in canonical form (bad length or trailing bits)',
    )
  }
  return out
}
