/**
 * A Conn over one open WebSocket (`ws` package): a byte Duplex whose chunks travel as binary
 * messages.
 *
 * Half-close convention (WebSocket has none, and the Conn contract needs it):
 *
 *   binary message, any length        data
 *   text message, empty               "end of my data": the receiver pushes EOF
 *   text message, not empty           protocol error (close 1003)
 *   binary message after the marker   protocol error (close 1002)
 *
 *   open ──end()──> sent marker ─┐
 *   open ──marker─> got marker ──┴─ both ─> close(1000)      any other close: 'error' on the Conn
 *
 * Each side closes the WebSocket with 1000 once it has both sent and received the marker, so a
 * clean close means neither side lost data. destroy() before that sends 1001 (1011 with an error);
 * the other side sees TUN_ERR_CONN_RESET. WS_CLOSE_TIMEOUT_MS bounds the wait for the close frame.
 *
 * Backpressure, both ways. Writing: a write's callback runs at once while the socket holds less than
 * the high-water mark (ws.bufferedAmount), else when ws has flushed the message, so write() returns
 * false once the socket backs up. Reading: when push() returns false, ws.pause() stops reading the
 * TCP socket; _read() resumes it. Inbound memory is one socket read (64 KiB) plus one message
 * (WS_MAX_MESSAGE) over the readable high-water mark.
 */
import { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { TunnelError } from '../errors.ts'
import { isSystemError, transportError } from './errors.ts'
import type { Conn, ConnInfo } from './types.ts'

/**
 * Largest message burrow sends or accepts (ws `maxPayload`): writes are split to fit, and a bigger
 * inbound message closes the connection (1009). ws buffers a whole message before delivering it, so
 * this bounds inbound memory per Conn; 256 KiB holds four 64 KiB Noise records.
 */
export const WS_MAX_MESSAGE = 256 * 1024

/** Readable and writable high-water mark of a ws Conn (bytes). */
export const WS_HIGH_WATER_MARK = 64 * 1024

/** Writes smaller than this, queued together, are sent as one message (fewer frames, one mask pass). */
export const WS_COALESCE_BELOW = 16 * 1024

/** How long a closing side waits for the peer's close frame before dropping the TCP connection. */
export const WS_CLOSE_TIMEOUT_MS = 5_000

/** Close codes (RFC 6455 section 7.4.1) this transport sends. */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocol: 1002,
  unsupported: 1003,
  internal: 1011,
} as const

/** One direction's state: data may still flow, or the end-of-data marker has gone by. */
type Half = 'open' | 'ended'

const OPEN = 1 // WebSocket.OPEN
const CLOSED = 3 // WebSocket.CLOSED

export class WsConn extends Duplex implements Conn {
  readonly info: ConnInfo
  readonly #ws: WebSocket
  #sent: Half = 'open'
  #received: Half = 'open'
  /** First error ws reported; it surfaces when the WebSocket closes (ws always closes after one). */
  #error: Error | undefined
  /** Set when the WebSocket closed before both ends were done: what every later write fails with. */
  #closeError: TunnelError | undefined

  constructor(ws: WebSocket, info: ConnInfo) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: WS_HIGH_WATER_MARK,
      writableHighWaterMark: WS_HIGH_WATER_MARK,
    })
    this.info = info
    this.#ws = ws
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary))
    ws.on('error', (err) => (this.#error ??= err))
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()))
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.destroyed) return
    if (this.#received === 'ended')
      return this.#violation(WS_CLOSE.protocol, 'a message after the end-of-data marker')
    if (!isBinary) {
      if (data.length !== 0) return this.#violation(WS_CLOSE.unsupported, 'a non-empty text message')
      this.#received = 'ended'
      this.push(null)
      return this.#closeIfDone()
    }
    if (data.length !== 0 && !this.push(data)) this.#ws.pause()
  }

  #violation(code: number, what: string): void {
    const err = new TunnelError('TUN_ERR_TRANSPORT', `${this.#where()}: the peer sent ${what}`, {
      wireCode: code,
    })
    this.#ws.close(code)
    this.destroy(err)
  }

  #onClose(code: number, reason: string): void {
    if (this.destroyed || (this.#sent === 'ended' && this.#received === 'ended')) return
    this.#closeError = this.#reasonFor(code, reason)
    this.destroy(this.#closeError)
  }

  /** Why the WebSocket closed before both ends were done, as the error the Conn reports. */
  #reasonFor(code: number, reason: string): TunnelError {
    const where = this.#where()
    const why = reason === '' ? `code ${code}` : `code ${code}: ${reason}`
    const wireCode = code === 1005 || code === 1006 ? undefined : code // 1005/1006 never go on the wire
    if (this.#error !== undefined) {
      const e = transportError(this.#error, { op: 'io', kind: this.info.transport, where })
      return new TunnelError(e.code, e.message, {
        cause: e.cause,
        wireCode: sentCode(this.#error) ?? wireCode,
      })
    }
    if (code === WS_CLOSE.normal) {
      return new TunnelError(
        'TUN_ERR_CONN_CLOSED',
        `${where} closed by the peer before the end of data (${why})`,
        { wireCode },
      )
    }
    return new TunnelError('TUN_ERR_CONN_RESET', `${where} reset by the peer (${why})`, { wireCode })
  }

  /**
   * Finishes a write or end() that found the WebSocket no longer open: with the reason it closed,
   * once known (a peer's destroy() must read as TUN_ERR_CONN_RESET here too, not "closed").
   */
  #afterClose(cb: (err?: Error | null) => void): void {
    if (this.#ws.readyState === CLOSED) cb(this.#closeError ?? this.#closedError())
    else this.#ws.once('close', () => cb(this.#closeError ?? this.#closedError()))
  }

  #closeIfDone(): void {
    if (this.#sent === 'ended' && this.#received === 'ended' && this.#ws.readyState === OPEN) {
      this.#ws.close(WS_CLOSE.normal)
    }
  }

  #where(): string {
    return `${this.info.transport} connection ${this.info.local} -> ${this.info.remote}`
  }

  #closedError(): TunnelError {
    return new TunnelError('TUN_ERR_CONN_CLOSED', `${this.#where()} is closed`)
  }

  #mapError(err: Error | undefined): Error | undefined {
    if (err == null) return undefined
    if (isSystemError(err))
      return transportError(err, { op: 'io', kind: this.info.transport, where: this.#where() })
    return this.#ws.readyState === OPEN ? err : (this.#closeError ?? this.#closedError())
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send([chunk], cb)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.#send(
      chunks.map((c) => c.chunk),
      cb,
    )
  }

  /** Sends chunks as binary messages of at most WS_MAX_MESSAGE, small ones coalesced. */
  #send(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    const ws = this.#ws
    if (ws.readyState !== OPEN) return this.#afterClose(cb)
    const messages = frame(chunks)
    let waiting = false
    for (let i = 0; i < messages.length; i++) {
      const last = i === messages.length - 1
      ws.send(
        messages[i] as Buffer,
        { binary: true },
        last ? (err) => waiting && cb(this.#mapError(err)) : undefined,
      )
    }
    // Under the mark: accept more now. Over it: wait until ws has handed this write to the kernel.
    if (ws.bufferedAmount < this.writableHighWaterMark) cb()
    else waiting = true
  }

  override _final(cb: (err?: Error | null) => void): void {
    const ws = this.#ws
    if (ws.readyState !== OPEN) return this.#afterClose(cb)
    this.#sent = 'ended'
    ws.send('', { binary: false }, (err) => cb(this.#mapError(err)))
    this.#closeIfDone()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const ws = this.#ws
    if (ws.readyState === OPEN) {
      const done = this.#sent === 'ended' && this.#received === 'ended'
      ws.close(done ? WS_CLOSE.normal : err ? WS_CLOSE.internal : WS_CLOSE.goingAway)
    }
    ws.resume() // a paused socket would never read the peer's close frame
    cb(err)
  }
}

/** The close code ws sent because of `err` (a bad frame: 1002, 1007, 1009), kept by ws under kStatusCode. */
function sentCode(err: Error): number | undefined {
  const key = Object.getOwnPropertySymbols(err).find((k) => k.description === 'status-code')
  const code = key === undefined ? undefined : (err as unknown as Record<symbol, unknown>)[key]
  return typeof code === 'number' ? code : undefined
}

/** Groups chunks into messages: small ones concatenated up to the high-water mark, big ones split. */
function frame(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = []
  let batch: Buffer[] = []
  let size = 0
  const flush = () => {
    if (batch.length !== 0) out.push(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, size))
    batch = []
    size = 0
  }
  for (const chunk of chunks) {
    if (chunk.length < WS_COALESCE_BELOW) {
      if (size + chunk.length > WS_HIGH_WATER_MARK) flush()
      batch.push(chunk)
      size += chunk.length
      continue
    }
    flush()
    for (let at = 0; at < chunk.length; at += WS_MAX_MESSAGE)
      out.push(chunk.subarray(at, at + WS_MAX_MESSAGE))
  }
  flush()
  return out
}
