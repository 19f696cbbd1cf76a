/**
 * The session's output side: the one place that calls `conn.write()`.
 *
 * - Frames written in the same tick are corked together and flushed on the next tick, so a DATA
 *   header and its body (separate buffers, never copied) leave in one writev, and the secure channel
 *   below sees one burst it can seal as one record.
 * - `congested` is the link's backpressure: set when conn.write() returns false, cleared on
 *   'drain'. While it is set, streams do not write DATA: they wait in `queue` and are served
 *   round-robin, one frame per turn, when the conn drains. The queue holds each stream at most
 *   once, so it is bounded by the number of streams.
 * - Control frames (WINDOW, FIN, RESET, PONG, ...) are written even while congested (they are tiny
 *   and must not wait behind data), up to `controlLimit` bytes of conn backlog: past that the peer
 *   is not reading at all, and the session fails the link instead of queueing without bound.
 *
 * ```
 *  stream._write ──not congested──> conn.write(header) conn.write(body…)   (corked this tick)
 *        │                                   │ returned false
 *        └──congested──> queue: s1 -> s2 -> s3 <── 'drain': serve one frame each, in turn,
 *                                                   until congested again or the queue is empty
 * ```
 */
import type { Duplex } from 'node:stream'
import type { SecureConn } from '../secure/types.ts'

/** A stream as the writer's round-robin queue sees it (an intrusive list: no allocation per turn). */
export interface WriteTurn {
  /** Writes at most one DATA frame; re-enqueues itself if it has more to send. */
  serveTurn(): void
  nextWriter: WriteTurn | null
  queued: boolean
}

export class LinkWriter {
  /** conn.write() returned false and 'drain' has not come yet. */
  congested = false
  /** No more writes: the session closed (or the conn ended). */
  closed = false
  /** Frame bytes handed to the conn. */
  bytesSent = 0
  /** Conn backlog (writableLength) beyond which a control frame is refused; set by the session. */
  controlLimit = Infinity
  readonly conn: Duplex
  /** False when the conn seals what is written in one tick together by itself (the secure channel). */
  private readonly corks: boolean
  private corked = false
  private head: WriteTurn | null = null
  private tail: WriteTurn | null = null

  /** The secure channel's direct write (no Writable machinery, one record per tick), when the conn has it. */
  private readonly direct: ((chunk: Uint8Array) => boolean) | undefined
  /** Its clear write (authenticated, not encrypted) for bytes that are already ciphertext. */
  private readonly clear: ((chunk: Uint8Array) => boolean) | undefined

  constructor(conn: Duplex) {
    this.conn = conn
    const fast = conn as Partial<Pick<SecureConn, 'writeDirect'>>
    this.direct = typeof fast.writeDirect === 'function' ? fast.writeDirect.bind(conn) : undefined
    const clear = (conn as Partial<Pick<SecureConn, 'writeClear'>>).writeClear
    this.clear = typeof clear === 'function' ? clear.bind(conn) : undefined
    this.corks = this.direct === undefined
  }

  /** Bytes written and not yet sent by the transport. */
  get backlog(): number {
    const b = (this.conn as Partial<Pick<SecureConn, 'backlog'>>).backlog
    return b ?? this.conn.writableLength
  }

  /** Writes one buffer (a frame header, a body piece, or a whole control frame). */
  write(buf: Uint8Array): void {
    if (this.closed) return
    if (this.corks && !this.corked) {
      this.corked = true
      this.conn.cork()
      process.nextTick(uncork, this)
    }
    this.bytesSent += buf.length
    if (this.direct !== undefined) {
      if (!this.direct(buf)) this.congested = true
    } else if (!this.conn.write(buf)) this.congested = true
  }

  /**
   * Writes bytes of a passthrough stream's DATA frame (header or body): in a clear record when the
   * conn is a secure channel, since the bytes are already end-to-end ciphertext; else as write().
   */
  writeClear(buf: Uint8Array): void {
    if (this.closed) return
    if (this.clear === undefined) return this.write(buf)
    this.bytesSent += buf.length
    if (!this.clear(buf)) this.congested = true
  }

  /** Writes a control frame unless the conn backlog is over controlLimit (then false: the peer is not reading). */
  writeControl(frame: Uint8Array): boolean {
    if (this.closed) return true
    if (this.backlog > this.controlLimit) return false
    this.write(frame)
    return true
  }

  /** Queues `s` for a turn at the next 'drain' (no-op if already queued). */
  enqueue(s: WriteTurn): void {
    if (s.queued) return
    s.queued = true
    s.nextWriter = null
    if (this.tail === null) this.head = s
    else this.tail.nextWriter = s
    this.tail = s
  }

  /** The conn drained: serve the queued streams one frame each, round-robin, until congested again. */
  onDrain(): void {
    this.congested = false
    while (!this.congested && this.head !== null && !this.closed) {
      const s = this.head
      this.head = s.nextWriter
      if (this.head === null) this.tail = null
      s.nextWriter = null
      s.queued = false
      s.serveTurn()
    }
  }

  /** Flushes the frames corked this tick (runs on the next tick). */
  uncork(): void {
    this.corked = false
    if (!this.conn.destroyed && !this.conn.writableEnded) this.conn.uncork()
  }

  /** Stops writing; flushes what is corked (end() follows in the session). */
  close(): void {
    this.closed = true
    this.head = this.tail = null
  }
}

function uncork(w: LinkWriter): void {
  w.uncork()
}
