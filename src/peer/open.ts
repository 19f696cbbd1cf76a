/**
 * The client peer's local listener: each accepted connection becomes one stream to the server peer,
 * with the target in its open header. The listener stays up whatever happens to the path; a
 * connection made while the path is down waits for it (at most pathWaitMs), then fails with the
 * reason (the local socket is reset and a 'connection-end' event carries the coded error).
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { parseNodeAddresses } from '../address/node.ts'
import { TunnelError } from '../errors.ts'
import type { Identity } from '../identity/keys.ts'
import type { LinkOptions } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import { explain } from './codes.ts'
import { PATH_WAIT_MS, ServerPath, credentialsOf, parseServerAddress, type PathEvents } from './paths.ts'
import type { ClientToken } from '../token/index.ts'
import { encodeOpen } from './wire.ts'

/** Local connections a tunnel holds at once; more are refused at accept. */
export const MAX_LOCAL_CONNECTIONS = 1024

export interface OpenOptions {
  /** The client's identity (or give `token`). */
  identity?: Identity
  /** The SERVER address: relay hop(s) `~noise:<relay>~tunnel:<server>` and/or direct `~noise:<server>` (or give `token`). */
  server?: string
  /** A client token: gives the identity, the server address and the grant presented at the handshake. */
  token?: ClientToken
  /** `tcp://host:port` at the server peer; absent: the server's default target. */
  target?: string
  /** Where to listen locally, e.g. `127.0.0.1:2222` or `tcp:127.0.0.1:2222` (port 0: any). */
  listen: string
  pathWaitMs?: number
  maxConnections?: number
  link?: LinkOptions
  relayLink?: LinkOptions
  backoff?: { baseMs?: number; maxMs?: number }
}

export interface TunnelEvents extends PathEvents {
  connection: [info: { id: number; from: string }]
  'connection-end': [info: { id: number; bytesIn: number; bytesOut: number; err?: Error }]
}

export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly path: ServerPath
  readonly #server: net.Server
  readonly #options: OpenOptions
  readonly #sockets = new Set<net.Socket>()
  /** This client's id (the identity given, or the client token's). */
  readonly id: string
  /** The target each connection asks for (undefined: the server's default). */
  readonly target: string | undefined
  #next = 1

  constructor(options: OpenOptions, server: net.Server) {
    super()
    this.#options = options
    this.#server = server
    const c = clientCredentials(options)
    this.id = c.identity.id
    this.target = options.target ?? c.target
    this.path = new ServerPath(parseServerAddress(c.server), c.identity, {
      link: { ...options.link, payload: c.payload ?? options.link?.payload },
      relayLink: options.relayLink,
      backoff: options.backoff,
    })
    this.path.on('relay', (i) => this.emit('relay', i))
    this.path.on('session', (i) => this.emit('session', i))
    this.path.on('session-end', (i) => this.emit('session-end', i))
    server.on('connection', (socket) => this.#onConnection(socket))
  }

  /** The local address connections are accepted on. */
  get localAddress(): { host: string; port: number } {
    const a = this.#server.address() as net.AddressInfo
    return { host: a.address, port: a.port }
  }

  async close(): Promise<void> {
    this.path.close()
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #onConnection(socket: net.Socket): void {
    const id = this.#next++
    this.#sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('error', () => {})
    this.emit('connection', { id, from: `${socket.remoteAddress}:${socket.remotePort}` })
    let bytesIn = 0
    let bytesOut = 0
    let failure: Error | undefined
    socket.once('close', () => {
      this.#sockets.delete(socket)
      this.emit('connection-end', { id, bytesIn, bytesOut, err: failure })
    })
    const o = this.#options
    this.path.session(o.pathWaitMs ?? PATH_WAIT_MS).then(
      (session) => {
        if (socket.destroyed) return
        let stream: MuxStream
        try {
          stream = session.openStream(encodeOpen({ target: this.target }))
        } catch (err) {
          failure = explain(err)
          socket.resetAndDestroy()
          return
        }
        stream.on('data', (d: Buffer) => (bytesIn += d.length))
        socket.on('data', (d: Buffer) => (bytesOut += d.length))
        socket.pipe(stream)
        stream.pipe(socket)
        stream.on('error', (err) => {
          failure = explain(err)
          socket.resetAndDestroy()
        })
        socket.on('error', (err) => {
          failure ??= err
          stream.destroy()
        })
        socket.once('close', () => {
          if (!stream.destroyed && !socket.readableEnded) stream.destroy()
        })
      },
      (err: Error) => {
        failure = explain(err)
        socket.resetAndDestroy()
      },
    )
  }
}

/** Identity, server and grant: from a client token, or given one by one. */
export function clientCredentials(o: { identity?: Identity; server?: string; token?: ClientToken }): {
  identity: Identity
  server: string
  payload?: Uint8Array
  target?: string
} {
  if (o.token !== undefined) return credentialsOf(o.token)
  if (o.identity === undefined || o.server === undefined) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      'give a client token, or an identity and a server address',
    )
  }
  return { identity: o.identity, server: o.server }
}

/** Parses `127.0.0.1:2222`, `[::1]:2222` or `tcp:127.0.0.1:2222` into a host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const address = text.startsWith('tcp:') ? text : `tcp:${text.replace(/^\[(.*)\]:(\d+)$/, '[$1]:$2')}`
  const [first] = parseNodeAddresses(address)
  if (first === undefined || first.transport.kind !== 'tcp')
    throw new TunnelError('TUN_ERR_ADDRESS_SYNTAX', `cannot listen on ${JSON.stringify(text)}: use host:port`)
  return { host: first.transport.host, port: first.transport.port }
}

/** Opens the local listener; the path to the server comes up in the background. */
export async function open(options: OpenOptions): Promise<Tunnel> {
  const { host, port } = parseListen(options.listen)
  const server = net.createServer({ allowHalfOpen: true, noDelay: true })
  server.maxConnections = options.maxConnections ?? MAX_LOCAL_CONNECTIONS
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new TunnelError('TUN_ERR_ADDRESS_IN_USE', `${host}:${port} is already in use`, { cause: err })
          : new TunnelError('TUN_ERR_TRANSPORT', `cannot listen on ${host}:${port}: ${err.message}`, {
              cause: err,
            }),
      ),
    )
    server.listen(port, host, () => resolve())
  })
  return new Tunnel(options, server)
}
