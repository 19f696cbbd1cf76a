/**
 * One public TCP listener on the relay, for visitors that run no burrow: plain TCP, or TLS
 * terminated here with the relay's certificate. It knows nothing of peers or streams: each accepted
 * visitor goes to `onVisitor` with its address, and the caller decides where its bytes go (an
 * exposure splices it to a stream on the exposing peer's hop link; the W3P compatibility layer
 * reuses the same listener). Reusable on purpose: no import from the relay protocol.
 *
 *   listening ──close()──> closing ──every socket gone──> closed
 *
 * Bounds: visitors at once (`maxVisitors`, enforced by the kernel-facing `maxConnections`, so an
 * extra visitor is closed at accept and never costs a stream), and the TLS handshake time
 * ({@link PUBLIC_TLS_HANDSHAKE_TIMEOUT_MS}), so a visitor that opens a connection and says nothing
 * cannot hold a slot for Node's default two minutes.
 */
import net from 'node:net'
import tls from 'node:tls'
import { TunnelError } from '../errors.ts'
import { formatIp, parseIpRaw, unmap } from '../policy/ip.ts'

/** Visitors one public port holds at once (each is one spliced stream). */
export const PUBLIC_PORT_MAX_VISITORS = 1024
/** How long a visitor has to finish its TLS handshake on a TLS public port. */
export const PUBLIC_TLS_HANDSHAKE_TIMEOUT_MS = 10_000

export type PublicPortState = 'listening' | 'closing' | 'closed'

export interface PublicPortOptions {
  /** Address to bind, e.g. 0.0.0.0, ::, 127.0.0.1. */
  host: string
  /** Port to bind (1-65535; 0 lets the kernel pick, for tests and tools). */
  port: number
  /** Terminate TLS with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer }
  /** Default {@link PUBLIC_PORT_MAX_VISITORS}. */
  maxVisitors?: number
  tlsHandshakeTimeoutMs?: number
  /** A visitor connected (after its TLS handshake, on a TLS port). `from` is `ip:port`. */
  onVisitor(socket: net.Socket, from: string): void
}

export class PublicPort {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  #state: PublicPortState = 'listening'
  readonly #server: net.Server
  /** Every accepted socket, TLS handshakes in progress included. */
  readonly #sockets = new Set<net.Socket>()
  #tlsFailures = 0

  constructor(server: net.Server, host: string, port: number, isTls: boolean) {
    this.#server = server
    this.host = host
    this.port = port
    this.tls = isTls
    server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      socket.on('error', () => {})
    })
  }

  get state(): PublicPortState {
    return this.#state
  }

  /** Sockets open now (visitors, and TLS handshakes in progress). */
  get connections(): number {
    return this.#sockets.size
  }

  /** TLS handshakes that failed or timed out since start. */
  get tlsFailures(): number {
    return this.#tlsFailures
  }

  /** @internal */
  countTlsFailure(): void {
    this.#tlsFailures++
  }

  /** Stops listening and destroys every visitor connection; resolves once the port is free. */
  close(): Promise<void> {
    if (this.#state !== 'listening') return this.#closed()
    this.#state = 'closing'
    const done = this.#closed()
    this.#server.close()
    for (const s of this.#sockets) s.destroy()
    return done
  }

  #closed(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve()
    return new Promise((resolve) =>
      this.#server.once('close', () => {
        this.#state = 'closed'
        resolve()
      }),
    )
  }
}

/**
 * Binds a public port. A port already bound on this host (by anything) is
 * TUN_ERR_PORT_UNAVAILABLE, as is one the relay may not bind (privileged).
 */
export async function openPublicPort(options: PublicPortOptions): Promise<PublicPort> {
  const maxVisitors = options.maxVisitors ?? PUBLIC_PORT_MAX_VISITORS
  const server = options.tls
    ? tls.createServer({
        cert: options.tls.cert,
        key: options.tls.key,
        allowHalfOpen: true,
        handshakeTimeout: options.tlsHandshakeTimeoutMs ?? PUBLIC_TLS_HANDSHAKE_TIMEOUT_MS,
      })
    : net.createServer({ allowHalfOpen: true, noDelay: true })
  server.maxConnections = maxVisitors
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(options.port, err)))
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => resolve())
  })
  server.on('error', () => {}) // after listening: accept errors (EMFILE) are survivable
  const bound = server.address() as net.AddressInfo
  const port = new PublicPort(server, options.host, bound.port, options.tls !== undefined)
  const accept = (socket: net.Socket): void => {
    if (socket.remoteAddress === undefined || socket.remotePort === undefined) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    options.onVisitor(socket, formatEndpoint(socket.remoteAddress, socket.remotePort))
  }
  if (options.tls) {
    server.on('secureConnection', accept)
    server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => {
      port.countTlsFailure()
      socket.destroy()
    })
  } else {
    server.on('connection', accept)
  }
  return port
}

/** `ip:port`, with IPv6 in brackets and IPv4-mapped IPv6 written as IPv4 (the visitor's address). */
export function formatEndpoint(address: string, port: number): string {
  const ip = parseIpRaw(address)
  const text = ip === undefined ? address : formatIp(unmap(ip))
  return text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`
}

function bindError(port: number, err: NodeJS.ErrnoException): TunnelError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new TunnelError('TUN_ERR_PORT_UNAVAILABLE', `port ${port} is in use on the relay's host`, {
        cause: err,
      })
    case 'EACCES':
      return new TunnelError('TUN_ERR_PORT_UNAVAILABLE', `the relay may not bind port ${port} (privileged)`, {
        cause: err,
      })
    default:
      return new TunnelError('TUN_ERR_PORT_UNAVAILABLE', `cannot bind port ${port}: ${err.message}`, {
        cause: err,
      })
  }
}
