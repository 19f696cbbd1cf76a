/**
 * The client side of a tunnel: how to reach one server peer. A SERVER address names the server by
 * its id and lists the ways to it, in order of preference: relayed alternatives
 * (`...~noise:<relay>~tunnel:<server>`, one hop link kept up per relay) and direct ones
 * (`...~noise:<server>`). One end-to-end session (a link to the server) is shared by every
 * tunnelled connection; when it dies, the next connection makes a new one, trying the ways in order.
 *
 *   session(wait) --open session?--> reuse
 *                 --pending?-------> join it
 *                 --else----------> for each way: relay ready? -> connect stream -> Noise (IK) -> session
 *                                   all failed, or `wait` ms passed -> the most telling error
 */
import { EventEmitter } from 'node:events'
import { formatNodeAddresses, parseNodeAddresses } from '../address/node.ts'
import type { NodeAddress } from '../address/types.ts'
import { TunnelError, describeError, isTunnelError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import { dial, linkOver, type Link, type LinkOptions } from '../mux/link.ts'
import { RelayClient, type RelayClientState } from '../relay/client.ts'
import { encodeGrant, identityOf, type ClientToken } from '../token/index.ts'
import { explain } from './codes.ts'
import { streamConn } from './conn.ts'

/** How long a new connection waits for a path to the server peer before it fails. */
export const PATH_WAIT_MS = 10_000

export interface ServerTarget {
  /** The server peer's id. */
  id: string
  /** Relay hops (id = relay, tunnel = server) and direct addresses (id = server), in order. */
  ways: NodeAddress[]
}

/** What a client token gives a client: its identity, the way to the server, the grant to present. */
export interface ClientCredentials {
  identity: Identity
  server: string
  /** The grant, for the end-to-end handshake payload. */
  payload: Uint8Array
  /** The first target the grant allows (used when the client names none); none: the server's default. */
  target: string | undefined
}

/** The credentials a client token carries: the SERVER address is its relays, each with `~tunnel:<server>`. */
export function credentialsOf(token: ClientToken): ClientCredentials {
  const ways = token.grant.relays.flatMap((r) => parseNodeAddresses(r, { skipUnsupported: true }))
  if (ways.length === 0)
    throw new TunnelError(
      'TUN_ERR_TOKEN_INVALID',
      'the client token names no relay to reach its server through',
    )
  return {
    identity: identityOf(token),
    server: formatNodeAddresses(ways.map((w) => ({ ...w, tunnel: token.grant.serverId }))),
    payload: encodeGrant(token.grant),
    target: token.grant.targets[0],
  }
}

/** Reads a SERVER address string: every alternative must lead to the same server id. */
export function parseServerAddress(text: string): ServerTarget {
  const ways = parseNodeAddresses(text, { skipUnsupported: true })
  let id: string | undefined
  for (const way of ways) {
    const server = way.tunnel ?? way.id
    if (server === undefined) {
      throw new TunnelError(
        'TUN_ERR_ADDRESS_SYNTAX',
        'a server address names the server: ...~noise:<relay>~tunnel:<server> or ...~noise:<server>',
      )
    }
    if (id !== undefined && server !== id)
      throw new TunnelError(
        'TUN_ERR_ADDRESS_SYNTAX',
        'the alternatives of a server address name different servers',
      )
    id = server
  }
  if (id === undefined) throw new TunnelError('TUN_ERR_ADDRESS_SYNTAX', 'empty server address')
  return { id, ways }
}

export interface PathEvents {
  relay: [info: { relay: string; state: RelayClientState; err?: Error; delayMs?: number }]
  session: [info: { via: string; pattern: string }]
  'session-end': [info: { err: Error | undefined }]
}

export interface PathOptions {
  /** Options of the end-to-end link (keepalive, handshake payload). */
  link?: LinkOptions
  /** Options of the hop links to relays. */
  relayLink?: LinkOptions
  backoff?: { baseMs?: number; maxMs?: number }
}

export class ServerPath extends EventEmitter<PathEvents> {
  readonly server: ServerTarget
  readonly #identity: Identity
  readonly #options: PathOptions
  readonly #relays: Array<{ way: NodeAddress; client: RelayClient }> = []
  #session: Link | undefined
  #pending: Promise<Link> | undefined
  #closed = false

  constructor(server: ServerTarget, identity: Identity, options: PathOptions = {}) {
    super()
    this.server = server
    this.#identity = identity
    this.#options = options
    for (const way of server.ways) {
      if (way.tunnel === undefined) continue
      const client = new RelayClient(way, identity, { link: options.relayLink, backoff: options.backoff })
      client.on('state', (state, d) =>
        this.emit('relay', { relay: client.relayAddress, state, err: d.err, delayMs: d.delayMs }),
      )
      this.#relays.push({ way, client })
      client.start()
    }
  }

  /** The end-to-end session to the server, made if needed, waiting at most `waitMs`. */
  session(waitMs: number = PATH_WAIT_MS, signal?: AbortSignal): Promise<Link> {
    if (this.#closed) return Promise.reject(new TunnelError('TUN_ERR_LINK_CLOSED', 'the tunnel is closed'))
    if (this.#session && !this.#session.closed) return Promise.resolve(this.#session)
    this.#pending ??= this.#establish(waitMs, signal).finally(() => (this.#pending = undefined))
    return this.#pending
  }

  close(): void {
    this.#closed = true
    for (const { client } of this.#relays) client.close()
    this.#session?.close()
  }

  async #establish(waitMs: number, signal?: AbortSignal): Promise<Link> {
    const deadline = Date.now() + waitMs
    const errors: Error[] = []
    for (const way of this.server.ways) {
      const left = deadline - Date.now()
      if (left <= 0) break
      try {
        const link =
          way.tunnel === undefined ? await this.#direct(way, signal) : await this.#relayed(way, left, signal)
        this.#adopt(link, way)
        return link
      } catch (err) {
        errors.push(explain(err))
        if (isTunnelError(err, 'TUN_ERR_ABORTED')) break
      }
    }
    throw mostTelling(errors, waitMs)
  }

  #direct(way: NodeAddress, signal?: AbortSignal): Promise<Link> {
    return dial(way, this.#identity, { ...this.#options.link, signal })
  }

  async #relayed(way: NodeAddress, waitMs: number, signal?: AbortSignal): Promise<Link> {
    const entry = this.#relays.find((r) => r.way === way)
    if (entry === undefined) throw new TunnelError('TUN_ERR_PATH_DOWN', 'no relay client for this way')
    const hop = await entry.client.ready(waitMs, signal)
    const stream = entry.client.connect(this.server.id)
    stream.on('error', () => {})
    try {
      return await linkOver(streamConn(stream, hop, this.server.id), this.#identity, {
        ...this.#options.link,
        remoteId: this.server.id,
        signal,
      })
    } catch (err) {
      stream.destroy()
      throw explain(err)
    }
  }

  #adopt(link: Link, way: NodeAddress): void {
    this.#session = link
    this.emit('session', { via: way.tunnel === undefined ? 'direct' : 'relay', pattern: 'IK' })
    link.once('close', (err) => {
      if (this.#session === link) this.#session = undefined
      this.emit('session-end', { err: err === undefined ? undefined : explain(err) })
    })
  }
}

/** Of several failures, the one that says most: a refusal or a missing peer beats a dead relay. */
function mostTelling(errors: Error[], waitMs: number): Error {
  const rank = (e: Error): number =>
    isTunnelError(e, 'TUN_ERR_UNAUTHORIZED', 'TUN_ERR_REMOTE_KEY_MISMATCH', 'TUN_ERR_SESSION_LIMIT')
      ? 3
      : isTunnelError(e, 'TUN_ERR_PEER_NOT_FOUND')
        ? 2
        : isTunnelError(e, 'TUN_ERR_PATH_DOWN')
          ? 0
          : 1
  const best = [...errors].sort((a, b) => rank(b) - rank(a))[0]
  if (best === undefined)
    return new TunnelError('TUN_ERR_PATH_DOWN', `no path to the server peer within ${waitMs} ms`)
  if (errors.length === 1) return best
  return new TunnelError(
    isTunnelError(best) ? best.code : 'TUN_ERR_PATH_DOWN',
    `every way failed: ${errors.map(describeError).join('; ')}`,
    { cause: best },
  )
}
