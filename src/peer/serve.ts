/**
 * The server peer: announces itself to one or more relays (several for redundancy), accepts
 * end-to-end links from clients through them, and for each stream dials the requested target if
 * the policy allows it.
 *
 * Policy: which clients (their ids, or any with allowAnyClient), which targets (a TargetPolicy:
 * an empty one allows nothing; a host name is resolved once and the address that was checked is
 * the one dialed), how many sessions in all and streams per client. Clients removed from the allow
 * list lose their sessions at once; the others keep theirs.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { formatNodeAddresses, parseNodeAddresses } from '../address/node.ts'
import type { NodeAddress } from '../address/types.ts'
import { TunnelError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import {
  LINK_BUSY,
  LINK_UNAUTHORIZED,
  acceptLinkOver,
  goawayCodeFor,
  type Link,
  type LinkOptions,
} from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import { resolveTarget, parseTargetUrl } from '../policy/resolve.ts'
import type { TargetPolicy } from '../policy/targets.ts'
import { RelayClient, type RelayClientState } from '../relay/client.ts'
import { grantAllowsTarget, identityOf, verifyGrant, type Grant, type ServerToken } from '../token/index.ts'
import { resetCodeFor } from './codes.ts'
import { streamConn } from './conn.ts'
import { StreamResetCode, decodeOpen } from './wire.ts'

/** End-to-end sessions (client links) a server peer holds at once. */
export const MAX_SESSIONS = 64
/** Streams one client may have open at once, over all its sessions. */
export const MAX_STREAMS_PER_CLIENT = 256
/** How long the server peer waits for a target to accept a connection. */
export const TARGET_CONNECT_TIMEOUT_MS = 10_000

/** The allowed clients: a fixed set or a reloadable list (policy/clients.ts). */
export interface ClientPolicy {
  has(id: string): boolean
  on?(event: 'change', listener: (change: { added: string[]; removed: string[] }) => void): unknown
  off?(event: 'change', listener: (change: { added: string[]; removed: string[] }) => void): unknown
}

/** Revoked token ids / client ids (a watched revocation file). */
export interface Revocations {
  isRevoked(grant: Grant): boolean
  on?(event: 'change', listener: () => void): unknown
  off?(event: 'change', listener: () => void): unknown
}

export interface ServeOptions {
  /** The server's identity; with `token`, the token's identity is used instead. */
  identity?: Identity
  /**
   * A server token: it gives the identity and relays, and makes the server accept client tokens
   * minted from it (grants in the handshake), checked at every handshake and for every stream.
   */
  token?: ServerToken
  /** Accept client tokens (grants) issued by this server's key. Implied by `token`. */
  acceptTokens?: boolean
  revocations?: Revocations
  /** Relay addresses (each naming its relay: `~noise:<relay id>`); added to the token's. */
  relays?: Array<string | NodeAddress>
  /** Who may connect. Required unless allowAnyClient. */
  clients?: ClientPolicy
  /** Accept any client (each still proves its id); the targets policy still applies. */
  allowAnyClient?: boolean
  /** Which TCP targets clients may reach. Empty allows nothing. */
  tcp: TargetPolicy
  /** The target of streams that name none (serve --expose-tcp). */
  defaultTarget?: string
  maxSessions?: number
  maxStreamsPerClient?: number
  targetConnectTimeoutMs?: number
  /** End-to-end link options (keepalive...). */
  link?: LinkOptions
  /** Hop link options (keepalive...). */
  relayLink?: LinkOptions
  backoff?: { baseMs?: number; maxMs?: number }
  /** Resolver for target host names (tests inject one). */
  lookup?: (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>
  /** Clock, ms (tests inject one). */
  now?: () => number
}

export interface ServeEvents {
  relay: [info: { relay: string; state: RelayClientState; err?: Error; delayMs?: number }]
  session: [info: { client: string; via: string }]
  'session-end': [info: { client: string; err: Error | undefined }]
  refused: [info: { client?: string; err: Error }]
  stream: [info: { client: string; target: string }]
  'stream-end': [info: { client: string; target: string; bytesIn: number; bytesOut: number; err?: Error }]
}

interface Session {
  readonly client: string
  readonly link: Link
  /** The client token's grant this session was admitted with, if any. */
  readonly grant: Grant | undefined
}

/** setTimeout's ceiling: a later expiry is reached in steps. */
const MAX_TIMER_MS = 0x7fff_ffff

export class Server extends EventEmitter<ServeEvents> {
  readonly id: string
  readonly relays: RelayClient[] = []
  readonly sessions = new Set<Session>()
  readonly #options: ServeOptions
  readonly #streamsPerClient = new Map<string, number>()
  readonly #onClientsChange = (change: { removed: string[] }) => this.#dropClients(change.removed)
  readonly #onRevocationsChange = () => this.#dropRevoked()
  readonly #identity: Identity
  readonly #acceptTokens: boolean
  readonly #now: () => number
  #closed = false

  constructor(options: ServeOptions) {
    super()
    const identity = options.token ? identityOf(options.token) : options.identity
    if (identity === undefined)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'serve needs an identity or a server token')
    this.#acceptTokens = options.acceptTokens ?? options.token !== undefined
    if (!options.allowAnyClient && options.clients === undefined && !this.#acceptTokens) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        'say which clients may connect (allowed client ids or client tokens), or allow any client explicitly',
      )
    }
    this.#identity = identity
    this.#now = options.now ?? Date.now
    this.id = identity.id
    this.#options = options
    options.clients?.on?.('change', this.#onClientsChange)
    options.revocations?.on?.('change', this.#onRevocationsChange)
    for (const relay of [...(options.token?.relays ?? []), ...(options.relays ?? [])]) {
      for (const way of typeof relay === 'string' ? parseNodeAddresses(relay) : [relay]) {
        const client = new RelayClient(way, identity, {
          announce: true,
          link: options.relayLink,
          backoff: options.backoff,
        })
        client.on('state', (state, d) =>
          this.emit('relay', { relay: client.relayAddress, state, err: d.err, delayMs: d.delayMs }),
        )
        client.on('incoming', (stream, from) => this.#onIncoming(client, stream, from))
        this.relays.push(client)
      }
    }
    if (this.relays.length === 0)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'serve needs at least one relay address')
  }

  /** The SERVER address for clients: every relay, each leading to this peer. */
  get address(): string {
    return formatNodeAddresses(this.relays.map((r) => ({ ...r.relay, tunnel: this.id })))
  }

  start(): void {
    for (const r of this.relays) r.start()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#options.clients?.off?.('change', this.#onClientsChange)
    this.#options.revocations?.off?.('change', this.#onRevocationsChange)
    for (const r of this.relays) r.close()
    for (const s of this.sessions) s.link.close()
  }

  #onIncoming(relay: RelayClient, stream: MuxStream, from: string): void {
    const hop = relay.link
    if (hop === undefined || this.#closed) {
      stream.destroy()
      return
    }
    acceptLinkOver(streamConn(stream, hop, from), this.#identity, {
      ...this.#options.link,
      authorize: (peer) => this.#admit(peer.id, peer.payload),
    }).then(
      (link) => this.#adopt(link, relay.relayAddress),
      // The stream is left to the handshake: a refusal is flushed to the client, then closed.
      (err: Error) => this.emit('refused', { client: from, err }),
    )
  }

  #admit(client: string, payload: Uint8Array): true | { code: number; reason: string } {
    const o = this.#options
    if (this.#acceptTokens && payload.length > 0) {
      try {
        this.#verify(client, payload)
      } catch (err) {
        return { code: goawayCodeFor(err as Error), reason: (err as Error).message }
      }
    } else if (!o.allowAnyClient && !o.clients?.has(client)) {
      return { code: LINK_UNAUTHORIZED, reason: `client ${client} is not allowed here` }
    }
    const max = o.maxSessions ?? MAX_SESSIONS
    if (this.sessions.size >= max)
      return { code: LINK_BUSY, reason: `this server peer holds its maximum of ${max} sessions` }
    return true
  }

  /** Checks a client token's grant: issued by this server to this client, in time, not revoked. */
  #verify(client: string, payload: Uint8Array): Grant {
    const revocations = this.#options.revocations
    return verifyGrant(payload, {
      serverId: this.id,
      clientId: client,
      now: this.#now(),
      isRevoked: revocations ? (g) => revocations.isRevoked(g) : undefined,
    })
  }

  #adopt(link: Link, via: string): void {
    // Admission verified the grant on this very payload; reading it again gives the session its grant.
    const grant =
      this.#acceptTokens && link.remotePayload.length > 0
        ? this.#verify(link.remoteId, link.remotePayload)
        : undefined
    const session: Session = { client: link.remoteId, link, grant }
    this.sessions.add(session)
    this.emit('session', { client: session.client, via })
    link.on('stream', (stream) => this.#onStream(session, stream))
    let timer: NodeJS.Timeout | undefined
    const expireAt = (at: number) => {
      timer = setTimeout(
        () => {
          if (this.#now() < at) return expireAt(at)
          link.close(new TunnelError('TUN_ERR_TOKEN_EXPIRED', `the client token ${grant?.tokenId} expired`))
        },
        Math.min(MAX_TIMER_MS, Math.max(0, at - this.#now())),
      )
    }
    if (grant) expireAt(grant.expiresAt * 1000)
    link.once('close', (err) => {
      clearTimeout(timer)
      this.sessions.delete(session)
      this.emit('session-end', { client: session.client, err })
    })
  }

  #dropRevoked(): void {
    const revocations = this.#options.revocations
    if (!revocations) return
    for (const s of this.sessions) {
      if (s.grant && revocations.isRevoked(s.grant)) {
        s.link.close(
          new TunnelError('TUN_ERR_TOKEN_REVOKED', `the client token ${s.grant.tokenId} was revoked`),
        )
      }
    }
  }

  #dropClients(removed: string[]): void {
    const gone = new Set(removed)
    for (const s of this.sessions) {
      if (!gone.has(s.client)) continue
      // One GOAWAY, LINK_UNAUTHORIZED with this reason: the client reports TUN_ERR_UNAUTHORIZED.
      s.link.close(new TunnelError('TUN_ERR_UNAUTHORIZED', 'this client was removed from the allow list'))
    }
  }

  #onStream(session: Session, stream: MuxStream): void {
    stream.on('error', () => {})
    const o = this.#options
    const count = this.#streamsPerClient.get(session.client) ?? 0
    const max = o.maxStreamsPerClient ?? MAX_STREAMS_PER_CLIENT
    if (count >= max) {
      stream.reset(StreamResetCode.STREAM_LIMIT, `at most ${max} streams per client`)
      return
    }
    this.#streamsPerClient.set(session.client, count + 1)
    stream.once('close', () => {
      const n = (this.#streamsPerClient.get(session.client) ?? 1) - 1
      if (n <= 0) this.#streamsPerClient.delete(session.client)
      else this.#streamsPerClient.set(session.client, n)
    })
    let target: string
    try {
      const request = decodeOpen(stream.header)
      target = request.target ?? o.defaultTarget ?? ''
      if (target === '')
        throw new TunnelError(
          'TUN_ERR_BAD_REQUEST',
          'no target given and this server peer has no default target',
        )
      // A client token narrows the server's policy to the targets it lists (or the default).
      if (session.grant && !grantAllowsTarget(session.grant, request.target, o.defaultTarget)) {
        throw new TunnelError('TUN_ERR_TARGET_DENIED', `your client token does not allow ${target}`)
      }
    } catch (err) {
      stream.reset(resetCodeFor(err), reasonOf(err))
      return
    }
    this.emit('stream', { client: session.client, target })
    void this.#dial(target, stream).then(
      (socket) => this.#splice(session.client, target, stream, socket),
      (err: Error) => {
        stream.reset(resetCodeFor(err), reasonOf(err))
        this.emit('stream-end', { client: session.client, target, bytesIn: 0, bytesOut: 0, err })
      },
    )
  }

  async #dial(target: string, stream: MuxStream): Promise<net.Socket> {
    const url = parseTargetUrl(target)
    if (url.protocol !== 'tcp')
      throw new TunnelError('TUN_ERR_BAD_REQUEST', `${url.protocol} targets are not served over a stream`)
    const resolved = await resolveTarget({ host: url.host, port: url.port }, this.#options.tcp, {
      lookup: this.#options.lookup,
    })
    if (stream.destroyed) throw new TunnelError('TUN_ERR_ABORTED', 'the client closed the stream')
    const timeoutMs = this.#options.targetConnectTimeoutMs ?? TARGET_CONNECT_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: resolved.address,
        port: resolved.port,
        allowHalfOpen: true,
        noDelay: true,
        timeout: timeoutMs,
      })
      const fail = (err: Error) => {
        socket.destroy()
        const code = (err as NodeJS.ErrnoException).code
        reject(
          code === 'ECONNREFUSED'
            ? new TunnelError('TUN_ERR_TARGET_REFUSED', `${target} refused the connection`, { cause: err })
            : new TunnelError('TUN_ERR_TARGET_UNREACHABLE', `${target} is unreachable: ${err.message}`, {
                cause: err,
              }),
        )
      }
      socket.once('error', fail)
      socket.once('timeout', () => fail(new Error(`no answer within ${timeoutMs} ms`)))
      socket.once('connect', () => {
        socket.off('error', fail)
        socket.setTimeout(0)
        resolve(socket)
      })
    })
  }

  #splice(client: string, target: string, stream: MuxStream, socket: net.Socket): void {
    let bytesIn = 0
    let bytesOut = 0
    stream.on('data', (d: Buffer) => (bytesOut += d.length))
    socket.on('data', (d: Buffer) => (bytesIn += d.length))
    stream.pipe(socket)
    socket.pipe(stream)
    let failure: Error | undefined
    socket.on('error', (err) => {
      failure = err
      stream.reset(StreamResetCode.TARGET_RESET, `the target connection failed: ${err.message}`)
    })
    stream.on('error', (err) => {
      failure ??= err
      socket.destroy()
    })
    socket.once('close', () => {
      if (!stream.destroyed && !socket.readableEnded)
        stream.reset(StreamResetCode.TARGET_RESET, 'the target closed the connection abruptly')
    })
    stream.once('close', () => {
      if (!socket.destroyed && !stream.readableEnded) socket.destroy()
      this.emit('stream-end', { client, target, bytesIn, bytesOut, err: failure })
    })
  }
}

/** The text sent to the client with a reset: the message only (the code travels as the number). */
function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Starts serving: relays are dialed and announced in the background (see the 'relay' events). */
export function serve(options: ServeOptions): Server {
  const server = new Server(options)
  server.start()
  return server
}
