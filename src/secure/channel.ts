/**
 * SecureChannel: the plaintext Duplex over a transport Conn once the handshake is done.
 *
 * Writes made in the same tick are coalesced into one record (sealed on process.nextTick), and a
 * record is sealed at once whenever 64 KiB are pending, so bulk data travels in full records and a
 * small request travels in one small record. Pieces are encrypted in place (no join, no second
 * copy) and the record's buffers go to the Conn between cork() and uncork(), one writev.
 *
 * Backpressure: a write callback is held while the Conn reports writableNeedDrain, so write()
 * returns false to our writer in turn; on the read side, a full readable buffer pauses the Conn.
 * end() seals the end-of-data record and half-closes the Conn; an EOF without that record is a
 * truncation (TUN_ERR_TRUNCATED), never a silent end.
 */
import { Duplex } from 'node:stream'
import { TunnelError, isTunnelError } from '../errors.ts'
import type { Conn, ConnInfo } from '../transport/types.ts'
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer, type RekeyLimits } from './record.ts'
import type { PlaintextSink, SecureConn } from './types.ts'

/** Plaintext the readable side buffers before it pauses the Conn. */
export const READ_HIGH_WATER = 256 * 1024
/** Plaintext the writable side buffers before write() returns false. */
export const WRITE_HIGH_WATER = 64 * 1024
/** In bulk, a remainder smaller than this waits one event-loop turn to be sealed with what follows. */
const BULK_REMAINDER = 16 * 1024

export interface ChannelInit {
  sendKey: Uint8Array
  receiveKey: Uint8Array
  remoteId: string
  remotePayload: Uint8Array
  handshakeHash: Uint8Array
  pattern: 'XX' | 'IK'
  rekey: RekeyLimits | undefined
  /** Bytes that arrived with the end of the handshake: the first records. */
  leftover: Buffer
}

type Callback = (err?: Error | null) => void

export class SecureChannel extends Duplex implements SecureConn {
  readonly info: ConnInfo
  readonly remoteId: string
  readonly remotePayload: Uint8Array
  readonly handshakeHash: Uint8Array
  readonly pattern: 'XX' | 'IK'
  readonly #conn: Conn
  readonly #sealer: RecordSealer
  readonly #opener: RecordOpener
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  /** The pending pieces go out as a clear record (writeClear) rather than an encrypted one. */
  #pendingClear = false
  #flushScheduled = false
  /** A full record was sealed since the last flush: bulk data is flowing. */
  #bulk = false
  #held: Callback | undefined
  #started = false
  #sink: PlaintextSink | undefined
  #prepareScheduled = false

  constructor(conn: Conn, init: ChannelInit) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: READ_HIGH_WATER,
      writableHighWaterMark: WRITE_HIGH_WATER,
    })
    this.#conn = conn
    this.info = conn.info
    this.remoteId = init.remoteId
    this.remotePayload = init.remotePayload
    this.handshakeHash = init.handshakeHash
    this.pattern = init.pattern
    this.#sealer = new RecordSealer(init.sendKey, init.rekey)
    this.#opener = new RecordOpener(init.receiveKey, init.rekey)
    init.sendKey.fill(0)
    init.receiveKey.fill(0)
    // Start reading on the next turn of the event loop, after the caller has attached its
    // listeners: an error in the first records must not be emitted to nobody. The Conn is paused
    // until then so no byte is lost.
    conn.pause()
    conn.on('error', this.#onError)
    conn.on('close', this.#onClose)
    conn.on('drain', this.#onDrain)
    setImmediate(() => {
      if (this.destroyed) return
      this.#started = true
      conn.on('data', this.#onData)
      conn.on('end', this.#onEnd)
      if (init.leftover.length > 0) this.#onData(init.leftover)
      // The transport may have ended during the handshake's last step, before 'end' was listened to.
      if (conn.readableEnded) this.#onEnd()
      else if (!this.destroyed && !this.#opener.ended) conn.resume()
    })
  }

  get records(): { sent: number; received: number } {
    return { sent: this.#sealer.records, received: this.#opener.records }
  }

  attachSink(sink: PlaintextSink): void {
    this.#sink = sink
    this.resume() // nothing is pushed but the end: keep flowing so 'end' is emitted
  }

  writeDirect(chunk: Uint8Array): boolean {
    if (this.destroyed || this.writableEnded) return false
    this.#enqueue(chunk, false)
    this.#scheduleFlush()
    return !this.#conn.writableNeedDrain
  }

  writeClear(chunk: Uint8Array): boolean {
    if (this.destroyed || this.writableEnded) return false
    this.#enqueue(chunk, true)
    this.#scheduleFlush()
    return !this.#conn.writableNeedDrain
  }

  get backlog(): number {
    return this.#pendingBytes + this.#conn.writableLength + this.writableLength
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#enqueue(chunk, false)
    this.#afterEnqueue(callback)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    for (const { chunk } of chunks) this.#enqueue(chunk, false)
    this.#afterEnqueue(callback)
  }

  override _final(callback: Callback): void {
    try {
      this.#flush()
      this.#writeRecord(this.#sealer.sealEnd())
    } catch (err) {
      callback(err as Error)
      return
    }
    this.#conn.end()
    callback()
  }

  override _read(): void {
    if (this.#started && this.#conn.isPaused() && !this.#opener.ended) this.#conn.resume()
  }

  override _destroy(err: Error | null, callback: Callback): void {
    this.#pending = []
    this.#pendingBytes = 0
    this.#sealer.wipe()
    this.#opener.wipe()
    this.#conn.off('data', this.#onData)
    this.#conn.destroy()
    const held = this.#held
    this.#held = undefined
    held?.(err ?? new TunnelError('TUN_ERR_CONN_CLOSED', 'the secure channel is closed'))
    callback(err)
  }

  #enqueue(chunk: Uint8Array, clear: boolean): void {
    if (chunk.length === 0) return
    // A record is all encrypted or all clear: a change of kind seals what is pending first.
    if (clear !== this.#pendingClear) {
      this.#flush()
      this.#pendingClear = clear
    }
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    while (this.#pendingBytes >= MAX_RECORD_PLAINTEXT) this.#sealFull()
  }

  #afterEnqueue(callback: Callback): void {
    this.#scheduleFlush()
    if (this.#conn.writableNeedDrain) this.#held = callback
    else callback()
  }

  #scheduleFlush(): void {
    if (this.#pendingBytes > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true
      process.nextTick(this.#flushTick)
    }
  }

  /** Seals exactly one full record from the head of the pending pieces. */
  #sealFull(): void {
    const pieces: Uint8Array[] = []
    let need = MAX_RECORD_PLAINTEXT
    while (need > 0) {
      const head = this.#pending[0] as Uint8Array
      if (head.length <= need) {
        pieces.push(head)
        this.#pending.shift()
        need -= head.length
      } else {
        pieces.push(head.subarray(0, need))
        this.#pending[0] = head.subarray(need)
        need = 0
      }
    }
    this.#pendingBytes -= MAX_RECORD_PLAINTEXT
    this.#bulk = true
    this.#writeRecord(this.#seal(pieces, MAX_RECORD_PLAINTEXT))
  }

  readonly #flushTick = (): void => {
    if (this.destroyed) {
      this.#flushScheduled = false
      return
    }
    // In bulk (a full record went out since the last flush), a small remainder waits one turn of
    // the event loop for the next chunk instead of leaving as a tiny record of its own: a 64 KiB
    // frame plus its 8-byte header would otherwise cost two records every time.
    if (this.#bulk && this.#pendingBytes < BULK_REMAINDER) {
      this.#bulk = false
      setImmediate(this.#flushTick)
      return
    }
    this.#flushScheduled = false
    this.#bulk = false
    try {
      this.#flush()
    } catch (err) {
      this.destroy(err as Error)
    }
  }

  #flush(): void {
    if (this.#pendingBytes === 0) return
    const pieces = this.#pending
    const length = this.#pendingBytes
    this.#pending = []
    this.#pendingBytes = 0
    this.#writeRecord(this.#seal(pieces, length))
  }

  #seal(pieces: Uint8Array[], length: number): Buffer[] {
    return this.#pendingClear ? this.#sealer.sealClear(pieces, length) : this.#sealer.seal(pieces, length)
  }

  /**
   * Makes the next records' cipher contexts once the event loop is idle, so a reply or the next
   * request does not pay for them on its way (RecordSealer.prepare).
   */
  #schedulePrepare(): void {
    if (this.#prepareScheduled) return
    this.#prepareScheduled = true
    setImmediate(this.#prepare)
  }

  readonly #prepare = (): void => {
    this.#prepareScheduled = false
    if (this.destroyed) return
    try {
      if (!this.writableEnded) this.#sealer.prepare()
      this.#opener.prepare()
    } catch (err) {
      this.destroy(err as Error)
    }
  }

  #writeRecord(buffers: Buffer[]): void {
    this.#schedulePrepare()
    const conn = this.#conn
    if (buffers.length === 1) {
      conn.write(buffers[0] as Buffer)
      return
    }
    conn.cork()
    for (const b of buffers) conn.write(b)
    conn.uncork()
  }

  readonly #onData = (chunk: Buffer): void => {
    let plaintext: Buffer[]
    try {
      plaintext = this.#opener.push(chunk)
    } catch (err) {
      this.destroy(err as Error)
      return
    }
    this.#schedulePrepare()
    let full = false
    const sink = this.#sink
    if (sink !== undefined) for (const piece of plaintext) sink.data(piece)
    else for (const piece of plaintext) full = !this.push(piece) || full
    if (this.#opener.ended) {
      this.push(null)
      this.#conn.resume()
    } else if (full) this.#conn.pause()
  }

  readonly #onEnd = (): void => {
    try {
      this.#opener.end()
    } catch (err) {
      this.destroy(err as Error)
    }
  }

  readonly #onDrain = (): void => {
    const held = this.#held
    this.#held = undefined
    held?.()
    this.#sink?.drain()
  }

  readonly #onError = (err: Error): void => {
    this.destroy(
      isTunnelError(err)
        ? err
        : new TunnelError('TUN_ERR_CONN_RESET', `the connection failed: ${err.message}`, { cause: err }),
    )
  }

  readonly #onClose = (): void => {
    if (this.destroyed) return
    if (!this.#opener.ended) {
      this.destroy(
        new TunnelError('TUN_ERR_TRUNCATED', 'the connection closed without an end-of-data record'),
      )
    } else if (!this.writableFinished) {
      this.destroy(
        new TunnelError('TUN_ERR_CONN_CLOSED', 'the connection closed before this side finished writing'),
      )
    } else this.destroy()
  }
}
