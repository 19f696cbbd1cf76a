/**
 * The ws and wss transports: a WebSocket (`ws` package, masking by `bufferutil`) per Conn, so burrow
 * passes through HTTP proxies, CDNs and firewalls that only let web traffic out. The Conn is a
 * WsConn (ws-conn.ts: binary messages, half-close marker, backpressure both ways).
 *
 * Listening: an http (ws) or https (wss, `cert`/`key` from ListenOptions) server that upgrades only
 * requests for the address's path; other paths get 404, and plain requests for the path 426.
 * Dialing: wss verifies the server certificate by default (`ca`, `rejectUnauthorized`); compression
 * is off (perMessageDeflate: false): the payload is ciphertext, and deflate costs CPU and memory.
 */
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { debuglog } from 'node:util'
import { type ClientOptions, WebSocket, WebSocketServer } from 'ws'
import type { TransportAddress } from '../address/types.ts'
import { TunnelError } from '../errors.ts'
import { DIAL_TIMEOUT_MS } from './constants.ts'
import { armDial, checkDial, expectKind } from './dial.ts'
import { describeAddress, transportError } from './errors.ts'
import { closeServer, endpoint, maxConnections } from './socket.ts'
import type { Conn, DialOptions, ListenOptions, Listener, Transport } from './types.ts'
import { WS_CLOSE_TIMEOUT_MS, WS_MAX_MESSAGE, WsConn } from './ws-conn.ts'

const debug = debuglog('burrow')

/** A listener's bound on one HTTP upgrade (or TLS + upgrade): headers must arrive within this. */
export const WS_HANDSHAKE_TIMEOUT_MS = DIAL_TIMEOUT_MS

type WsKind = 'ws' | 'wss'
type WsAddress = Extract<TransportAddress, { kind: WsKind }>

/** ws 8.23 options @types/ws does not list yet. */
type WsOptions = ClientOptions & { closeTimeout?: number }

const COMMON = {
  perMessageDeflate: false,
  maxPayload: WS_MAX_MESSAGE,
  closeTimeout: WS_CLOSE_TIMEOUT_MS,
} as const

function urlOf(a: WsAddress): string {
  return describeAddress(a) // `ws://host:port/path`, IPv6 in brackets: a valid URL
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '').indexOf('?')
  return q === -1 ? (url ?? '') : (url ?? '').slice(0, q)
}

async function dial(kind: WsKind, address: TransportAddress, options: DialOptions): Promise<Conn> {
  const a = expectKind(kind, address, 'dial')
  const url = urlOf(a)
  const what = `connect to ${url}`
  checkDial(what, options)
  const wsOptions: WsOptions = {
    ...COMMON,
    followRedirects: false,
    ...(kind === 'wss' && { ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true }),
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, wsOptions)
    let settled = false
    const fail = (err: TunnelError) => {
      if (settled) return
      settled = true
      disarm()
      ws.terminate()
      reject(err)
    }
    const disarm = armDial(what, options, fail)
    let local = '?'
    ws.once('upgrade', (res) => {
      local = endpoint(res.socket.localAddress, res.socket.localPort)
    })
    ws.on('unexpected-response', (_req, res) => {
      res.resume()
      const status = res.statusCode ?? 0
      const refused = status === 404 || status === 503
      const why = status === 404 ? 'nothing is listening on that path' : 'the server is full (503)'
      fail(
        refused
          ? new TunnelError('TUN_ERR_CONNECT_REFUSED', `${what} refused: ${why}`)
          : new TunnelError(
              'TUN_ERR_TRANSPORT',
              `${what} failed: the server answered HTTP ${status}, not an upgrade`,
            ),
      )
    })
    // Stays attached after a failure: ws reports the terminate() above as one more error.
    ws.on('error', (err) => fail(transportError(err, { op: 'connect', kind, where: url })))
    ws.once('open', () => {
      settled = true
      disarm()
      ws.removeAllListeners('error').removeAllListeners('unexpected-response')
      resolve(new WsConn(ws, { transport: kind, remote: url, local }))
    })
  })
}

/** Answers a refused upgrade on the raw socket, then drops it (ws does the same in abortHandshake). */
function refuseUpgrade(socket: net.Socket, status: number, text: string): void {
  socket.on('error', () => undefined)
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

async function listen(
  kind: WsKind,
  address: TransportAddress,
  onConn: (conn: Conn) => void,
  options: ListenOptions,
): Promise<Listener> {
  const a = expectKind(kind, address, 'listen on')
  const where = urlOf(a)
  if (kind === 'wss' && (options.cert === undefined || options.key === undefined)) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `listen on ${where}: wss needs ListenOptions.cert and .key`,
    )
  }
  const limits = { headersTimeout: WS_HANDSHAKE_TIMEOUT_MS, requestTimeout: WS_HANDSHAKE_TIMEOUT_MS }
  const server =
    kind === 'wss'
      ? https.createServer({
          ...limits,
          cert: options.cert,
          key: options.key,
          handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS,
        })
      : http.createServer(limits)
  // Counts every TCP connection, upgraded or not: the bound holds for half-done handshakes too.
  server.maxConnections = maxConnections(options)
  const wss = new WebSocketServer({ ...COMMON, noServer: true, clientTracking: false } as WsOptions)
  let bound = where
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const status = pathOf(req.url) === a.path ? 426 : 404
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' })
    res.end(status === 426 ? 'burrow: this path takes WebSocket upgrades only\n' : 'not found\n')
  })
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (pathOf(req.url) !== a.path) return refuseUpgrade(socket, 404, 'Not Found')
    const remote = endpoint(socket.remoteAddress, socket.remotePort)
    wss.handleUpgrade(req, socket, head, (ws) =>
      onConn(new WsConn(ws, { transport: kind, remote, local: bound })),
    )
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(transportError(err, { op: 'listen', kind, where }))
    server.once('error', onError)
    server.listen({ host: a.host, port: a.port }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (err) => debug('%s listener: %s', where, err.message))
  const info = server.address() as net.AddressInfo
  const real: WsAddress = { kind, host: info.address, port: info.port, path: a.path }
  bound = urlOf(real)
  return { address: real, close: async () => closeServer(server) }
}

function transport(kind: WsKind): Transport {
  return {
    kind,
    dial: (address, options = {}) => dial(kind, address, options),
    listen: (address, onConn, options = {}) => listen(kind, address, onConn, options),
  }
}

/** WebSocket over plain HTTP. */
export const ws: Transport = transport('ws')

/** WebSocket over HTTPS: the certificate is verified unless DialOptions.rejectUnauthorized is false. */
export const wss: Transport = transport('wss')
