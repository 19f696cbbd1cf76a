/**
 * The session's hold on its conn: forwards the conn's events, and lets go of it when the session
 * closes. Letting go gracefully (`release(true)`) ends our side, so what is already written (the
 * GOAWAY, the last DATA and FIN) is flushed, and keeps reading (the session discards) so the
 * peer's own end arrives instead of a TCP reset; the conn is destroyed once both sides have ended,
 * or after `lingerMs` if the peer never ends (dead, or not a burrow peer).
 * ```
 * release(true): end() ──'finish' + peer 'end'──> destroy()
 *                  └──────── lingerMs ──────────> destroy()
 * release(false), conn error or close: destroy() now
 * ```
 */
import type { Duplex } from 'node:stream'
import { isTunnelError, type TunnelError } from '../errors.ts'
import type { SecureConn } from '../secure/types.ts'
import { linkClosedError } from './codes.ts'
import type { MuxClock } from './types.ts'

export interface ConnEvents {
  data(chunk: Buffer): void
  drain(): void
  /** The peer ended its side (EOF). */
  end(): void
  /** The conn failed or closed under the session. */
  gone(err: TunnelError): void
}

export class ConnBinding {
  /** The peer ended its side. */
  peerEnded = false
  private readonly conn: Duplex
  private readonly clock: MuxClock
  private readonly lingerMs: number
  private released = false
  private linger: unknown = undefined

  constructor(conn: Duplex, clock: MuxClock, lingerMs: number, on: ConnEvents) {
    this.conn = conn
    this.clock = clock
    this.lingerMs = lingerMs
    const fast = conn as Partial<Pick<SecureConn, 'attachSink'>>
    if (typeof fast.attachSink === 'function') fast.attachSink({ data: on.data, drain: on.drain })
    else {
      conn.on('data', on.data)
      conn.on('drain', on.drain)
    }
    conn.on('end', () => {
      this.peerEnded = true
      on.end()
      this.maybeDestroy()
    })
    conn.on('finish', () => this.maybeDestroy())
    // A coded error from below (TUN_ERR_DECRYPT, _TRUNCATED, ...) is kept as it is: it says what failed.
    conn.on('error', (err: Error) =>
      on.gone(isTunnelError(err) ? err : linkClosedError(`the link failed: ${err.message}`, err)),
    )
    conn.on('close', () => {
      if (this.linger !== undefined) this.clock.clearTimeout(this.linger)
      this.linger = undefined
      on.gone(linkClosedError('the link closed'))
    })
  }

  /** The session closed: end the conn gracefully (`flush`) or destroy it now. Idempotent. */
  release(flush: boolean): void {
    if (this.released) return
    this.released = true
    const conn = this.conn
    if (!flush || conn.destroyed) {
      conn.destroy()
      return
    }
    if (!conn.writableEnded) conn.end()
    if (!this.peerEnded || !conn.writableFinished) {
      this.linger = this.clock.setTimeout(() => conn.destroy(), this.lingerMs)
    }
    this.maybeDestroy()
  }

  private maybeDestroy(): void {
    if (this.released && this.peerEnded && this.conn.writableFinished) this.conn.destroy()
  }
}
