/**
 * `burrow expose`: a public TCP port on a relay for visitors that run no burrow (like `ssh -R`,
 * frp, bore). The peer holds a hop link to the relay (reconnecting with backoff), and on every
 * (re)connection asks for its public port, naming the port it had last time so it keeps it (the
 * relay reserves it for this peer id for a grace period). Each visitor arrives as a stream on the
 * hop link; the peer dials its local service at once and splices (visitor.ts).
 *
 *   idle ─start()─> linking ─hop link up─> requesting ─{"ok":true}─> exposed
 *                     ^                     │   ^                      │ request stream ends
 *                     │                     │   └── waiting <──────────┤ (revoked, replaced)
 *                     │                     └─refused─> waiting ─retry─┘
 *                     └──────────── hop link lost (any state) ─────────┘
 *   any ─close()─> closed
 *
 * A refusal (TUN_ERR_EXPOSE_DENIED, TUN_ERR_PORT_UNAVAILABLE, TUN_ERR_SESSION_LIMIT) is retried with
 * its own backoff, since an operator may fix the policy while the peer runs; when the refused port
 * was only remembered (not asked for by the user), the peer forgets it and asks for any port at once.
 * When a newer exposure of the same id replaced this one and the user fixed the port, the peer stops
 * (two processes with one key and one port would otherwise take it from each other forever).
 */
import { EventEmitter } from 'node:events'
import { parseNodeAddresses } from '../address/node.ts'
import type { NodeAddress } from '../address/types.ts'
import { TunnelError, isTunnelError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import type { DialLinkOptions, Link } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import { RelayClient, type RelayClientState } from '../relay/client.ts'
import { RelayResetCode, encodeRequest } from '../relay/wire.ts'
import { EXPOSE_REPLY_TIMEOUT_MS, REFUSALS, codeOf, explainExpose, readReply } from './expose-reply.ts'
import { parseListen } from './open.ts'
import { serveVisitor, type LocalVisitor } from './visitor.ts'

/** Retry after a refusal: first delay, doubling up to the cap. */
export const REFUSED_RETRY_BASE_MS = 1000
export const REFUSED_RETRY_MAX_MS = 30_000

export type ExposerState = 'idle' | 'linking' | 'requesting' | 'exposed' | 'waiting' | 'closed'

export interface ExposeOptions {
  identity: Identity
  /** The relay's address (`~noise:<relay id>`); the first alternative is used. */
  relay: string | NodeAddress
  /** The local service, `host:port`. */
  local: string
  /** The public port wanted; absent: the relay picks (and the peer then keeps what it got). */
  port?: number
  /** Write a PROXY protocol v2 header to the local service before each visitor's bytes. */
  proxyProtocol?: boolean
  /** Ask the relay to terminate TLS on the public port with its certificate. */
  tls?: boolean
  relayLink?: DialLinkOptions
  backoff?: { baseMs?: number; maxMs?: number }
  refusedBackoff?: { baseMs?: number; maxMs?: number }
  localConnectTimeoutMs?: number
}

/** Where visitors reach the service. */
export interface ExposedInfo {
  port: number
  host: string
  /** `host:port` (IPv6 in brackets). */
  address: string
  tls: boolean
}

export interface ExposerEvents {
  state: [state: ExposerState]
  relay: [info: { relay: string; state: RelayClientState; err?: Error; delayMs?: number }]
  exposed: [info: ExposedInfo]
  unexposed: [info: { err: Error; port?: number; retryMs?: number }]
  visitor: [info: { from: string }]
  'visitor-end': [info: { from: string; bytesIn: number; bytesOut: number; err?: Error }]
  close: [err: Error | undefined]
}

export class Exposer extends EventEmitter<ExposerEvents> {
  readonly relay: RelayClient
  readonly local: { host: string; port: number }
  /** Visitors being served now. */
  readonly visitors = new Set<LocalVisitor>()
  #state: ExposerState = 'idle'
  #current: ExposedInfo | undefined
  #lastPort: number | undefined
  #refusals = 0
  #timer: NodeJS.Timeout | undefined
  #request: MuxStream | undefined
  readonly #o: ExposeOptions

  constructor(options: ExposeOptions) {
    super()
    this.#o = options
    this.local = parseListen(options.local)
    const [relay] = typeof options.relay === 'string' ? parseNodeAddresses(options.relay) : [options.relay]
    if (relay === undefined) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'expose needs a relay address')
    this.relay = new RelayClient(relay, options.identity, {
      link: options.relayLink,
      backoff: options.backoff,
    })
    this.relay.on('state', (state, d) => {
      this.emit('relay', { relay: this.relay.relayAddress, state, err: d.err, delayMs: d.delayMs })
      if (state === 'ready' && d.link) this.#ask(d.link)
      else if (state === 'connecting' && this.#state !== 'closed') this.#enter('linking')
    })
    this.relay.on('visitor', (stream, { from }) => this.#visitor(stream, from))
  }

  get state(): ExposerState {
    return this.#state
  }

  /** The public address while exposed. */
  get exposed(): ExposedInfo | undefined {
    return this.#current
  }

  start(): this {
    if (this.#state === 'idle') {
      this.#enter('linking')
      this.relay.start()
    }
    return this
  }

  /** Withdraws the exposure (a FIN on the request stream) and closes the hop link. */
  close(err?: Error): void {
    if (this.#state === 'closed') return
    this.#enter('closed')
    clearTimeout(this.#timer)
    this.#request?.end()
    this.#current = undefined
    this.relay.close()
    for (const v of this.visitors) v.socket.destroy()
    this.emit('close', err)
  }

  /**
   * Resolves with the public address once exposed (now, if it is); rejects with the relay's refusal
   * (TUN_ERR_EXPOSE_DENIED, TUN_ERR_PORT_UNAVAILABLE...), on close, or after `timeoutMs` without
   * an answer (TUN_ERR_PATH_DOWN: the relay is unreachable); `timeoutMs` 0 waits as long as it
   * takes (a daemon started before its relay).
   */
  ready(timeoutMs = EXPOSE_REPLY_TIMEOUT_MS): Promise<ExposedInfo> {
    if (this.#current) return Promise.resolve(this.#current)
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, info?: ExposedInfo) => {
        clearTimeout(timer)
        this.off('exposed', onExposed)
        this.off('unexposed', onUnexposed)
        this.off('close', onClose)
        if (info) resolve(info)
        else reject(err)
      }
      const onExposed = (info: ExposedInfo) => done(undefined, info)
      const onUnexposed = ({ err }: { err: Error }) => isTunnelError(err, ...REFUSALS) && done(err)
      const onClose = (err?: Error) =>
        done(err ?? new TunnelError('TUN_ERR_LINK_CLOSED', 'the exposure was closed'))
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              const why = `no answer from relay ${this.relay.relayAddress} within ${timeoutMs} ms`
              done(new TunnelError('TUN_ERR_PATH_DOWN', why))
            }, timeoutMs)
          : undefined
      this.on('exposed', onExposed)
      this.on('unexposed', onUnexposed)
      this.on('close', onClose)
    })
  }

  #ask(link: Link): void {
    if (this.#state === 'closed' || this.relay.link !== link) return
    clearTimeout(this.#timer)
    this.#enter('requesting')
    const port = this.#o.port ?? this.#lastPort
    let stream: MuxStream
    try {
      stream = link.openStream(encodeRequest({ op: 'expose', port, tls: this.#o.tls || undefined }))
    } catch {
      return // the link is going down: the relay client reconnects and asks again
    }
    this.#request = stream
    stream.on('error', () => {})
    readReply(stream).then(
      (reply) => {
        if (reply.ok) this.#onExposed(link, stream, reply.port, reply.host)
        else this.#onLost(link, port, new TunnelError(codeOf(reply.code), reply.reason), undefined)
      },
      (err: unknown) => this.#onLost(link, port, explainExpose(err), undefined),
    )
  }

  #onExposed(link: Link, stream: MuxStream, port: number, host: string): void {
    if (this.#state === 'closed') return
    this.#refusals = 0
    this.#lastPort = port
    const info = {
      port,
      host,
      address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      tls: this.#o.tls === true,
    }
    this.#current = info
    this.#enter('exposed')
    this.emit('exposed', info)
    let ended = false
    const lost = (err: Error) => {
      if (ended) return
      ended = true
      this.#current = undefined
      this.#onLost(link, port, err, port)
    }
    stream.once('end', () => lost(new TunnelError('TUN_ERR_LINK_CLOSED', 'the relay ended the exposure')))
    stream.once('error', (err) => lost(explainExpose(err)))
    stream.once('close', () => lost(new TunnelError('TUN_ERR_LINK_CLOSED', 'the exposure stream closed')))
  }

  /** A request was refused, or a live exposure ended: say so and decide when to ask again. */
  #onLost(link: Link, asked: number | undefined, err: Error, port: number | undefined): void {
    if (this.#state === 'closed') return
    const replaced = isTunnelError(err) && err.wireCode === RelayResetCode.REPLACED
    if (replaced && this.#o.port !== undefined) {
      this.emit('unexposed', { err, port })
      this.close(err)
      return
    }
    const linkUp = this.relay.link === link && !link.closed
    const refused = isTunnelError(err, ...REFUSALS)
    // A remembered port that is no longer ours: forget it and ask for any port now.
    const forget = refused && this.#o.port === undefined && asked !== undefined && asked === this.#lastPort
    if (forget) this.#lastPort = undefined
    let retryMs: number | undefined
    if (linkUp) {
      const { baseMs = REFUSED_RETRY_BASE_MS, maxMs = REFUSED_RETRY_MAX_MS } = this.#o.refusedBackoff ?? {}
      retryMs = forget ? 0 : Math.min(maxMs, baseMs * 2 ** this.#refusals++)
      this.#enter('waiting')
      this.#timer = setTimeout(() => this.#ask(link), retryMs)
    } else {
      this.#enter('linking') // the relay client reconnects; its 'ready' asks again
    }
    this.emit('unexposed', { err, port, retryMs })
  }

  #visitor(stream: MuxStream, from: string): void {
    const publicHost = this.#current?.host ?? ''
    let entry: LocalVisitor | undefined
    this.emit('visitor', { from })
    void serveVisitor(
      stream,
      this.#current?.port ?? this.#lastPort ?? 0,
      from,
      {
        ...this.local,
        proxyProtocol: this.#o.proxyProtocol === true,
        publicHost,
        connectTimeoutMs: this.#o.localConnectTimeoutMs,
      },
      (socket) => {
        entry = { from, stream, socket }
        this.visitors.add(entry)
      },
    ).then((outcome) => {
      if (entry) this.visitors.delete(entry)
      this.emit('visitor-end', { from, ...outcome })
    })
  }

  #enter(state: ExposerState): void {
    if (this.#state === state) return
    this.#state = state
    this.emit('state', state)
  }
}

/** Starts exposing `options.local` on a public port of `options.relay` (in the background). */
export function expose(options: ExposeOptions): Exposer {
  return new Exposer(options).start()
}
