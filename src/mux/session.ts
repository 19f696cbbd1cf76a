/**
 * A multiplexed link: many MuxStreams and datagram channels over one ordered, reliable byte Duplex
 * (the secure channel in production). This file holds the session's state and public API; the
 * work is split by concern:
 *
 * | file          | does                                                                   |
 * |---------------|------------------------------------------------------------------------|
 * | wire.ts       | frame layouts, codes, limits, encoders                                 |
 * | decoder.ts    | bytes -> frames, pure                                                  |
 * | inbound.ts    | link-level rules for each received frame                               |
 * | writer.ts     | all writes: corking, link backpressure, round-robin between streams     |
 * | conn.ts       | the conn's events, and ending it when the session closes               |
 * | table.ts      | the stream table and the stream-id rules                               |
 * | stream.ts     | one stream: credit flow control both ways, half-close, reset           |
 * | keepalive.ts  | PING/PONG, RTT, dead-peer timer                                        |
 *
 * The session never pauses the conn: every stream holds at most its window, datagrams go to the
 * listener at once (or are dropped), control frames are answered in place. So reading the link
 * never stalls one stream behind another, and memory stays bounded by the named limits.
 *
 * States: types.ts (MuxSessionState, with the diagram) and state.ts (the transitions).
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { TunnelError, isTunnelError } from '../errors.ts'
import { errorForGoaway, goawayCodeFor, linkClosedError, protocolError } from './codes.ts'
import { ConnBinding } from './conn.ts'
import { Inbound } from './inbound.ts'
import { Keepalive, type KeepaliveHost } from './keepalive.ts'
import { MAX_CONTROL_BACKLOG, type ResolvedOptions, resolveOptions } from './options.ts'
import { nextSessionState, type SessionEvent } from './state.ts'
import { MuxStream, type StreamHost } from './stream.ts'
import { StreamTable } from './table.ts'
import type {
  DatagramDropReason,
  MuxClock,
  MuxOptions,
  MuxSessionLike,
  MuxSessionState,
  MuxStats,
} from './types.ts'
import * as wire from './wire.ts'
import { LinkWriter } from './writer.ts'

export interface MuxSessionEventMap {
  stream: [stream: MuxStream]
  settings: [peer: wire.Settings]
  datagram: [channel: number, payload: Uint8Array]
  goaway: [code: number, reason: string]
  close: [err: Error | undefined]
}

const EMPTY = new Uint8Array(0)

export class MuxSession
  extends EventEmitter<MuxSessionEventMap>
  implements MuxSessionLike, StreamHost, KeepaliveHost
{
  state: MuxSessionState = 'open'
  readonly writer: LinkWriter
  readonly clock: MuxClock
  /** The peer's MAX_FRAME (the protocol default until its SETTINGS arrives). */
  peerMaxFrame: number = wire.PROTOCOL_DEFAULTS.maxFrame
  private readonly conn: Duplex
  private readonly o: ResolvedOptions
  private readonly peer: wire.Settings = { ...wire.PROTOCOL_DEFAULTS }
  private readonly table: StreamTable
  private readonly inbound: Inbound
  private readonly keepalive: Keepalive
  private readonly binding: ConnBinding
  private goawaySent = false
  private goawayReceived: { code: number; reason: string } | undefined
  private readonly n = { opened: 0, accepted: 0, refused: 0, received: 0, dgSent: 0, dgReceived: 0 }
  private readonly dropped: Record<DatagramDropReason, number> = {
    congested: 0,
    'too-large': 0,
    closed: 0,
    'no-listener': 0,
  }

  constructor(conn: Duplex, options: MuxOptions) {
    super()
    const o = (this.o = resolveOptions(options))
    this.conn = conn
    this.clock = o.clock
    this.table = new StreamTable(o.initiator)
    this.writer = new LinkWriter(conn)
    this.updateControlLimit()
    this.keepalive = new Keepalive(this.clock, o.keepaliveInterval, o.keepaliveTimeout, this)
    this.inbound = new Inbound(
      { maxFrame: o.maxFrame, maxDatagram: o.maxDatagram, maxOpenHeader: wire.MAX_OPEN_HEADER },
      {
        table: this.table,
        peer: this.peer,
        closed: () => this.state === 'closed',
        open: (id, header) => this.onPeerOpen(id, header),
        settings: (next) => this.onPeerSettings(next),
        goaway: (code, reason) => this.onPeerGoaway(code, reason),
        datagram: (channel, data) => this.onDatagram(channel, data),
        pong: (data) => this.keepalive.onPong(data),
        sendControl: (frame) => this.sendControl(frame),
        fail: (err) => this.close(err),
      },
    )
    this.binding = new ConnBinding(conn, this.clock, o.closeLinger, {
      data: (chunk) => this.onConnData(chunk),
      drain: () => this.writer.onDrain(),
      end: () => this.onPeerEnd(),
      gone: (err) => this.shutdown(err, false),
    })
    const { initialWindow, maxStreams, maxFrame, maxDatagram } = o
    this.writer.write(wire.encodeSettings({ initialWindow, maxStreams, maxFrame, maxDatagram }))
    this.ping().catch(noop) // a first RTT sample, for window auto-tuning
    if (conn.destroyed)
      process.nextTick(() => this.shutdown(linkClosedError('the conn was already closed'), false))
  }

  get rtt(): number | undefined {
    return this.keepalive.rtt
  }

  get stats(): MuxStats {
    let bufferedIn = 0
    for (const s of this.table.values()) bufferedIn += s.bufferedIn
    const { opened, accepted, refused, received, dgSent, dgReceived } = this.n
    return {
      streams: { open: this.table.size, opened, accepted, refused },
      bytes: { sent: this.writer.bytesSent, received },
      bufferedIn,
      datagrams: { sent: dgSent, received: dgReceived, dropped: { ...this.dropped } },
    }
  }

  openStream(header: Uint8Array = EMPTY): MuxStream {
    if (this.state === 'closed') throw linkClosedError('the link is closed')
    if (this.state === 'draining') throw goawayError('the link is going away: no new streams')
    if (header.length > wire.MAX_OPEN_HEADER) {
      throw new TunnelError('TUN_ERR_FRAME_TOO_LARGE', `open header of ${header.length} bytes (max 8 KiB)`)
    }
    if (this.table.localOpen >= this.peer.maxStreams) {
      throw new TunnelError(
        'TUN_ERR_TOO_MANY_STREAMS',
        `the peer accepts ${this.peer.maxStreams} streams at once`,
      )
    }
    const id = this.table.allocate()
    if (id === undefined) throw goawayError('stream ids are used up: open a new link')
    this.writer.write(wire.encodeOpenHeader(id, header.length))
    if (header.length > 0) this.writer.write(header)
    this.n.opened++
    return this.addStream(id, header)
  }

  sendDatagram(channel: number, payload: Uint8Array): boolean {
    if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff_ffff) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `datagram channel must be a u32 (got ${channel})`)
    }
    let drop: DatagramDropReason | undefined
    if (this.state === 'closed') drop = 'closed'
    else if (payload.length > this.peer.maxDatagram) drop = 'too-large'
    else if (this.writer.backlog > this.o.datagramBudget) drop = 'congested'
    if (drop !== undefined) {
      this.dropped[drop]++
      return false
    }
    this.writer.write(wire.encodeDatagramHeader(channel, payload.length))
    if (payload.length > 0) this.writer.write(payload)
    this.n.dgSent++
    return true
  }

  ping(): Promise<number> {
    return this.keepalive.ping()
  }

  goaway(code: number = wire.GoawayCode.NORMAL, reason = ''): void {
    if (this.state === 'closed' || this.goawaySent) return
    this.goawaySent = true
    this.sendControl(wire.encodeGoaway(code, reason))
    this.enter('goaway')
    if (this.table.size === 0) this.enter('last-stream-ended')
  }

  close(err?: Error): void {
    if (this.state === 'closed') return
    if (!this.conn.writableEnded && !this.conn.destroyed) {
      this.writer.write(wire.encodeGoaway(goawayCodeFor(err), err === undefined ? '' : err.message))
    }
    this.goawaySent = true
    this.shutdown(err, true)
  }

  // ---- StreamHost / KeepaliveHost ----

  sendControl(frame: Buffer): void {
    if (!this.writer.writeControl(frame)) {
      this.close(
        protocolError(`the peer is not reading: over ${MAX_CONTROL_BACKLOG} bytes of control frames wait`),
      )
    }
  }

  streamEnded(stream: MuxStream): void {
    if (this.table.remove(stream) && this.state === 'draining' && this.table.size === 0) {
      this.enter('last-stream-ended')
    }
  }

  sendPing(data: Buffer): void {
    this.sendControl(wire.encodePing(data))
  }

  peerTimedOut(): void {
    const ms = this.o.keepaliveTimeout
    const wireCode = wire.GoawayCode.PEER_TIMEOUT
    this.close(
      new TunnelError('TUN_ERR_PEER_TIMEOUT', `nothing received from the peer for ${ms} ms`, { wireCode }),
    )
  }

  // ---- input (see inbound.ts for the rules) ----

  private onConnData(chunk: Buffer): void {
    if (this.state === 'closed') return // closing: discard, but keep reading so the peer's end arrives
    this.keepalive.onReceive()
    this.n.received += chunk.length
    this.inbound.push(chunk)
  }

  private onPeerOpen(id: number, header: Uint8Array): void {
    const refusal =
      this.state !== 'open'
        ? 'going away'
        : this.table.remoteOpen >= this.o.maxStreams
          ? 'too many streams'
          : this.listenerCount('stream') === 0
            ? 'not accepting streams'
            : undefined
    if (refusal !== undefined) {
      this.n.refused++
      return this.sendControl(wire.encodeReset(id, wire.ResetCode.REFUSED, refusal))
    }
    this.n.accepted++
    // Copied: the header lives as long as the stream; a view would pin the whole read buffer.
    this.emit('stream', this.addStream(id, Buffer.from(header)))
  }

  private onPeerSettings(next: wire.Settings): void {
    // Streams opened before now were credited with the default window: add the difference.
    const raise = next.initialWindow - this.peer.initialWindow
    Object.assign(this.peer, next)
    this.peerMaxFrame = next.maxFrame
    this.updateControlLimit()
    if (raise > 0) for (const s of [...this.table.values()]) s.onWindow(raise)
    this.emit('settings', { ...next })
  }

  private onPeerGoaway(code: number, reason: string): void {
    const first = this.goawayReceived === undefined
    this.goawayReceived = { code, reason } // a later one (with an error code) wins
    if (!first) return
    this.enter('goaway')
    this.emit('goaway', code, reason)
    if (this.table.size === 0) this.enter('last-stream-ended')
  }

  private onDatagram(channel: number, data: Uint8Array): void {
    if (this.listenerCount('datagram') === 0) {
      this.dropped['no-listener']++
      return
    }
    this.n.dgReceived++
    this.emit('datagram', channel, data)
  }

  private addStream(id: number, header: Uint8Array): MuxStream {
    const s = new MuxStream(this, id, header, {
      sendCredit: this.peer.initialWindow,
      initialWindow: this.o.initialWindow,
      maxWindow: this.o.maxWindow,
      highWaterMark: this.o.streamHighWaterMark,
    })
    this.table.add(s)
    return s
  }

  private updateControlLimit(): void {
    // What data (one frame past the conn's mark) and datagrams (their budget) may queue, plus the bound.
    const data = this.conn.writableHighWaterMark + wire.FRAME_HEADER_SIZE + this.peer.maxFrame
    const datagrams = this.o.datagramBudget + this.peer.maxDatagram
    this.writer.controlLimit = data + datagrams + MAX_CONTROL_BACKLOG
  }

  // ---- lifecycle ----

  private enter(event: SessionEvent): void {
    const next = nextSessionState(this.state, event)
    if (next === this.state) return
    if (next === 'closed') return this.shutdown(undefined, true)
    this.state = next
  }

  /** The peer ended the link: cleanly after GOAWAY NORMAL with no stream left, else with an error. */
  private onPeerEnd(): void {
    if (this.state === 'closed') return
    const g = this.goawayReceived
    const err = g === undefined ? undefined : errorForGoaway(g.code, g.reason)
    const cut = g === undefined || this.table.size > 0
    this.shutdown(err ?? (cut ? linkClosedError('the peer closed the link') : undefined), true)
  }

  /**
   * Enters `closed`: every stream ends with `err` (TUN_ERR_LINK_CLOSED when there is none), pings
   * reject, the keepalive timer stops, and the conn is released (conn.ts): ended and flushed when
   * `flush`, else destroyed. Then 'close'.
   */
  private shutdown(err: Error | undefined, flush: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    const streamErr = err !== undefined && isTunnelError(err) ? err : linkClosedError('the link closed', err)
    this.keepalive.stop(streamErr)
    for (const s of this.table.clear()) s.onLinkClosed(streamErr)
    this.writer.close()
    this.binding.release(flush)
    this.emit('close', err)
  }
}

function goawayError(message: string): TunnelError {
  return new TunnelError('TUN_ERR_GOAWAY', message)
}

function noop(): void {}
