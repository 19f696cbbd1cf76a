/**
 * Links: transport -> secure channel -> multiplexer, the one unit every layer above uses. A link
 * connects two nodes by id, carries many streams and datagrams, and measures its RTT.
 *
 *   dial(address, identity)   tries the address's alternatives in order; IK when the address
 *                             names the node (`~noise:<id>`), XX otherwise
 *   listen(address, identity) accepts links; `authorize` decides who may stay
 *   linkOver(conn, ...)       a link over any Conn (e.g. a stream of another link: the end-to-end
 *                             link between two peers runs over a stream spliced by the relay)
 *
 * Admission: the listener runs `authorize(peer)` after the handshake proved the peer's id. A
 * refused peer gets SETTINGS then GOAWAY(LINK_UNAUTHORIZED, reason) and the close; its dial()
 * rejects with TUN_ERR_UNAUTHORIZED and the reason. dial() resolves only once the listener's
 * first frame (SETTINGS) arrived, so a refusal is a dial error, not a dead link later. With IK that
 * costs no extra round trip (the SETTINGS record travels with the second handshake message).
 */
import { EventEmitter } from 'node:events'
import { describeError, isTunnelError, TunnelError } from '../errors.ts'
import { formatNodeAddress, parseNodeAddresses } from '../address/node.ts'
import type { NodeAddress, TransportAddress } from '../address/types.ts'
import type { Identity } from '../identity/keys.ts'
import { secureInbound, secureOutbound } from '../secure/connect.ts'
import { HandshakeGate } from '../secure/gate.ts'
import type { SecureConn } from '../secure/types.ts'
import { dial as dialTransport, listen as listenTransport } from '../transport/index.ts'
import type { Conn, ConnInfo, DialOptions, Listener, ListenOptions } from '../transport/types.ts'
import { MuxSession } from './session.ts'
import type { MuxStream } from './stream.ts'
import type { MuxOptions, MuxStats } from './types.ts'
import { LINK_BUSY, LINK_UNAUTHORIZED, errorForGoaway } from './codes.ts'
import { encodeGoaway, encodeSettings, PROTOCOL_DEFAULTS } from './wire.ts'

export { LINK_BUSY, LINK_TOKEN, LINK_UNAUTHORIZED, goawayCodeFor } from './codes.ts'
/** A listener holds at most this many links; more are refused with GOAWAY(LINK_BUSY). */
export const MAX_LINKS = 4096

export interface LinkOptions extends Omit<MuxOptions, 'initiator'> {
  /** Handshake payload for the layers above (tokens, capabilities), ≤ 8 KiB. */
  payload?: Uint8Array
  handshakeTimeoutMs?: number
  rekey?: { records?: number; bytes?: number }
  signal?: AbortSignal
}

export interface DialLinkOptions extends LinkOptions {
  /** Transport options: dial timeout per alternative, wss CA. */
  transport?: Omit<DialOptions, 'signal'>
}

export interface PeerInfo {
  readonly id: string
  readonly payload: Uint8Array
  readonly info: ConnInfo
}

/** Why a listener refused a peer: LINK_UNAUTHORIZED, LINK_BUSY, or a code of the layer above. */
export interface Refusal {
  code: number
  reason: string
}

/** true to admit; a string (the reason sent to the peer, as LINK_UNAUTHORIZED) or a Refusal to refuse. */
export type Verdict = true | string | Refusal
export type Authorize = (peer: PeerInfo) => Verdict | Promise<Verdict>

export interface ListenLinkOptions extends LinkOptions {
  authorize?: Authorize
  /** Handshakes in progress at once (default MAX_PENDING_HANDSHAKES). */
  maxPendingHandshakes?: number
  /** Handshakes in progress at once from one source address (default MAX_PENDING_HANDSHAKES_PER_SOURCE). */
  maxPendingHandshakesPerSource?: number
  /** Links held at once (default MAX_LINKS). */
  maxLinks?: number
  transport?: ListenOptions
}

export interface LinkEvents {
  stream: [stream: MuxStream]
  datagram: [channel: number, payload: Uint8Array]
  goaway: [code: number, reason: string]
  close: [err: Error | undefined]
}

export class Link extends EventEmitter<LinkEvents> {
  /** The proven id of the node at the other end. */
  readonly remoteId: string
  /** The payload the remote sent in its handshake. */
  readonly remotePayload: Uint8Array
  readonly info: ConnInfo
  readonly initiator: boolean
  readonly session: MuxSession
  #closed = false

  constructor(secure: SecureConn, session: MuxSession, initiator: boolean) {
    super()
    this.remoteId = secure.remoteId
    this.remotePayload = secure.remotePayload
    this.info = secure.info
    this.initiator = initiator
    this.session = session
    session.on('stream', (s) => this.emit('stream', s))
    session.on('datagram', (c, p) => this.emit('datagram', c, p))
    session.on('goaway', (c, r) => this.emit('goaway', c, r))
    session.once('close', (err) => {
      this.#closed = true
      this.emit('close', err)
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Opens a stream at once; `header` travels in its OPEN frame (≤ 8 KiB). */
  openStream(header: Uint8Array | string = new Uint8Array(0)): MuxStream {
    return this.session.openStream(typeof header === 'string' ? Buffer.from(header) : header)
  }

  /** Sends one unreliable datagram on `channel`; false when it was dropped (counted in stats). */
  sendDatagram(channel: number, payload: Uint8Array): boolean {
    return this.session.sendDatagram(channel, payload)
  }

  /** Smoothed round-trip time in ms (undefined before the first pong). */
  get rtt(): number | undefined {
    return this.session.rtt
  }

  ping(): Promise<number> {
    return this.session.ping()
  }

  get stats(): MuxStats {
    return this.session.stats
  }

  /** No new streams; the link closes when its last stream ends. */
  goaway(code?: number, reason?: string): void {
    this.session.goaway(code, reason)
  }

  /** Closes now; open streams end with `err` (TUN_ERR_LINK_CLOSED by default). Idempotent. */
  close(err?: Error): void {
    this.session.close(err)
  }

  /** Resolves once the link has closed. */
  closedPromise(): Promise<void> {
    return this.#closed ? Promise.resolve() : new Promise((resolve) => this.once('close', () => resolve()))
  }
}

/** Runs the initiator side of a link over an existing Conn. */
export async function linkOver(
  conn: Conn,
  identity: Identity,
  options: LinkOptions & { remoteId?: string } = {},
): Promise<Link> {
  const secure = await secureOutbound(conn, identity, {
    remoteId: options.remoteId,
    payload: options.payload,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    signal: options.signal,
    rekey: options.rekey,
  })
  const session = new MuxSession(secure, { ...muxOptions(options), initiator: true })
  await ready(session, secure, options)
  return new Link(secure, session, true)
}

/** Runs the responder side of a link over an existing Conn; refuses peers `authorize` rejects. */
export async function acceptLinkOver(
  conn: Conn,
  identity: Identity,
  options: ListenLinkOptions & { gate?: HandshakeGate } = {},
): Promise<Link> {
  const secure = await secureInbound(conn, identity, {
    payload: options.payload,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    signal: options.signal,
    rekey: options.rekey,
    gate: options.gate,
  })
  if (options.authorize) {
    let verdict: Verdict
    try {
      verdict = await options.authorize({
        id: secure.remoteId,
        payload: secure.remotePayload,
        info: secure.info,
      })
    } catch (err) {
      verdict = `admission failed: ${describeError(err)}`
    }
    if (verdict !== true) {
      const { code, reason } =
        typeof verdict === 'string' ? { code: LINK_UNAUTHORIZED, reason: verdict } : verdict
      refuse(secure, code, reason)
      throw errorForRefusal(code, `refused ${secure.remoteId}: ${reason}`)
    }
  }
  return new Link(secure, new MuxSession(secure, { ...muxOptions(options), initiator: false }), false)
}

/** Sends SETTINGS + GOAWAY(code, reason) on a secure conn that gets no session, then ends it. */
export function refuse(secure: SecureConn, code: number, reason: string): void {
  secure.on('error', () => {})
  secure.resume()
  secure.end(Buffer.concat([encodeSettings(PROTOCOL_DEFAULTS), encodeGoaway(code, reason)]))
  setTimeout(() => secure.destroy(), 2000).unref()
}

/** Waits for the remote's first frame: SETTINGS means admitted, GOAWAY means refused. */
function ready(session: MuxSession, secure: SecureConn, options: LinkOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      session.off('settings', onSettings)
      session.off('goaway', onGoaway)
      session.off('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const fail = (err: TunnelError) => {
      if (settled) return
      settled = true
      cleanup()
      session.close(err)
      reject(err)
    }
    // A refusal is SETTINGS + GOAWAY in one record, decoded in one tick: settle on the next tick,
    // by which time a GOAWAY that came with the SETTINGS has been seen.
    let settled = false
    const onSettings = () =>
      process.nextTick(() => {
        if (settled) return
        settled = true
        cleanup()
        resolve()
      })
    const onGoaway = (code: number, reason: string) =>
      fail(errorForRefusal(code, `${secure.remoteId} refused this node: ${reason}`))
    const onClose = (err: Error | undefined) => {
      if (settled) return
      settled = true
      cleanup()
      reject(
        isTunnelError(err)
          ? err
          : new TunnelError('TUN_ERR_LINK_CLOSED', 'the link closed before it was ready', { cause: err }),
      )
    }
    const onAbort = () => fail(new TunnelError('TUN_ERR_ABORTED', 'dial aborted'))
    session.once('settings', onSettings)
    session.on('goaway', onGoaway)
    session.once('close', onClose)
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The local error for a listener's refusal code (the same table as any GOAWAY: mux/codes.ts). */
export function errorForRefusal(code: number, message: string): TunnelError {
  const known = errorForGoaway(code, '')
  return new TunnelError(
    known?.code === 'TUN_ERR_LINK_CLOSED' || known === undefined ? 'TUN_ERR_GOAWAY' : known.code,
    message,
    {
      wireCode: code,
    },
  )
}

function muxOptions(o: LinkOptions): Omit<MuxOptions, 'initiator'> {
  const {
    payload: _p,
    handshakeTimeoutMs: _h,
    rekey: _r,
    signal: _s,
    ...mux
  } = o as LinkOptions & Record<string, unknown>
  for (const key of [
    'transport',
    'authorize',
    'maxPendingHandshakes',
    'maxPendingHandshakesPerSource',
    'maxLinks',
    'remoteId',
    'gate',
  ])
    delete (mux as Record<string, unknown>)[key]
  return mux
}

/**
 * Dials a node: each alternative of the address in order (the first that completes wins). Errors
 * from every attempt are kept; the one thrown is the most specific (a key mismatch or refusal
 * beats a refused TCP connect), with the others as its cause.
 */
export async function dial(
  address: string | NodeAddress | readonly NodeAddress[],
  identity: Identity,
  options: DialLinkOptions = {},
): Promise<Link> {
  const alternatives =
    typeof address === 'string'
      ? parseNodeAddresses(address, { skipUnsupported: true })
      : Array.isArray(address)
        ? address
        : [address as NodeAddress]
  const errors: Error[] = []
  for (const alt of alternatives) {
    if (options.signal?.aborted) throw new TunnelError('TUN_ERR_ABORTED', 'dial aborted')
    let conn: Conn | undefined
    try {
      conn = await dialTransport(alt.transport, { ...options.transport, signal: options.signal })
      return await linkOver(conn, identity, { ...options, remoteId: alt.id })
    } catch (err) {
      conn?.destroy()
      errors.push(err as Error)
      // A refusal or a wrong key is an answer from the right place: other alternatives reach the same node.
      if (isTunnelError(err, 'TUN_ERR_UNAUTHORIZED', 'TUN_ERR_REMOTE_KEY_MISMATCH', 'TUN_ERR_ABORTED'))
        throw err
    }
  }
  if (errors.length === 0)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'the address has no alternative to dial')
  const first = errors[0] as Error
  if (errors.length === 1) throw first
  throw new TunnelError(
    isTunnelError(first) ? first.code : 'TUN_ERR_TRANSPORT',
    `every alternative failed: ${errors.map(describeError).join('; ')}`,
    {
      cause: new AggregateError(errors),
    },
  )
}

export interface LinkListenerEvents {
  link: [link: Link]
  /** A connection that did not become a link (bad handshake, refused peer). Never fatal. */
  refused: [err: Error, info: ConnInfo]
}

export class LinkListener extends EventEmitter<LinkListenerEvents> {
  readonly id: string
  readonly links = new Set<Link>()
  #listener!: Listener
  #closed = false

  constructor(identity: Identity) {
    super()
    this.id = identity.id
  }

  /** @internal The transport listener, bound once by listen(). */
  bind(listener: Listener): void {
    this.#listener = listener
  }

  /** The bound transport address (real port). */
  get transportAddress(): TransportAddress {
    return this.#listener.address
  }

  /** The node address to give to dialers: the bound transport with `~noise:<id>`. */
  get address(): NodeAddress {
    return { transport: this.#listener.address, id: this.id }
  }

  override toString(): string {
    return formatNodeAddress(this.address)
  }

  /** Stops accepting; with `links` (default true) also closes every link it accepted. */
  async close(options: { links?: boolean } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#listener.close()
    if (options.links !== false) for (const link of this.links) link.close()
  }

  /** @internal */
  adopt(link: Link): void {
    this.links.add(link)
    link.once('close', () => this.links.delete(link))
    this.emit('link', link)
  }
}

/** Listens for links on one transport address. */
export async function listen(
  address: string | NodeAddress | TransportAddress,
  identity: Identity,
  options: ListenLinkOptions = {},
): Promise<LinkListener> {
  const transportAddress = toTransportAddress(address)
  const gate = new HandshakeGate(options.maxPendingHandshakes, options.maxPendingHandshakesPerSource)
  const maxLinks = options.maxLinks ?? MAX_LINKS
  const self = new LinkListener(identity)
  // The link limit is checked at admission, before a session exists: a refused dialer gets
  // GOAWAY(LINK_BUSY) from dial(), not a link that dies after it was handed out.
  const authorize: Authorize = async (peer) => {
    if (self.links.size >= maxLinks)
      return { code: LINK_BUSY, reason: `this node holds its maximum of ${maxLinks} links` }
    return options.authorize ? options.authorize(peer) : true
  }
  const onConn = (conn: Conn) => {
    acceptLinkOver(conn, identity, { ...options, authorize, gate }).then(
      (link) => self.adopt(link),
      (err: Error) => self.emit('refused', err, conn.info),
    )
  }
  self.bind(await listenTransport(transportAddress, onConn, options.transport))
  return self
}

function toTransportAddress(address: string | NodeAddress | TransportAddress): TransportAddress {
  if (typeof address === 'string') {
    const [first] = parseNodeAddresses(address)
    if (first === undefined) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'empty listen address')
    return first.transport
  }
  return 'transport' in address ? address.transport : address
}
