/**
 * One live exposure at the relay: a public port bound for one peer, held open by the peer's expose
 * request stream, and its visitors, each spliced to a `visitor` stream on the peer's hop link.
 *
 *   live ──peer ends the request stream / hop link closes / policy revokes / replaced / relay closes──> closed
 *
 * Closing stops the listener and destroys every visitor connection (their streams are reset by the
 * splice), then the port goes back to the book as a reservation for the peer.
 *
 * Backpressure: each visitor is an ordinary splice (splice.ts): a visitor that never reads holds, at
 * the relay, at most its stream's window plus one socket high-water mark, and the peer's stream
 * stops once that window is used; other visitors of the same exposure have their own streams and
 * windows, so they keep their speed.
 */
import type net from 'node:net'
import tls from 'node:tls'
import type { TunnelError } from '../errors.ts'
import type { Link } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import { ResetCode } from '../mux/wire.ts'
import type { PublicPort } from './public-port.ts'
import { splice } from './splice.ts'
import { RelayResetCode, encodeRequest } from './wire.ts'

export type ExposureState = 'live' | 'closed'

/** Why an exposure ended. */
export type ExposureEnd = 'withdrawn' | 'link-closed' | 'revoked' | 'replaced' | 'relay-closed'

/** One visitor connection and the stream it is spliced to (observable for tests and metrics). */
export interface Visitor {
  readonly from: string
  readonly socket: net.Socket
  readonly stream: MuxStream
}

export interface ExposureHooks {
  visitor(exposure: Exposure, from: string): void
  visitorEnd(exposure: Exposure, from: string, bytesIn: number, bytesOut: number): void
  ended(exposure: Exposure, why: ExposureEnd, err: TunnelError | undefined): void
}

export class Exposure {
  readonly peer: string
  readonly port: number
  readonly link: Link
  readonly request: MuxStream
  readonly visitors = new Set<Visitor>()
  #state: ExposureState = 'live'
  #public: PublicPort | undefined
  readonly #hooks: ExposureHooks

  constructor(peer: string, port: number, link: Link, request: MuxStream, hooks: ExposureHooks) {
    this.peer = peer
    this.port = port
    this.link = link
    this.request = request
    this.#hooks = hooks
  }

  get state(): ExposureState {
    return this.#state
  }

  get publicPort(): PublicPort | undefined {
    return this.#public
  }

  /** The listener is bound: from now on visitors are accepted, until close(). */
  start(publicPort: PublicPort): void {
    if (this.#state !== 'live') {
      void publicPort.close() // closed while it was binding (relay stopping)
      return
    }
    this.#public = publicPort
    const request = this.request
    request.resume() // the peer sends nothing after its header; a FIN withdraws
    request.once('end', () => void this.close('withdrawn'))
    request.once(
      'close',
      () =>
        void this.close(
          request.resetCode === ResetCode.LINK_CLOSED || this.link.closed ? 'link-closed' : 'withdrawn',
        ),
    )
  }

  /** A visitor connected to the public port: open its stream on the peer's link and splice. */
  onVisitor(socket: net.Socket, from: string): void {
    if (this.#state !== 'live') {
      socket.destroy()
      return
    }
    let stream: MuxStream
    try {
      stream = this.link.openStream(encodeRequest({ op: 'visitor', port: this.port, from }))
    } catch {
      socket.destroy() // the link is going away, or the peer takes no more streams
      return
    }
    stream.on('error', () => {})
    // A reset from the peer (its local service refused) reaches the visitor as a TCP reset.
    const resettable = Object.assign(socket, {
      reset: () => (socket instanceof tls.TLSSocket ? socket.destroy() : socket.resetAndDestroy()),
    })
    const visitor: Visitor = { from, socket, stream }
    this.visitors.add(visitor)
    this.#hooks.visitor(this, from)
    void splice(resettable, stream).then(({ ab, ba }) => {
      this.visitors.delete(visitor)
      this.#hooks.visitorEnd(this, from, ab, ba)
    })
  }

  /**
   * Ends the exposure. The peer hears why: a clean FIN when it withdrew, a RESET with the code for a
   * revocation or a replacement, nothing when its link is gone.
   */
  async close(why: ExposureEnd, err?: TunnelError): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    const request = this.request
    switch (why) {
      case 'withdrawn':
        if (!request.destroyed) request.end()
        break
      case 'revoked':
        request.reset(RelayResetCode.EXPOSE_DENIED, err?.message ?? 'revoked')
        break
      case 'replaced':
        request.reset(RelayResetCode.REPLACED, err?.message ?? 'replaced')
        break
      case 'link-closed':
      case 'relay-closed':
        request.destroy()
        break
      default: {
        const never: never = why
        throw new Error(`unhandled exposure end ${String(never)}`)
      }
    }
    await this.#public?.close()
    this.#hooks.ended(this, why, err)
  }
}
