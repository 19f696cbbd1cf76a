/**
 * A tiny TCP proxy for fault tests (loopback only). It forwards both ways until told to stall;
 * stalled, it keeps reading and throws the bytes away, so each end sees a peer that went silent
 * without any TCP error (a dead host behind a NAT, a frozen process), and its own writes never back
 * up. An optional `drop` predicate discards chosen chunks while forwarding.
 */
import { once } from 'node:events'
import net from 'node:net'

export type Direction = 'up' | 'down' // up: client -> target; down: target -> client

export interface StallProxyOptions {
  /** Return true to discard a chunk (after the stall check). */
  drop?: (direction: Direction, chunk: Buffer) => boolean
}

export interface StallProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number
  /** Stops forwarding in both directions; bytes are read and dropped. */
  stall(): void
  /** Forwards again (bytes dropped meanwhile are lost). */
  resume(): void
  /** Bytes dropped so far, per direction. */
  readonly dropped: Record<Direction, number>
  /** Closes the listener and destroys every proxied connection. */
  close(): Promise<void>
}

export async function createStallProxy(
  targetPort: number,
  options: StallProxyOptions = {},
): Promise<StallProxy> {
  let stalled = false
  const dropped: Record<Direction, number> = { up: 0, down: 0 }
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket): void => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
  }
  const forward = (from: net.Socket, to: net.Socket, dir: Direction): void => {
    from.on('data', (chunk: Buffer) => {
      if (stalled || options.drop?.(dir, chunk) === true) {
        dropped[dir] += chunk.length
        return
      }
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    })
    from.on('end', () => {
      if (!stalled) to.end()
    })
    from.on('close', () => to.destroy())
  }
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true })
    track(client)
    track(upstream)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    forward(client, upstream, 'up')
    forward(upstream, client, 'down')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    dropped,
    stall: () => void (stalled = true),
    resume: () => void (stalled = false),
    async close() {
      server.close()
      await Promise.all(
        [...sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()).destroy())),
      )
    },
  }
}
