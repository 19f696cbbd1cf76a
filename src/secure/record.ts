/**
 * The record layer: AEAD records carrying the plaintext byte stream of a secure channel after the
 * handshake. Pure: no sockets, no timers; channel.ts drives it.
 *
 *   record = length u24 BE | ciphertext | tag (16)
 *   length = ciphertext + tag bytes, 16 ..= MAX_RECORD_PLAINTEXT + 16
 *
 * ChaCha20-Poly1305 with the Noise nonce (4 zero bytes, then the 64-bit little-endian record
 * counter of this direction) and empty associated data. Records are a framing of the encryption
 * only: the plaintext is one byte stream, and frames of the layer above may straddle records.
 * A record with empty plaintext means "end of data" (an authenticated close): a transport EOF
 * without one is a truncation (TUN_ERR_TRUNCATED).
 *
 * Rekey (Noise REKEY, section 4.2): each direction replaces its key after REKEY_AFTER_RECORDS
 * records or REKEY_AFTER_BYTES plaintext bytes, whichever comes first, counted since the last
 * rekey. Both ends count the same records, so they rekey at the same record without a message.
 * The nonce keeps counting across rekeys, so no (key, nonce) pair is ever used twice.
 *
 * Why this shape (DESIGN.md decision 2): each node:crypto AEAD call costs ~10 us fixed, so records
 * are large (64 KiB) and a sealer encrypts a list of pieces without concatenating them; an opener
 * decrypts pieces as they arrive and releases plaintext only after the tag verifies.
 */
import {
  createCipheriv,
  createDecipheriv,
  type CipherChaCha20Poly1305,
  type DecipherChaCha20Poly1305,
} from 'node:crypto'
import { TunnelError } from '../errors.ts'

export const RECORD_HEADER = 3
export const TAG_LENGTH = 16
/** Largest plaintext in one record: 64 KiB. */
export const MAX_RECORD_PLAINTEXT = 65536
/** Rekey after this many records in one direction... */
export const REKEY_AFTER_RECORDS = 2 ** 20
/** ...or this many plaintext bytes (16 GiB), whichever comes first. */
export const REKEY_AFTER_BYTES = 2 ** 34
/**
 * Below this many plaintext bytes a record is built as one buffer (header, ciphertext, tag): one
 * AEAD update and one socket write beat several. Above it, pieces are encrypted where they lie.
 */
const JOIN_BELOW = 4096
/** Noise reserves nonce 2^64-1 for REKEY; counters here never get near 2^53, checked anyway. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER

export interface RekeyLimits {
  records?: number
  bytes?: number
}

const ZEROS_32 = Buffer.alloc(32)
const REKEY_NONCE = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

/** Noise REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). */
export function rekey(key: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, REKEY_NONCE)
  const out = cipher.update(ZEROS_32)
  cipher.final()
  return out.subarray(0, 32)
}

/** Holds one direction's key, nonce and rekey accounting. */
class Direction {
  protected key: Buffer
  protected readonly nonce = Buffer.alloc(12)
  protected counter = 0
  private recordsSinceRekey = 0
  private bytesSinceRekey = 0
  private readonly limits: Required<RekeyLimits>

  constructor(key: Uint8Array, limits: RekeyLimits = {}) {
    if (key.length !== 32) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a record key is 32 bytes')
    this.key = Buffer.from(key)
    this.limits = { records: limits.records ?? REKEY_AFTER_RECORDS, bytes: limits.bytes ?? REKEY_AFTER_BYTES }
  }

  /** Writes the nonce for record `n` (little-endian, after 4 zero bytes). */
  protected nonceFor(n: number): Buffer {
    if (n >= MAX_NONCE) throw new TunnelError('TUN_ERR_NONCE_EXHAUSTED', 'record counter exhausted')
    this.nonce.writeUInt32LE(n >>> 0, 4)
    this.nonce.writeUInt32LE(Math.floor(n / 0x100000000), 8)
    return this.nonce
  }

  protected account(plaintextBytes: number): void {
    this.recordsSinceRekey++
    this.bytesSinceRekey += plaintextBytes
    if (this.recordsSinceRekey >= this.limits.records || this.bytesSinceRekey >= this.limits.bytes) {
      const next = rekey(this.key)
      this.key.fill(0)
      this.key = next
      this.dropPrepared()
      this.recordsSinceRekey = 0
      this.bytesSinceRekey = 0
    }
  }

  /** Records sealed or opened so far in this direction. */
  get records(): number {
    return this.counter
  }

  wipe(): void {
    this.key.fill(0)
    this.dropPrepared()
  }

  /** Forgets a context made ahead of time (its key is gone). */
  protected dropPrepared(): void {}
}

export class RecordSealer extends Direction {
  #prepared: CipherChaCha20Poly1305 | undefined

  /**
   * Creates the cipher context of the next record now, so that creating it (about half the cost of
   * sealing a small record) is off the path of the next message. The channel calls this when the
   * event loop is idle; the context is dropped on rekey.
   */
  prepare(): void {
    this.#prepared ??= createCipheriv('chacha20-poly1305', this.key, this.nonceFor(this.counter))
  }

  protected override dropPrepared(): void {
    this.#prepared = undefined
  }

  /**
   * Seals `pieces` (total `length` bytes, at most MAX_RECORD_PLAINTEXT) as one record. Returns the
   * buffers to write, in order: header, ciphertext piece(s), tag. The pieces are not retained.
   */
  seal(pieces: readonly Uint8Array[], length: number): Buffer[] {
    if (length > MAX_RECORD_PLAINTEXT) {
      throw new TunnelError(
        'TUN_ERR_RECORD_TOO_LARGE',
        `record plaintext ${length} > ${MAX_RECORD_PLAINTEXT}`,
      )
    }
    // No options object: ChaCha20-Poly1305's tag is 16 bytes by default, and passing
    // { authTagLength: 16 } costs ~1.7 us of option validation on every record (measured).
    const cipher =
      this.#prepared ?? createCipheriv('chacha20-poly1305', this.key, this.nonceFor(this.counter))
    this.#prepared = undefined
    this.counter++
    const header = Buffer.allocUnsafe(RECORD_HEADER)
    header.writeUIntBE(length + TAG_LENGTH, 0, RECORD_HEADER)
    if (length < JOIN_BELOW) {
      const ct = cipher.update(
        pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces, length),
      )
      cipher.final()
      this.account(length)
      return [Buffer.concat([header, ct, cipher.getAuthTag()], RECORD_HEADER + length + TAG_LENGTH)]
    }
    const out: Buffer[] = [header]
    for (const piece of pieces) if (piece.length > 0) out.push(cipher.update(piece))
    cipher.final()
    out.push(cipher.getAuthTag())
    this.account(length)
    return out
  }

  /** The end-of-data record: empty plaintext, authenticated. */
  sealEnd(): Buffer[] {
    return this.seal([], 0)
  }
}

type OpenerStatus = 'header' | 'body' | 'tag' | 'ended' | 'failed'

/**
 * Streaming opener. Feed transport bytes with push(); it returns verified plaintext pieces (in
 * order; possibly none). Throws a TunnelError (and becomes unusable) on a bad record.
 *
 *   header --(3 bytes)--> body --(length-16 bytes, decrypted as they come)--> tag --(16)--> header
 *                                                        empty record --> ended
 */
export class RecordOpener extends Direction {
  private status: OpenerStatus = 'header'
  private readonly headerBuf = Buffer.alloc(RECORD_HEADER)
  private readonly tagBuf = Buffer.alloc(TAG_LENGTH)
  private have = 0
  private bodyRemaining = 0
  private bodyLength = 0
  private decipher: DecipherChaCha20Poly1305 | undefined
  private held: Buffer[] = []
  private prepared: DecipherChaCha20Poly1305 | undefined

  /** Creates the next record's decipher context ahead of time (see RecordSealer.prepare). */
  prepare(): void {
    if (this.status === 'failed' || this.status === 'ended') return
    this.prepared ??= createDecipheriv('chacha20-poly1305', this.key, this.nonceFor(this.counter))
  }

  protected override dropPrepared(): void {
    this.prepared = undefined
  }

  /** True once the end-of-data record has been verified. */
  get ended(): boolean {
    return this.status === 'ended'
  }

  push(chunk: Uint8Array): Buffer[] {
    const released: Buffer[] = []
    let at = 0
    while (at < chunk.length) {
      switch (this.status) {
        case 'header': {
          const take = Math.min(RECORD_HEADER - this.have, chunk.length - at)
          for (let i = 0; i < take; i++) this.headerBuf[this.have + i] = chunk[at + i] ?? 0
          this.have += take
          at += take
          if (this.have === RECORD_HEADER) this.startRecord()
          break
        }
        case 'body': {
          const take = Math.min(this.bodyRemaining, chunk.length - at)
          const out = (this.decipher as DecipherChaCha20Poly1305).update(chunk.subarray(at, at + take))
          if (out.length > 0) this.held.push(out)
          this.bodyRemaining -= take
          at += take
          if (this.bodyRemaining === 0) this.status = 'tag'
          break
        }
        case 'tag': {
          const take = Math.min(TAG_LENGTH - this.have, chunk.length - at)
          for (let i = 0; i < take; i++) this.tagBuf[this.have + i] = chunk[at + i] ?? 0
          this.have += take
          at += take
          if (this.have === TAG_LENGTH) this.finishRecord(released)
          break
        }
        case 'ended':
          this.fail(new TunnelError('TUN_ERR_PROTOCOL', 'data after the end-of-data record'))
          break
        case 'failed':
          throw new TunnelError('TUN_ERR_CONN_CLOSED', 'record stream already failed')
        default:
          assertNever(this.status)
      }
    }
    return released
  }

  /** Call at transport EOF: throws TUN_ERR_TRUNCATED unless the end-of-data record came. */
  end(): void {
    if (this.status === 'ended') return
    const where =
      this.status === 'header' && this.have === 0
        ? 'without an end-of-data record'
        : 'in the middle of a record'
    this.fail(new TunnelError('TUN_ERR_TRUNCATED', `the connection ended ${where}`))
  }

  private startRecord(): void {
    const length = this.headerBuf.readUIntBE(0, RECORD_HEADER)
    if (length < TAG_LENGTH)
      this.fail(new TunnelError('TUN_ERR_DECRYPT', `record length ${length} is shorter than its tag`))
    if (length > MAX_RECORD_PLAINTEXT + TAG_LENGTH) {
      this.fail(
        new TunnelError(
          'TUN_ERR_RECORD_TOO_LARGE',
          `record of ${length} bytes > ${MAX_RECORD_PLAINTEXT + TAG_LENGTH}`,
        ),
      )
    }
    this.bodyLength = length - TAG_LENGTH
    this.bodyRemaining = this.bodyLength
    this.have = 0
    this.decipher =
      this.prepared ?? createDecipheriv('chacha20-poly1305', this.key, this.nonceFor(this.counter))
    this.prepared = undefined
    this.counter++
    this.status = this.bodyRemaining === 0 ? 'tag' : 'body'
  }

  private finishRecord(released: Buffer[]): void {
    const decipher = this.decipher as DecipherChaCha20Poly1305
    decipher.setAuthTag(this.tagBuf)
    try {
      decipher.final()
    } catch (err) {
      this.held = []
      this.fail(
        new TunnelError('TUN_ERR_DECRYPT', `record ${this.counter - 1} failed authentication`, {
          cause: err,
        }),
      )
    }
    this.decipher = undefined
    this.have = 0
    this.account(this.bodyLength)
    if (this.bodyLength === 0) {
      this.status = 'ended'
      return
    }
    for (const piece of this.held) released.push(piece)
    this.held = []
    this.status = 'header'
  }

  private fail(err: TunnelError): never {
    this.status = 'failed'
    this.held = []
    this.decipher = undefined
    this.wipe()
    throw err
  }
}

function assertNever(x: never): never {
  throw new TunnelError('TUN_ERR_PROTOCOL', `unreachable state ${String(x)}`)
}
