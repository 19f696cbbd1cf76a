/** Opening records as transport bytes arrive (record.ts has the format). */
import { createDecipheriv, type DecipherChaCha20Poly1305 } from 'node:crypto'
import { TunnelError } from '../errors.ts'
import {
  CLEAR_FLAG,
  Direction,
  MAX_RECORD_PLAINTEXT,
  NO_PLAINTEXT,
  RECORD_HEADER,
  TAG_LENGTH,
} from './record-key.ts'

type OpenerStatus = 'header' | 'body' | 'clear-body' | 'tag' | 'ended' | 'failed'

/**
 * Streaming opener. Feed transport bytes with push(); it returns verified plaintext pieces (in
 * order; possibly none). Throws a TunnelError (and becomes unusable) on a bad record. Nothing of a
 * record is released before its tag verifies.
 *
 *   header --(3 bytes)--> body       --(decrypted as they come)--------------> tag --(16)--> header
 *                    \--> clear-body --(authenticated as they come, held as is)-/     empty encrypted --> ended
 */
export class RecordOpener extends Direction {
  private status: OpenerStatus = 'header'
  private readonly headerBuf = Buffer.alloc(RECORD_HEADER)
  private readonly tagBuf = Buffer.alloc(TAG_LENGTH)
  private have = 0
  private bodyRemaining = 0
  private bodyLength = 0
  private clear = false
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
        case 'body':
        case 'clear-body': {
          const take = Math.min(this.bodyRemaining, chunk.length - at)
          const piece = chunk.subarray(at, at + take)
          const decipher = this.decipher as DecipherChaCha20Poly1305
          if (this.status === 'body') {
            const out = decipher.update(piece)
            if (out.length > 0) this.held.push(out)
          } else {
            decipher.setAAD(piece, NO_PLAINTEXT)
            this.held.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength))
          }
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
    const field = this.headerBuf.readUIntBE(0, RECORD_HEADER)
    this.clear = (field & CLEAR_FLAG) !== 0
    const length = field & ~CLEAR_FLAG
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
    if (this.clear) this.decipher.setAAD(this.headerBuf, NO_PLAINTEXT)
    this.status = this.bodyRemaining === 0 ? 'tag' : this.clear ? 'clear-body' : 'body'
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
    if (this.bodyLength === 0 && !this.clear) {
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
