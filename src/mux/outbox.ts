/**
 * The write in progress on one stream: the chunks of one `_write`/`_writev` call, a cursor into
 * them, and the callback to run once every byte is handed to the link. DATA frames take their
 * bodies from here as subarrays of the caller's chunks: bytes are never copied, and one frame may
 * span several small chunks (one header for many writes).
 */
import type { LinkWriter } from './writer.ts'

type Callback = (err?: Error | null) => void
const NO_CHUNKS: Uint8Array[] = []

export class Outbox {
  /** Bytes not yet written. */
  pending = 0
  private chunks = NO_CHUNKS
  private index = 0
  private offset = 0
  private cb: Callback | null = null

  start(chunks: Uint8Array[], total: number, cb: Callback): void {
    this.chunks = chunks
    this.index = 0
    this.offset = 0
    this.pending = total
    this.cb = cb
  }

  /** Writes the next `n` (≤ pending) bytes to `writer`, as views of the chunks (clear: see LinkWriter.writeClear). */
  writeTo(writer: LinkWriter, n: number, clear = false): void {
    this.pending -= n
    while (n > 0) {
      const c = this.chunks[this.index] as Uint8Array
      const avail = c.length - this.offset
      if (avail <= n) {
        const piece = this.offset === 0 ? c : c.subarray(this.offset)
        if (clear) writer.writeClear(piece)
        else writer.write(piece)
        n -= avail
        this.index++
        this.offset = 0
      } else {
        const piece = c.subarray(this.offset, this.offset + n)
        if (clear) writer.writeClear(piece)
        else writer.write(piece)
        this.offset += n
        n = 0
      }
    }
  }

  /** Takes the callback once everything is written (null before, or if already taken). */
  takeDone(): Callback | null {
    if (this.pending > 0) return null
    return this.take()
  }

  /** Drops the write (the stream is being destroyed) and returns its callback, if any. */
  take(): Callback | null {
    const cb = this.cb
    this.cb = null
    this.chunks = NO_CHUNKS
    this.pending = 0
    return cb
  }
}
