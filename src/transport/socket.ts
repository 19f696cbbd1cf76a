/**
 * What tcp and unix share: both are `net` sockets, and for both the Conn is the net.Socket itself,
 * with `info` attached, so the data path has no wrapper at all.
 *
 * Errors on an open Conn: the socket's instance `destroy` is replaced (once, off the data path) so
 * that system errors (ECONNRESET, EPIPE, ...) reach 'error' listeners as TunnelErrors, like the ws
 * transport's errors do. Errors a caller passes to destroy(err) itself pass through unchanged.
 */
import net from 'node:net'
import { debuglog } from 'node:util'
import { TunnelError } from '../errors.ts'
import { MAX_CONNECTIONS } from './constants.ts'
import { armDial } from './dial.ts'
import { hostPort, isSystemError, transportError } from './errors.ts'
import type { Conn, ConnInfo, DialOptions, ListenOptions, TransportKind } from './types.ts'

const debug = debuglog('burrow')

/** Makes a connected socket a Conn: TCP_NODELAY on, `info` attached, system errors mapped. */
export function adoptSocket(socket: net.Socket, info: ConnInfo): Conn {
  // Small writes (request/response, handshakes) must not wait for Nagle's 40 ms ACK delay.
  if (info.transport === 'tcp') socket.setNoDelay(true)
  Object.defineProperty(socket, 'info', { value: info, enumerable: true })
  const context = {
    op: 'io',
    kind: info.transport,
    where: `${info.transport} connection ${info.local} -> ${info.remote}`,
  } as const
  const destroy = socket.destroy as (this: net.Socket, ...args: unknown[]) => net.Socket
  socket.destroy = function (this: net.Socket, err?: Error, ...rest: unknown[]) {
    return destroy.call(this, err != null && isSystemError(err) ? transportError(err, context) : err, ...rest)
  }
  return socket as unknown as Conn
}

/**
 * Opens a socket with `net.connect(connect)` under the dial deadline and signal. `where` names the
 * target in messages (`tcp 127.0.0.1:7000`); `infoOf` describes the connected socket.
 */
export function dialSocket(
  kind: TransportKind,
  where: string,
  connect: net.NetConnectOpts,
  options: DialOptions,
  infoOf: (socket: net.Socket) => ConnInfo,
): Promise<Conn> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the Conn contract says the remote's end() leaves our writable side open.
    const socket = net.connect({ ...connect, allowHalfOpen: true })
    const fail = (err: TunnelError) => {
      disarm()
      socket.destroy()
      reject(err)
    }
    const disarm = armDial(`connect to ${where}`, options, fail)
    const onError = (err: Error) => fail(transportError(err, { op: 'connect', kind, where }))
    socket.on('error', onError)
    socket.once('connect', () => {
      disarm()
      socket.off('error', onError)
      resolve(adoptSocket(socket, infoOf(socket)))
    })
  })
}

/** Checks ListenOptions.maxConnections, returning the effective bound. */
export function maxConnections(options: ListenOptions): number {
  const max = options.maxConnections ?? MAX_CONNECTIONS
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `maxConnections must be a positive integer, got ${max}`)
  }
  return max
}

/**
 * Creates a `net` server and binds it. Resolves once listening; rejects with a mapped error
 * (TUN_ERR_ADDRESS_IN_USE, ...) if binding fails, leaving nothing open.
 */
export async function listenSocket(
  kind: TransportKind,
  where: string,
  bind: net.ListenOptions,
  onConn: (conn: Conn) => void,
  options: ListenOptions,
  infoOf: (socket: net.Socket) => ConnInfo,
): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true })
  server.maxConnections = maxConnections(options)
  server.on('connection', (socket: net.Socket) => onConn(adoptSocket(socket, infoOf(socket))))
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(transportError(err, { op: 'listen', kind, where }))
    server.once('error', onError)
    server.listen(bind, () => {
      server.off('error', onError)
      resolve()
    })
  })
  // After binding, errors come from accept() (EMFILE, ...): the server keeps listening.
  server.on('error', (err) => debug('%s listener: %s', where, err.message))
  server.on('drop', (d) =>
    debug('%s listener: dropped %s (maxConnections %d)', where, d?.remoteAddress, server.maxConnections),
  )
  return server
}

/**
 * Stops accepting. The listening socket is closed when this returns (libuv closes the fd inside
 * uv_close); server.close()'s own callback would wait for every open Conn, which Listener.close()
 * promises not to touch, so it is not awaited. Idempotent.
 */
export function closeServer(server: net.Server): void {
  if (server.listening) server.close()
}

/** `host:port` of a socket end, IPv6 in brackets; `?` once the socket is gone. */
export function endpoint(address: string | undefined, port: number | undefined): string {
  return address === undefined || port === undefined ? '?' : hostPort(address, port)
}
