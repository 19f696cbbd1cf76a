/**
 * The tcp transport: `net` sockets, IPv4 and IPv6 (`{ kind: 'tcp', host: '::1', port: 7000 }`).
 * The Conn is the net.Socket itself (TCP_NODELAY on), so bytes go from the app to libuv with no
 * JavaScript in between. Limits: DIAL_TIMEOUT_MS per dial, MAX_CONNECTIONS per listener.
 */
import type net from 'node:net'
import type { TransportAddress } from '../address/types.ts'
import { checkDial, expectKind } from './dial.ts'
import { describeAddress } from './errors.ts'
import { closeServer, dialSocket, endpoint, listenSocket } from './socket.ts'
import type { Conn, ConnInfo, DialOptions, ListenOptions, Listener, Transport } from './types.ts'

function infoOf(socket: net.Socket): ConnInfo {
  return {
    transport: 'tcp',
    remote: endpoint(socket.remoteAddress, socket.remotePort),
    local: endpoint(socket.localAddress, socket.localPort),
  }
}

async function dial(address: TransportAddress, options: DialOptions = {}): Promise<Conn> {
  const { host, port } = expectKind('tcp', address, 'dial')
  const where = describeAddress(address)
  checkDial(`connect to ${where}`, options)
  return dialSocket('tcp', where, { host, port }, options, infoOf)
}

async function listen(
  address: TransportAddress,
  onConn: (conn: Conn) => void,
  options: ListenOptions = {},
): Promise<Listener> {
  const { host, port } = expectKind('tcp', address, 'listen on')
  const where = describeAddress(address)
  const server = await listenSocket('tcp', where, { host, port }, onConn, options, infoOf)
  const bound = server.address() as net.AddressInfo
  return {
    // The real address: the port the OS picked for port 0, the address `localhost` resolved to.
    address: { kind: 'tcp', host: bound.address, port: bound.port },
    close: async () => closeServer(server),
  }
}

/** Dials and listens on TCP. */
export const tcp: Transport = { kind: 'tcp', dial, listen }
