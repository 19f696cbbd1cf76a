/**
 * A peer's hold on one relay: a hop link that is re-dialed whenever it drops (exponential backoff
 * with jitter, reset after each success), announced when the peer serves, and a source of connect
 * streams when the peer is a client.
 *
 *   idle --start()--> connecting --link up (+ announced)--> ready --link closed--> waiting
 *                         ^   |failed                                              |
 *                         |   v                                                    |
 *                         +-- waiting <---------------------------------------------+ (backoff)
 *   any --close()--> closed
 */
import { EventEmitter } from 'node:events'
import type { NodeAddress } from '../address/types.ts'
import { formatNodeAddress } from '../address/node.ts'
import { TunnelError, describeError, isTunnelError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import { dial, type DialLinkOptions, type Link } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import { RelayResetCode, decodeRequest, encodeRequest } from './wire.ts'

/** First reconnect delay... */
export const RECONNECT_BASE_MS = 250
/** ...doubling up to this cap, so a peer is back within about this long after its relay returns. */
export const RECONNECT_MAX_MS = 3000
/** How long an announce may take before the link is dropped and re-dialed. */
export const ANNOUNCE_TIMEOUT_MS = 10_000

export type RelayClientState = 'idle' | 'connecting' | 'ready' | 'waiting' | 'closed'

export interface RelayClientOptions {
  /** Announce this peer at the relay once linked (serve). */
  announce?: boolean
  link?: DialLinkOptions
  backoff?: { baseMs?: number; maxMs?: number }
  /** Source of jitter, [0, 1). Default Math.random. */
  random?: () => number
}

export interface RelayClientEvents {
  state: [state: RelayClientState, detail: { err?: Error; delayMs?: number; link?: Link }]
  /** A client's stream spliced to this peer: its end-to-end link runs inside. */
  incoming: [stream: MuxStream, from: string]
  /** A visitor of this peer's public port, spliced to this stream (peer/expose.ts). */
  visitor: [stream: MuxStream, info: { port: number; from: string }]
}

export class RelayClient extends EventEmitter<RelayClientEvents> {
  readonly relay: NodeAddress
  readonly relayAddress: string
  #state: RelayClientState = 'idle'
  #link: Link | undefined
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #abort = new AbortController()
  readonly #identity: Identity
  readonly #options: RelayClientOptions

  constructor(relay: NodeAddress, identity: Identity, options: RelayClientOptions = {}) {
    super()
    if (relay.id === undefined)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a relay address must name the relay: ~noise:<id>')
    this.relay = { transport: relay.transport, id: relay.id }
    this.relayAddress = formatNodeAddress(this.relay)
    this.#identity = identity
    this.#options = options
  }

  get state(): RelayClientState {
    return this.#state
  }

  /** The hop link while ready. */
  get link(): Link | undefined {
    return this.#state === 'ready' ? this.#link : undefined
  }

  start(): void {
    if (this.#state === 'idle') void this.#connect()
  }

  close(): void {
    if (this.#state === 'closed') return
    this.#enter('closed', {})
    clearTimeout(this.#timer)
    this.#abort.abort()
    this.#link?.close()
    this.#link = undefined
  }

  /** The ready hop link, waiting at most `timeoutMs` for it (TUN_ERR_PATH_DOWN after that). */
  ready(timeoutMs: number, signal?: AbortSignal): Promise<Link> {
    const link = this.link
    if (link) return Promise.resolve(link)
    if (this.#state === 'closed')
      return Promise.reject(new TunnelError('TUN_ERR_LINK_CLOSED', 'the relay client is closed'))
    return new Promise((resolve, reject) => {
      let lastError: Error | undefined
      const done = (err?: Error, l?: Link) => {
        clearTimeout(timer)
        this.off('state', onState)
        signal?.removeEventListener('abort', onAbort)
        if (l) resolve(l)
        else reject(err)
      }
      const onState = (state: RelayClientState, detail: { err?: Error; link?: Link }) => {
        if (detail.err) lastError = detail.err
        if (state === 'ready' && detail.link) done(undefined, detail.link)
        else if (state === 'closed')
          done(new TunnelError('TUN_ERR_LINK_CLOSED', 'the relay client was closed'))
      }
      const onAbort = () => done(new TunnelError('TUN_ERR_ABORTED', 'aborted while waiting for the relay'))
      const timer = setTimeout(() => {
        const why = lastError ? `: ${describeError(lastError)}` : ''
        done(
          new TunnelError(
            'TUN_ERR_PATH_DOWN',
            `no link to relay ${this.relayAddress} within ${timeoutMs} ms${why}`,
            { cause: lastError },
          ),
        )
      }, timeoutMs)
      this.on('state', onState)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Opens a stream to `peer` through the relay (the link must be ready: see ready()). */
  connect(peer: string): MuxStream {
    const link = this.link
    if (link === undefined)
      throw new TunnelError('TUN_ERR_PATH_DOWN', `not linked to relay ${this.relayAddress}`)
    const stream = link.openStream(encodeRequest({ op: 'connect', to: peer }))
    // It carries the end-to-end link's records: clear records on this hop, not a second encryption.
    stream.passthrough = true
    return stream
  }

  async #connect(): Promise<void> {
    this.#enter('connecting', {})
    let link: Link | undefined
    try {
      link = await dial(this.relay, this.#identity, { ...this.#options.link, signal: this.#abort.signal })
      if (this.#state === 'closed') {
        link.close()
        return
      }
      link.on('stream', (stream) => this.#onStream(stream))
      link.once('close', (err) => this.#onLinkClosed(link as Link, err))
      if (this.#options.announce) await announce(link)
      this.#link = link
      this.#attempt = 0
      this.#enter('ready', { link })
    } catch (err) {
      link?.close()
      if (this.#state !== 'closed') this.#retry(err as Error)
    }
  }

  #onLinkClosed(link: Link, err: Error | undefined): void {
    if (this.#link !== link) return
    this.#link = undefined
    if (this.#state !== 'closed')
      this.#retry(err ?? new TunnelError('TUN_ERR_LINK_CLOSED', 'the relay closed the link'))
  }

  #retry(err: Error): void {
    const { baseMs = RECONNECT_BASE_MS, maxMs = RECONNECT_MAX_MS } = this.#options.backoff ?? {}
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.#attempt)
    this.#attempt++
    // "Equal jitter": at least half the ceiling, so retries spread out without ever hammering.
    const delayMs = Math.round(ceiling / 2 + (this.#options.random ?? Math.random)() * (ceiling / 2))
    this.#enter('waiting', { err, delayMs })
    this.#timer = setTimeout(() => void this.#connect(), delayMs)
  }

  #onStream(stream: MuxStream): void {
    stream.on('error', () => {})
    let from: string
    try {
      const request = decodeRequest(stream.header)
      if (request.op === 'visitor') {
        if (this.listenerCount('visitor') === 0)
          stream.reset(RelayResetCode.DENIED, 'this peer exposes nothing')
        else this.emit('visitor', stream, { port: request.port, from: request.from })
        return
      }
      if (request.op !== 'incoming')
        throw new TunnelError('TUN_ERR_BAD_REQUEST', `a relay does not send ${request.op}`)
      from = request.from
    } catch (err) {
      stream.reset(RelayResetCode.BAD_REQUEST, describeError(err))
      return
    }
    if (this.listenerCount('incoming') === 0) {
      stream.reset(RelayResetCode.DENIED, 'this peer does not serve')
      return
    }
    stream.passthrough = true // it carries the client's end-to-end ciphertext
    this.emit('incoming', stream, from)
  }

  #enter(state: RelayClientState, detail: { err?: Error; delayMs?: number; link?: Link }): void {
    this.#state = state
    this.emit('state', state, detail)
  }
}

/** Sends the announce request and waits for the relay's {"ok":true}. */
async function announce(link: Link): Promise<void> {
  const stream = link.openStream(encodeRequest({ op: 'announce' }))
  const reply = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      stream.destroy()
      reject(
        new TunnelError(
          'TUN_ERR_PATH_DOWN',
          `the relay did not answer the announce within ${ANNOUNCE_TIMEOUT_MS} ms`,
        ),
      )
    }, ANNOUNCE_TIMEOUT_MS)
    stream.on('data', (d: Buffer) => chunks.push(d))
    stream.once('end', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
    stream.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    stream.end()
  })
  let ok = false
  try {
    ok = (JSON.parse(reply) as { ok?: unknown }).ok === true
  } catch {
    ok = false
  }
  if (!ok)
    throw new TunnelError('TUN_ERR_UNAUTHORIZED', `the relay refused the announce: ${reply.slice(0, 200)}`)
}

export function isPathError(err: unknown): boolean {
  return isTunnelError(err, 'TUN_ERR_PATH_DOWN', 'TUN_ERR_LINK_CLOSED', 'TUN_ERR_PEER_NOT_FOUND')
}
