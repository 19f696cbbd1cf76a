/**
 * Byte reading and writing for the token codecs (pure). Big-endian integers, length-prefixed UTF-8
 * strings, u64 times in seconds. The reader never reads past its input and never trusts a length:
 * every failure is `TUN_ERR_TOKEN_INVALID` naming the structure and the field, so a truncated,
 * padded or corrupted token can only ever produce that coded error. Also the checks every layout
 * in wire.ts shares: key sizes, time order, counted string lists. Encoders check the same limits
 * decoders do (`TUN_ERR_INVALID_ARGUMENT` there), so whatever is encoded decodes.
 */
import { TunnelError } from '../errors.ts'

/**
 * The latest time a token may name: 9999-12-31T23:59:59Z, in seconds. It keeps every time a safe
 * integer and printable as ISO 8601 (`Date` stops at year 275760), and no lifetime needs more.
 */
export const MAX_TIME_SECONDS = 253_402_300_799

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/** A `TUN_ERR_TOKEN_INVALID` error: the one code every malformed token, grant or text raises. */
export function invalid(message: string, cause?: unknown): TunnelError {
  return new TunnelError('TUN_ERR_TOKEN_INVALID', message, cause === undefined ? {} : { cause })
}

const bad = (why: string): TunnelError => new TunnelError('TUN_ERR_INVALID_ARGUMENT', why)

/** Bytes of a string in UTF-8. */
export const utf8Bytes = (text: string): Uint8Array => encoder.encode(text)

/** Collects the parts of one binary form; `finish()` joins them. Encoders check limits before writing. */
export class ByteWriter {
  readonly #parts: Uint8Array[] = []
  #length = 0

  #push(part: Uint8Array): void {
    this.#parts.push(part)
    this.#length += part.length
  }

  u8(value: number): void {
    this.#push(Uint8Array.of(value & 0xff))
  }

  u16(value: number): void {
    this.#push(Uint8Array.of((value >>> 8) & 0xff, value & 0xff))
  }

  /** A time in whole seconds since the Unix epoch, as u64 big-endian. */
  time(seconds: number): void {
    const part = new Uint8Array(8)
    const view = new DataView(part.buffer)
    view.setUint32(0, Math.floor(seconds / 0x1_0000_0000))
    view.setUint32(4, seconds >>> 0)
    this.#push(part)
  }

  bytes(value: Uint8Array): void {
    this.#push(Uint8Array.from(value))
  }

  /** A string with a u8 (`width` 1) or u16 (`width` 2) byte-length prefix. */
  string(width: 1 | 2, value: string): void {
    const bytes = utf8Bytes(value)
    if (width === 1) this.u8(bytes.length)
    else this.u16(bytes.length)
    this.#push(bytes)
  }

  get length(): number {
    return this.#length
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let at = 0
    for (const part of this.#parts) {
      out.set(part, at)
      at += part.length
    }
    return out
  }
}

/** Reads one binary form front to back; `what` names it in messages ("server token", "grant"). */
export class ByteReader {
  readonly #bytes: Uint8Array
  readonly #what: string
  #at = 0

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes
    this.#what = what
  }

  /** Bytes read so far: the end of the signed part, when called just before the signature. */
  get offset(): number {
    return this.#at
  }

  #take(n: number, field: string): Uint8Array {
    if (this.#at + n > this.#bytes.length) {
      throw invalid(`${this.#what} is truncated: it ends inside ${field} (at byte ${this.#bytes.length})`)
    }
    const out = this.#bytes.subarray(this.#at, this.#at + n)
    this.#at += n
    return out
  }

  u8(field: string): number {
    return this.#take(1, field)[0] ?? 0
  }

  u16(field: string): number {
    const b = this.#take(2, field)
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0)
  }

  /** A u64 time in seconds, refused beyond {@link MAX_TIME_SECONDS}. */
  time(field: string): number {
    const b = this.#take(8, field)
    const view = new DataView(b.buffer, b.byteOffset, 8)
    const value = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4)
    if (value > MAX_TIME_SECONDS) throw invalid(`${this.#what}: ${field} is beyond year 9999`)
    return value
  }

  /** A copy of the next `n` bytes (callers keep them; the input may be reused). */
  bytes(n: number, field: string): Uint8Array {
    return Uint8Array.from(this.#take(n, field))
  }

  /** A length-prefixed UTF-8 string of at most `max` bytes; invalid UTF-8 is refused. */
  string(width: 1 | 2, max: number, field: string): string {
    const length = width === 1 ? this.u8(`the length of ${field}`) : this.u16(`the length of ${field}`)
    if (length > max) throw invalid(`${this.#what}: ${field} is ${length} bytes, over the limit of ${max}`)
    const bytes = this.#take(length, field)
    try {
      return utf8.decode(bytes)
    } catch (err) {
      throw invalid(`${this.#what}: ${field} is not valid UTF-8`, err)
    }
  }

  /** Throws unless every byte was read: trailing bytes are corruption, never ignored. */
  end(): void {
    if (this.#at !== this.#bytes.length) {
      throw invalid(`${this.#what} has ${this.#bytes.length - this.#at} unexpected trailing byte(s)`)
    }
  }
}

/** Encoders: `value` is a Uint8Array of exactly `size` bytes. */
export function checkBytes(value: Uint8Array, size: number, field: string): void {
  if (!(value instanceof Uint8Array) || value.length !== size) throw bad(`${field} must be ${size} bytes`)
}

/** Encoders: times are whole seconds in 1970..9999, issuedAt <= notBefore < expiresAt. */
export function checkTimes(issuedAt: number, expiresAt: number, notBefore = issuedAt): void {
  for (const [t, field] of [
    [issuedAt, 'issuedAt'],
    [notBefore, 'notBefore'],
    [expiresAt, 'expiresAt'],
  ] as const) {
    if (!Number.isSafeInteger(t) || t < 0 || t > MAX_TIME_SECONDS)
      throw bad(`${field} must be whole seconds between 1970 and 9999, got ${t}`)
  }
  if (notBefore < issuedAt) throw bad('notBefore must not be before issuedAt')
  if (expiresAt <= notBefore) throw bad('expiresAt must be after issuedAt and notBefore')
}

/** A u8 count, then each string with a u16 length (1..maxBytes bytes). */
export function writeList(
  w: ByteWriter,
  list: readonly string[],
  max: number,
  maxBytes: number,
  field: string,
): void {
  if (list.length > max) throw bad(`at most ${max} ${field}s, got ${list.length}`)
  w.u8(list.length)
  for (const item of list) {
    const size = typeof item === 'string' ? utf8Bytes(item).length : 0
    if (size < 1 || size > maxBytes) throw bad(`a ${field} is 1-${maxBytes} bytes, got ${size}`)
    w.string(2, item)
  }
}

/** The inverse of {@link writeList}: counts and lengths over their limits are refused. */
export function readList(
  r: ByteReader,
  max: number,
  maxBytes: number,
  field: string,
  what: string,
): string[] {
  const count = r.u8(`the ${field} count`)
  if (count > max) throw invalid(`${what} lists ${count} ${field}s, over the limit of ${max}`)
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const item = r.string(2, maxBytes, `${field} ${i + 1}`)
    if (item === '') throw invalid(`${what}: ${field} ${i + 1} is empty`)
    out.push(item)
  }
  return out
}

/** Decoders: issuedAt <= notBefore < expiresAt, or `TUN_ERR_TOKEN_INVALID`. */
export function timesOrInvalid(
  what: string,
  issuedAt: number,
  expiresAt: number,
  notBefore = issuedAt,
): void {
  if (notBefore < issuedAt) throw invalid(`${what}: notBefore is before issuedAt`)
  if (expiresAt <= notBefore) throw invalid(`${what}: expiresAt is not after issuedAt and notBefore`)
}
