/**
 * Reads the handshake off a Conn: exact byte counts and length-prefixed frames, with a bounded
 * buffer. detach() hands back the bytes that arrived after the handshake (the first records) so the
 * channel can take over the Conn without losing any.
 */
import type { Duplex } from 'node:stream'
import { TunnelError } from '../errors.ts'
import { FRAME_HEADER } from './wire.ts'

/** Pause the Conn when this much unread handshake input is buffered. */
const MAX_BUFFERED = 128 * 1024
const EMPTY = Buffer.alloc(0)

interface Waiter {
  need: number
  resolve: (bytes: Buffer) => void
  reject: (err: Error) => void
}

export class HandshakeReader {
  private buf: Buffer = EMPTY
  private waiter: Waiter | undefined
  private failure: Error | undefined

  constructor(private readonly conn: Duplex) {
    conn.on('data', this.onData)
    conn.on('end', this.onEnd)
    conn.on('error', this.onError)
    conn.on('close', this.onClose)
  }

  /** Resolves with exactly `n` bytes. */
  read(n: number): Promise<Buffer> {
    // Bytes that arrived before an EOF or error are still delivered: a reply, its first records
    // and the end can come in one burst.
    if (this.buf.length >= n) return Promise.resolve(this.take(n))
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.waiter = { need: n, resolve, reject }
      if (this.conn.isPaused()) this.conn.resume()
    })
  }

  /** Resolves with the next frame's type and body. */
  async frame(): Promise<{ type: number; body: Buffer }> {
    const header = await this.read(FRAME_HEADER)
    const length = header.readUInt16BE(0)
    if (length === 0) throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', 'empty handshake frame')
    const body = length > 1 ? await this.read(length - 1) : EMPTY
    return { type: header[2] ?? 0, body }
  }

  /** Stops reading and returns what was read beyond the handshake. */
  detach(): Buffer {
    this.conn.off('data', this.onData)
    this.conn.off('end', this.onEnd)
    this.conn.off('error', this.onError)
    this.conn.off('close', this.onClose)
    const rest = this.buf
    this.buf = EMPTY
    return rest
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const waiter = this.waiter
    if (waiter && this.buf.length >= waiter.need) {
      this.waiter = undefined
      waiter.resolve(this.take(waiter.need))
    }
    if (this.buf.length > MAX_BUFFERED) this.conn.pause()
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.reject(err)
  }

  private readonly onEnd = (): void =>
    this.fail(new TunnelError('TUN_ERR_TRUNCATED', 'the connection ended during the handshake'))

  private readonly onError = (err: Error): void => this.fail(err)

  private readonly onClose = (): void =>
    this.fail(new TunnelError('TUN_ERR_TRUNCATED', 'the connection closed during the handshake'))
}
