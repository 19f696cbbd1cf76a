/**
 * The multiplexer's public shapes, types only (STYLE principle 8). `MuxSession` (session.ts) and
 * `MuxStream` (stream.ts) implement them; layers above (relay, peer) should depend on these
 * interfaces so a test can hand them any implementation.
 *
 * The contract in one paragraph: a session runs many streams and datagram channels over one
 * ordered, reliable byte Duplex (the secure channel in production, a socket or an in-memory pair in
 * tests). Each stream is a byte Duplex with half-close, reset with a code, per-stream credit flow
 * control (a reader that stops reading stops its sender after one window, and no other stream
 * notices), and backpressure (write() returns false over the high-water mark). Datagrams are never
 * queued: they are sent now or dropped and counted with a reason. Every bound has a name and a
 * finite default (wire.ts and session.ts).
 */
import type { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'

/**
 * Session states. One switch in session.ts makes every transition:
 * ```
 * open ──goaway() sent or GOAWAY received──> draining ──last stream ends──> closed
 *   └──────────── close(), link error, dead peer, conn ended ─────────────────┘
 * ```
 * In `draining` no stream is opened in either direction (openStream throws TUN_ERR_GOAWAY, incoming
 * OPENs are refused) while existing streams run to their end.
 */
export type MuxSessionState = 'open' | 'draining' | 'closed'

/**
 * Stream states, as in HTTP/2 (local = this side's sending half):
 * ```
 *            FIN sent              FIN received
 *   open ──────────────> local-closed ──────────────> closed
 *     └──FIN received──> remote-closed ──FIN sent───> closed
 *   any ──RESET sent or received, destroy(), link closed──> reset
 * ```
 * `closed` and `reset` are terminal; the stream leaves the session's table on entering either.
 */
export type MuxStreamState = 'open' | 'local-closed' | 'remote-closed' | 'closed' | 'reset'

/** Why a datagram was dropped: sending (`congested`, `too-large`, `closed`) or receiving (`no-listener`). */
export type DatagramDropReason = 'congested' | 'too-large' | 'closed' | 'no-listener'

/** Time source and timers, injected so keepalive and auto-tuning run under fake time in tests (STYLE 9). */
export interface MuxClock {
  /** Milliseconds, monotonic. Default: performance.now(). */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface MuxOptions {
  /** True on the side that dialed the link: it opens odd stream ids, the acceptor even ones. */
  initiator: boolean
  /** Window granted to every new stream, bytes (advertised as INITIAL_WINDOW). Default 1 MiB, ≥ 64 KiB. */
  initialWindow?: number
  /** Auto-tuning grows a busy stream's window up to this. Default 16 MiB. Equal to initialWindow disables tuning. */
  maxWindow?: number
  /** Concurrent streams the peer may open (advertised as MAX_STREAMS); more are refused. Default 1024. */
  maxStreams?: number
  /** Largest DATA body accepted (advertised as MAX_FRAME). Default 64 KiB, 16 KiB..16 MiB-1. */
  maxFrame?: number
  /** Largest datagram accepted (advertised as MAX_DATAGRAM). Default 65,000. */
  maxDatagram?: number
  /** Datagrams are dropped (`congested`) while the link's backlog (unsent bytes) is over this. Default 256 KiB. */
  datagramBudget?: number
  /** Each stream's writable high-water mark: write() returns false above it. Default 64 KiB. */
  streamHighWaterMark?: number
  /** Ping after this much silence from the peer, ms. Default 15 s; 0 disables keepalive. */
  keepaliveInterval?: number
  /** Close the link (TUN_ERR_PEER_TIMEOUT) after this much silence, ms. Default 45 s. */
  keepaliveTimeout?: number
  /** After close(), the conn is ended and destroyed once the peer ends it too, or after this many ms. Default 2 s. */
  closeLinger?: number
  clock?: MuxClock
}

export interface MuxStats {
  streams: {
    /** Streams in the table now (both directions). */
    open: number
    /** Streams this side opened, ever. */
    opened: number
    /** Streams the peer opened and this side accepted, ever. */
    accepted: number
    /** Peer OPENs refused (over MAX_STREAMS, draining, or no 'stream' listener). */
    refused: number
  }
  /** Link bytes, frame headers included. */
  bytes: { sent: number; received: number }
  /** Stream bytes received and not yet read, over all open streams (each stream holds at most its window). */
  bufferedIn: number
  datagrams: { sent: number; received: number; dropped: Record<DatagramDropReason, number> }
}

/** One stream: a byte Duplex. See MuxStreamState for its lifecycle. */
export interface MuxStreamLike extends Duplex {
  readonly id: number
  /** The open header: the bytes given to openStream() (or received in the OPEN frame). */
  readonly header: Uint8Array
  readonly state: MuxStreamState
  /** Closes both directions at once and tells the peer `code` (≥ 0x100 for the layers above). */
  reset(code?: number, reason?: string): void
}

/** Session events. 'close' comes once; its error is undefined after a clean close. */
export interface MuxSessionEvents {
  stream: [stream: MuxStreamLike]
  /** The peer's SETTINGS arrived (its first frame): the peer is a live mux speaker. Values as wire.ts `Settings`. */
  settings: [peer: { initialWindow: number; maxStreams: number; maxFrame: number; maxDatagram: number }]
  datagram: [channel: number, payload: Uint8Array]
  goaway: [code: number, reason: string]
  close: [err: Error | undefined]
}

export interface MuxSessionLike extends EventEmitter {
  readonly state: MuxSessionState
  /** Smoothed round-trip time in ms; undefined before the first PONG. */
  readonly rtt: number | undefined
  readonly stats: MuxStats
  /** Opens a stream at once (optimistic: it can be written immediately). Throws TUN_ERR_GOAWAY, _LINK_CLOSED, _TOO_MANY_STREAMS, _FRAME_TOO_LARGE. */
  openStream(header?: Uint8Array): MuxStreamLike
  /** Sends one datagram now, or drops it and counts why; true when sent. The payload must not change afterwards. */
  sendDatagram(channel: number, payload: Uint8Array): boolean
  /** Round-trip time of one PING, ms. Rejects if the link closes first. */
  ping(): Promise<number>
  /** No new streams in either direction; the link closes when the last stream ends. */
  goaway(code?: number, reason?: string): void
  /**
   * Closes now: sends GOAWAY (NORMAL, or err's code), every stream ends with `err`
   * (TUN_ERR_LINK_CLOSED by default), pings reject, timers stop, 'close' is emitted. The conn is
   * ended so what was written is flushed, and destroyed once the peer ends it too, or after
   * `closeLinger`. Idempotent.
   */
  close(err?: Error): void
}
