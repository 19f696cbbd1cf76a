/** Loopback TCP socket pairs and raw servers for tests, with the `info` a transport Conn carries. */
import net from 'node:net'
import type { Conn } from '../../src/transport/types.ts'

export function asConn(socket: net.Socket): Conn {
  const info = {
    transport: 'tcp' as const,
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    local: `${socket.localAddress}:${socket.localPort}`,
  }
  return Object.assign(socket, { info })
}

/** A raw TCP server on 127.0.0.1 with an ephemeral port; `close()` also destroys its sockets. */
export async function rawServer(
  onSocket: (socket: net.Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.setNoDelay(true)
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** A connected loopback TCP pair [dialer, acceptor] as Conns. */
export async function tcpPair(): Promise<[Conn, Conn, () => Promise<void>]> {
  let accept: (s: net.Socket) => void = () => {}
  const accepted = new Promise<net.Socket>((resolve) => (accept = resolve))
  const server = await rawServer((s) => accept(s))
  const client = await connectRaw(server.port)
  const peer = await accepted
  return [asConn(client), asConn(peer), server.close]
}
