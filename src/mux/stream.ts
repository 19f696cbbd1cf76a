/**
 * One multiplexed stream: a byte Duplex over the session's link.
 *
 * Writing: each chunk becomes DATA frames of at most the peer's MAX_FRAME, limited by the send
 * credit the peer granted, written as subarrays of the caller's chunk (never copied). The write
 * callback runs once every byte is handed to the link, so the Writable's high-water mark is the
 * stream's backpressure: write() returns false above it. Out of credit, the stream waits for a
 * WINDOW frame; with the link congested, it waits for its round-robin turn (writer.ts).
 * `end()` sends FIN after the last DATA; the other direction keeps working (half-close).
 *
 * Reading: DATA pieces are pushed as they arrive; the peer can never send more than the window,
 * so the readable buffer never holds more than the window. As the reader consumes (seen in
 * `_read()` and right after each push), credit goes back in batched WINDOW frames (flow.ts).
 * A reader that stops reading stops granting, and the sender stops after one window.
 */
import { Duplex } from 'node:stream'
import { TunnelError } from '../errors.ts'
import { ReceiveWindow } from './flow.ts'
import { Outbox } from './outbox.ts'
import { isStreamDone, nextStreamState, type StreamEvent } from './state.ts'
import type { MuxClock, MuxStreamLike, MuxStreamState } from './types.ts'
import { MAX_CREDIT, ResetCode, encodeDataHeader, encodeFin, encodeReset, encodeWindow } from './wire.ts'
import type { LinkWriter, WriteTurn } from './writer.ts'

/**
 * Readable high-water mark. It only decides when `_read()` (our hint that the reader consumed)
 * runs; it must stay under 3/4 of the smallest window (64 KiB) so a stalled sender is always
 * re-credited once the reader drains the buffer below it.
 */
export const STREAM_READ_HWM = 16 * 1024
/**
 * A DATA piece is a view into the link's read buffer. When it is going to sit in the readable
 * buffer and its backing store is more than this many times its size, it is copied, so a stream
 * that is not read pins at most ~this × its window, not a whole read buffer per small piece.
 */
export const MAX_RETAIN_RATIO = 2

/** What a stream needs from its session. */
export interface StreamHost {
  readonly writer: LinkWriter
  readonly clock: MuxClock
  readonly rtt: number | undefined
  /** The peer's MAX_FRAME: the largest DATA body to send. */
  readonly peerMaxFrame: number
  /** Sends a control frame now (fails the link if the peer has stopped reading). */
  sendControl(frame: Buffer): void
  /** The stream entered `closed` or `reset`: take it out of the table. */
  streamEnded(stream: MuxStream): void
}

export interface StreamInit {
  sendCredit: number
  initialWindow: number
  maxWindow: number
  highWaterMark: number
}

type Callback = (err?: Error | null) => void

export class MuxStream extends Duplex implements MuxStreamLike, WriteTurn {
  readonly id: number
  readonly header: Uint8Array
  state: MuxStreamState = 'open'
  /** The RESET code this stream ended with (sent or received), when it was reset. */
  resetCode: number | undefined
  /** The reason the peer gave with its RESET (empty if none, or not reset by the peer). */
  resetReason = ''
  /**
   * Set by whoever owns a stream that carries another channel's ciphertext (a relayed end-to-end
   * link, a relay splice): its DATA frames then go in clear records of this link, authenticated
   * but not encrypted a second time. Its writers must never reuse a buffer they wrote.
   */
  passthrough = false
  /** Stream payload bytes received / sent. */
  bytesIn = 0
  bytesOut = 0
  nextWriter: WriteTurn | null = null
  queued = false

  private readonly host: StreamHost
  private readonly recv: ReceiveWindow
  private sendCredit: number
  private pushed = 0 // bytes pushed into the readable side
  private consumedSeen = 0 // bytes known consumed (pushed - readableLength at the last look)
  private readonly out = new Outbox() // the write in progress
  private creditCheckPending = false

  constructor(host: StreamHost, id: number, header: Uint8Array, init: StreamInit) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: STREAM_READ_HWM,
      writableHighWaterMark: init.highWaterMark,
    })
    this.host = host
    this.id = id
    this.header = header
    this.sendCredit = init.sendCredit
    this.recv = new ReceiveWindow(init.initialWindow, init.maxWindow, host.clock.now())
  }

  /** The current receive window (grows with auto-tuning). */
  get window(): number {
    return this.recv.window
  }

  /**
   * Bytes this stream holds as the session accounts them: received and not yet seen consumed
   * (≥ readableLength, ≤ the window: the peer cannot send more than it was granted).
   */
  get bufferedIn(): number {
    return this.pushed - this.consumedSeen
  }

  reset(code: number = ResetCode.CANCEL, reason = ''): void {
    if (isStreamDone(this.state)) return
    this.host.sendControl(encodeReset(this.id, code, reason))
    this.resetCode = code
    this.enter('reset')
    this.destroy()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: Callback): void {
    this.out.start([chunk], chunk.length, cb)
    this.flush(false)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: Callback): void {
    let total = 0
    const list: Uint8Array[] = new Array(chunks.length)
    for (let i = 0; i < chunks.length; i++) {
      const c = (chunks[i] as { chunk: Buffer }).chunk
      list[i] = c
      total += c.length
    }
    this.out.start(list, total, cb)
    this.flush(false)
  }

  override _final(cb: Callback): void {
    if (nextStreamState(this.state, 'fin-sent') !== undefined) {
      this.host.sendControl(encodeFin(this.id))
      this.enter('fin-sent')
    }
    cb()
  }

  override _read(): void {
    // Node calls _read before it takes the bytes out of the buffer, so look on the next tick.
    if (this.creditCheckPending) return
    this.creditCheckPending = true
    process.nextTick(checkCredit, this)
  }

  override _destroy(err: Error | null, cb: Callback): void {
    if (!isStreamDone(this.state)) {
      // Destroyed locally (or by a pipeline): tell the peer, so it stops sending.
      const code = err === null ? ResetCode.CANCEL : ResetCode.INTERNAL
      this.resetCode = code
      this.host.sendControl(encodeReset(this.id, code, err === null ? '' : 'stream destroyed after an error'))
      this.enter('reset')
    }
    const pending = this.out.take()
    pending?.(
      err ?? new TunnelError('TUN_ERR_STREAM_RESET', 'the stream was destroyed before the write completed'),
    )
    cb(err)
  }

  /** The writer's round-robin turn: one frame. */
  serveTurn(): void {
    if (!this.destroyed) this.flush(true)
  }

  // ---- called by the session for frames on this stream ----

  /** A DATA piece arrived. False when it overruns the window (the session fails the link). */
  onData(data: Uint8Array): boolean {
    const n = data.length
    if (!this.recv.receive(n)) return false
    if (this.state === 'remote-closed' || this.state === 'closed') {
      this.protocolReset('DATA after FIN')
      return true
    }
    if (this.destroyed) return true
    this.bytesIn += n
    this.pushed += n
    // Going to be buffered, and pinning a much larger read buffer? Copy it (see MAX_RETAIN_RATIO).
    if (
      (this.readableLength > 0 || this.readableFlowing !== true) &&
      n * MAX_RETAIN_RATIO < data.buffer.byteLength
    ) {
      data = Buffer.from(data)
    }
    this.push(data)
    this.returnCredit()
    return true
  }

  onFin(): void {
    if (nextStreamState(this.state, 'fin-received') === undefined) {
      this.protocolReset('a second FIN')
      return
    }
    this.enter('fin-received')
    this.push(null)
  }

  onReset(code: number, reason: string): void {
    if (isStreamDone(this.state)) return
    this.resetCode = code
    this.resetReason = reason
    this.enter('reset')
    const text = reason === '' ? '' : `: ${reason}`
    this.destroy(
      code === ResetCode.REFUSED
        ? new TunnelError('TUN_ERR_STREAM_REFUSED', `the peer refused stream ${this.id}${text}`, {
            wireCode: code,
          })
        : new TunnelError(
            'TUN_ERR_STREAM_RESET',
            `stream ${this.id} reset by the peer (code ${code})${text}`,
            {
              wireCode: code,
            },
          ),
    )
  }

  /** The peer granted `increment` more bytes (WINDOW, or a SETTINGS raise). False past MAX_CREDIT. */
  onWindow(increment: number): boolean {
    this.sendCredit += increment
    if (this.sendCredit > MAX_CREDIT) return false
    if (this.out.pending > 0 && !this.queued) this.flush(false)
    return true
  }

  /** The link closed under the stream: end it with `err`, sending nothing. */
  onLinkClosed(err: Error): void {
    if (isStreamDone(this.state)) return
    this.resetCode = ResetCode.LINK_CLOSED
    this.enter('reset')
    this.destroy(err)
  }

  // ---- internals ----

  /** Writes pending bytes as DATA frames while credit and the link allow; `turn`: one frame only. */
  private flush(turn: boolean): void {
    const writer = this.host.writer
    const out = this.out
    while (out.pending > 0) {
      if (!turn && writer.congested) {
        writer.enqueue(this)
        return
      }
      const n = Math.min(out.pending, this.sendCredit, this.host.peerMaxFrame)
      if (n <= 0) return // out of credit: onWindow() resumes
      if (this.passthrough) {
        writer.writeClear(encodeDataHeader(this.id, n))
        out.writeTo(writer, n, true)
      } else {
        writer.write(encodeDataHeader(this.id, n))
        out.writeTo(writer, n)
      }
      this.sendCredit -= n
      this.bytesOut += n
      if (turn) {
        if (out.pending > 0 && this.sendCredit > 0) writer.enqueue(this)
        break
      }
    }
    out.takeDone()?.()
  }

  /** Returns consumed bytes to the peer in a WINDOW frame once enough have accumulated. (Internal.) */
  returnCredit(): void {
    this.creditCheckPending = false
    if (this.state !== 'open' && this.state !== 'local-closed') return // the peer sends no more
    const consumed = this.pushed - this.readableLength
    const delta = consumed - this.consumedSeen
    if (delta <= 0) return
    this.consumedSeen = consumed
    if (!this.recv.consume(delta)) return
    const increment = this.recv.grant(this.host.clock.now(), this.host.rtt)
    this.host.sendControl(encodeWindow(this.id, increment))
  }

  private protocolReset(why: string): void {
    this.host.sendControl(encodeReset(this.id, ResetCode.PROTOCOL, why))
    this.resetCode = ResetCode.PROTOCOL
    this.enter('reset')
    this.destroy(
      new TunnelError('TUN_ERR_PROTOCOL', `stream ${this.id}: the peer sent ${why}`, {
        wireCode: ResetCode.PROTOCOL,
      }),
    )
  }

  private enter(event: StreamEvent): void {
    const next = nextStreamState(this.state, event)
    if (next === undefined) return
    this.state = next
    if (isStreamDone(next)) this.host.streamEnded(this)
  }
}

function checkCredit(s: MuxStream): void {
  s.returnCredit()
}
