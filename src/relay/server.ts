/**
 * The relay: accepts hop links from peers on several transports at once, keeps a registry of
 * announced peers, and splices a client's connect stream to a new stream on the announced peer's
 * link. It forwards bytes only: the two peers run their own Noise link inside the splice.
 *
 * Limits (each named, finite, overridable): links held, streams per link, handshakes in progress,
 * active splices, and the window of each relay stream, which bounds the bytes the relay buffers
 * per spliced direction (window + one high-water mark). A slow peer only slows its own streams:
 * the multiplexer never stops reading a link, and each splice pipes with its own backpressure.
 */
import { EventEmitter } from 'node:events'
import { formatForScope } from '../address/scope.ts'
import type { NodeAddress, Scope, TransportAddress } from '../address/types.ts'
import { TunnelError, describeError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import { listen, type Link, type LinkListener, type LinkOptions } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import type { ConnInfo, ListenOptions } from '../transport/types.ts'
import { Exposures, refuse, type ExposeOptions } from './exposures.ts'
import { expandAddresses } from './interfaces.ts'
import { MemoryRegistry, type Announcement, type Registry } from './registry.ts'
import { splice } from './splice.ts'
import { RelayResetCode, decodeRequest, encodeRequest } from './wire.ts'

/** The default listen address of `burrow relay`. */
export const DEFAULT_RELAY_LISTEN = 'tcp:0.0.0.0:7000'
/** Hop links a relay holds at once. */
export const RELAY_MAX_LINKS = 4096
/** Streams (requests and splices) one peer may have open through a relay. */
export const RELAY_MAX_STREAMS_PER_LINK = 1024
/** Splices active at once over all peers. */
export const RELAY_MAX_SPLICES = 16_384
/** Window of each relay stream: the bytes buffered per spliced direction start here... */
export const RELAY_STREAM_WINDOW = 256 * 1024
/** ...and auto-tuning may grow them to this. */
export const RELAY_STREAM_MAX_WINDOW = 4 * 1024 * 1024

export interface RelayLimits {
  maxLinks?: number
  maxStreamsPerLink?: number
  maxPendingHandshakes?: number
  maxSplices?: number
  streamWindow?: number
  streamMaxWindow?: number
}

export interface RelayOptions {
  identity: Identity
  /** Addresses to listen on (default DEFAULT_RELAY_LISTEN); several transports at once. */
  listen?: Array<string | NodeAddress | TransportAddress>
  /** Admission: which peer ids may link (default: any; peers authenticate each other end to end). */
  allowPeer?: (id: string) => boolean
  registry?: Registry
  limits?: RelayLimits
  /** Keepalive and other link options for hop links. */
  link?: Omit<LinkOptions, 'maxStreams' | 'initialWindow' | 'maxWindow'>
  /** Options for listeners of one transport kind (wss certificate and key). */
  transport?: Partial<Record<TransportAddress['kind'], ListenOptions>>
  /** Public addresses to advertise besides the bound ones (a DNS name, a forwarded port). */
  advertise?: TransportAddress[]
  /** Public ports for peers that ask (exposures.ts); without it every expose request is refused. */
  expose?: ExposeOptions
}

export interface RelayStats {
  links: number
  announced: number
  splices: { active: number; total: number }
  /** Bytes forwarded through splices, both directions, since start. */
  forwardedBytes: number
}

export interface RelayEvents {
  link: [info: { id: string; conn: ConnInfo }]
  unlink: [info: { id: string; err: Error | undefined }]
  announce: [info: { id: string }]
  withdraw: [info: { id: string }]
  splice: [info: { from: string; to: string }]
  'splice-end': [info: { from: string; to: string; bytes: number }]
  refused: [info: { err: Error; conn: ConnInfo }]
  'request-error': [info: { id: string; err: Error }]
}

export class Relay extends EventEmitter<RelayEvents> {
  readonly id: string
  readonly registry: Registry
  readonly linkListeners: LinkListener[] = []
  /** Public ports (undefined when this relay opens none); its events say who exposes what. */
  readonly exposures: Exposures | undefined
  readonly #advertise: TransportAddress[]
  readonly #maxSplices: number
  #active = 0
  #total = 0
  #forwarded = 0
  #closed = false

  constructor(options: RelayOptions) {
    super()
    this.id = options.identity.id
    this.registry = options.registry ?? new MemoryRegistry()
    this.#advertise = options.advertise ?? []
    this.#maxSplices = options.limits?.maxSplices ?? RELAY_MAX_SPLICES
    this.exposures = options.expose ? new Exposures(options.expose) : undefined
  }

  get stats(): RelayStats {
    let links = 0
    for (const l of this.linkListeners) links += l.links.size
    return {
      links,
      announced: this.registry.size,
      splices: { active: this.#active, total: this.#total },
      forwardedBytes: this.#forwarded,
    }
  }

  /** Every address the relay can be reached at (wildcard binds expanded to interface addresses). */
  addresses(): NodeAddress[] {
    const bound = this.linkListeners.flatMap((l) => expandAddresses(l.transportAddress))
    return [...this.#advertise, ...bound].map((transport) => ({ transport, id: this.id }))
  }

  /** The address string for peers in `scope`: what a peer needs to reach this relay. */
  address(scope: Scope = 'public'): string {
    return formatForScope(this.addresses(), scope)
  }

  /** Closes every hop link of peer `id` (it was removed from the allow list). */
  disconnect(id: string, reason: string): void {
    for (const l of this.linkListeners) {
      for (const link of l.links) {
        if (link.remoteId !== id) continue
        link.close(new TunnelError('TUN_ERR_UNAUTHORIZED', reason))
      }
    }
  }

  /** Stops listening and closes every hop link. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.linkListeners.map((l) => l.close()), this.exposures?.close()])
  }

  /** @internal */
  adopt(listener: LinkListener): void {
    this.linkListeners.push(listener)
    listener.on('refused', (err, conn) => this.emit('refused', { err, conn }))
    listener.on('link', (link) => this.#onLink(link))
  }

  #onLink(link: Link): void {
    const id = link.remoteId
    this.emit('link', { id, conn: link.info })
    const mine: Announcement[] = []
    link.on('stream', (stream) => this.#onRequest(link, stream, mine))
    link.once('close', (err) => {
      for (const a of mine) {
        if (this.registry.lookup(a.id) === a) this.emit('withdraw', { id: a.id })
        this.registry.withdraw(a)
      }
      this.emit('unlink', { id, err })
    })
  }

  #onRequest(link: Link, stream: MuxStream, mine: Announcement[]): void {
    stream.on('error', () => {})
    let request
    try {
      request = decodeRequest(stream.header)
    } catch (err) {
      this.emit('request-error', { id: link.remoteId, err: err as Error })
      stream.reset(RelayResetCode.BAD_REQUEST, describeError(err))
      return
    }
    switch (request.op) {
      case 'announce': {
        const a: Announcement = { id: link.remoteId, link, since: Date.now() }
        this.registry.announce(a)
        mine.push(a)
        this.emit('announce', { id: a.id })
        stream.resume()
        stream.end(JSON.stringify({ ok: true }))
        return
      }
      case 'connect':
        this.#connect(link, stream, request.to)
        return
      case 'incoming':
      case 'visitor':
        stream.reset(RelayResetCode.BAD_REQUEST, `only a relay sends ${request.op}`)
        return
      case 'expose':
        if (this.exposures) this.exposures.handle(link, stream, request)
        else refuse(stream, new TunnelError('TUN_ERR_EXPOSE_DENIED', 'this relay opens no public ports'))
        return
      default: {
        const never: never = request
        throw new TunnelError('TUN_ERR_PROTOCOL', `unhandled request ${String(never)}`)
      }
    }
  }

  #connect(from: Link, stream: MuxStream, to: string): void {
    const target = this.registry.lookup(to)
    if (target === undefined || target.link.closed) {
      stream.reset(RelayResetCode.PEER_NOT_FOUND, `peer ${to} is not connected to this relay`)
      return
    }
    if (this.#active >= this.#maxSplices) {
      stream.reset(RelayResetCode.LIMIT, `the relay is at its limit of ${this.#maxSplices} splices`)
      return
    }
    let out: MuxStream
    try {
      out = target.link.openStream(encodeRequest({ op: 'incoming', from: from.remoteId }))
    } catch (err) {
      stream.reset(RelayResetCode.PEER_GONE, `peer ${to} cannot take a stream now: ${describeError(err)}`)
      return
    }
    out.on('error', () => {})
    this.#active++
    this.#total++
    this.emit('splice', { from: from.remoteId, to })
    // Both carry the peers' end-to-end ciphertext: forwarded in clear records of each hop link,
    // authenticated but not encrypted again (the relay's largest saving; docs/protocol.md).
    stream.passthrough = true
    out.passthrough = true
    void splice(stream, out).then(({ ab, ba }) => {
      this.#active--
      this.#forwarded += ab + ba
      this.emit('splice-end', { from: from.remoteId, to, bytes: ab + ba })
    })
  }
}

/** Starts a relay listening on every address of `options.listen`. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const relay = new Relay(options)
  const limits = options.limits ?? {}
  const allow = options.allowPeer
  try {
    for (const address of options.listen ?? [DEFAULT_RELAY_LISTEN]) {
      const kind =
        typeof address === 'string'
          ? undefined
          : 'transport' in address
            ? address.transport.kind
            : address.kind
      const listener = await listen(address, options.identity, {
        ...options.link,
        maxLinks: limits.maxLinks ?? RELAY_MAX_LINKS,
        maxPendingHandshakes: limits.maxPendingHandshakes,
        maxStreams: limits.maxStreamsPerLink ?? RELAY_MAX_STREAMS_PER_LINK,
        initialWindow: limits.streamWindow ?? RELAY_STREAM_WINDOW,
        maxWindow: limits.streamMaxWindow ?? RELAY_STREAM_MAX_WINDOW,
        authorize: allow
          ? (peer) => (allow(peer.id) ? true : `this relay does not admit ${peer.id}`)
          : undefined,
        transport: kind ? options.transport?.[kind] : transportOptionsFor(address, options),
      })
      relay.adopt(listener)
    }
  } catch (err) {
    await relay.close()
    throw err
  }
  return relay
}

function transportOptionsFor(
  address: string | NodeAddress | TransportAddress,
  options: RelayOptions,
): ListenOptions | undefined {
  if (typeof address !== 'string') return undefined
  const kind = address.split(':')[0] as TransportAddress['kind']
  return options.transport?.[kind]
}
