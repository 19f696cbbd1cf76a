/**
 * Liveness and round-trip time for one session: PING/PONG bookkeeping, the smoothed RTT, and the
 * dead-peer timer.
 *
 * One timer per session, re-armed only when it fires (never per received chunk: receiving just
 * stores the time). When it fires after `interval` ms of silence it sends a PING; after `timeout`
 * ms of silence the peer is declared dead. Any bytes from the peer count as a sign of life, so a
 * busy link never pings.
 * ```
 * last byte received ──interval──> PING ──interval──> PING ── … ──timeout──> peerTimedOut()
 *        ^ any byte from the peer (a PONG included) restarts the count
 * ```
 */
import { TunnelError } from '../errors.ts'
import type { MuxClock } from './types.ts'
import { PING_SIZE } from './wire.ts'

/** Ping after this much silence from the peer (ms). */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000
/** Declare the peer dead after this much silence (ms): three missed keepalive pings. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 45_000
/** PINGs awaiting a PONG at once; a ping() beyond this shares the latest one's answer. */
export const MAX_PINGS_IN_FLIGHT = 8
/** Smoothing gain for the RTT estimate (RFC 6298's alpha). */
const RTT_GAIN = 1 / 8

/** The real clock: monotonic time, unref'd timers (a session never keeps the process alive by itself). */
export const systemClock: MuxClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

interface PendingPing {
  sentAt: number
  resolve: Array<(rtt: number) => void>
  reject: Array<(err: Error) => void>
}

export interface KeepaliveHost {
  /** Writes a PING frame with this 8-byte payload. */
  sendPing(data: Buffer): void
  /** Nothing was received for `timeout` ms. */
  peerTimedOut(): void
}

export class Keepalive {
  /** Smoothed RTT in ms; undefined before the first PONG. */
  rtt: number | undefined
  /** clock.now() when the last bytes arrived from the peer. */
  lastReceived: number
  private readonly clock: MuxClock
  private readonly interval: number
  private readonly timeout: number
  private readonly host: KeepaliveHost
  private readonly pending = new Map<number, PendingPing>()
  private nextId = 1
  private timer: unknown = undefined
  private stopped = false
  private readonly onTimer = (): void => this.check()

  /** `interval` 0 disables the timer (ping() still works). */
  constructor(clock: MuxClock, interval: number, timeout: number, host: KeepaliveHost) {
    this.clock = clock
    this.interval = interval
    this.timeout = timeout
    this.host = host
    this.lastReceived = clock.now()
    if (interval > 0) this.timer = clock.setTimeout(this.onTimer, interval)
  }

  /** Bytes arrived from the peer. Called per read chunk, so it only stores the time. */
  onReceive(): void {
    this.lastReceived = this.clock.now()
  }

  /** Sends a PING and resolves with its round-trip time (ms). */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new TunnelError('TUN_ERR_LINK_CLOSED', 'the link is closed'))
        return
      }
      let entry = this.pending.size < MAX_PINGS_IN_FLIGHT ? undefined : [...this.pending.values()].at(-1)
      if (entry === undefined) entry = this.sendPing()
      entry.resolve.push(resolve)
      entry.reject.push(reject)
    })
  }

  /** A PONG arrived: resolve its ping and update the RTT. Unknown payloads are ignored (late or foreign). */
  onPong(data: Uint8Array): void {
    const id = Buffer.from(data.buffer, data.byteOffset, data.length).readUInt32BE(4)
    const entry = this.pending.get(id)
    if (entry === undefined) return
    this.pending.delete(id)
    const sample = Math.max(0, this.clock.now() - entry.sentAt)
    this.rtt = this.rtt === undefined ? sample : this.rtt + (sample - this.rtt) * RTT_GAIN
    for (const resolve of entry.resolve) resolve(sample)
  }

  /** Stops the timer and rejects every pending ping with `err`. Idempotent. */
  stop(err: Error): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const entry of this.pending.values()) for (const reject of entry.reject) reject(err)
    this.pending.clear()
  }

  private sendPing(): PendingPing {
    const id = this.nextId
    this.nextId = (this.nextId + 1) >>> 0 || 1
    const data = Buffer.alloc(PING_SIZE)
    data.writeUInt32BE(id, 4)
    const entry: PendingPing = { sentAt: this.clock.now(), resolve: [], reject: [] }
    this.pending.set(id, entry)
    this.host.sendPing(data)
    return entry
  }

  private check(): void {
    this.timer = undefined
    if (this.stopped) return
    const idle = this.clock.now() - this.lastReceived
    if (idle >= this.timeout) {
      this.host.peerTimedOut()
      return
    }
    let next = this.interval - idle
    if (idle >= this.interval) {
      if (this.pending.size < MAX_PINGS_IN_FLIGHT) this.sendPing()
      next = Math.min(this.interval, this.timeout - idle)
    }
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(1, next))
  }
}
