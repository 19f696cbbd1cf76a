/**
 * A Transport whose Conns are streams of burrow links (tcp -> Noise -> mux), so the transport
 * compliance suite holds link streams to the same contract as sockets: ordered bytes, half-close,
 * backpressure, coded errors, many at once. dial() reuses one link per address, so the
 * concurrency test puts 200 streams on one link.
 */
import type { TransportAddress } from '../../src/address/types.ts'
import { generateIdentity } from '../../src/identity/keys.ts'
import { dial, listen, type Link } from '../../src/mux/link.ts'
import type { MuxStream } from '../../src/mux/stream.ts'
import type { Conn, DialOptions, Transport } from '../../src/transport/types.ts'

export function streamAsConn(stream: MuxStream, link: Link): Conn {
  return Object.assign(stream, {
    info: {
      transport: link.info.transport,
      remote: `${link.info.remote}#${stream.id}`,
      local: link.info.local,
    },
  })
}

export function linkStreamTransport(): Transport & { close(): void } {
  const server = generateIdentity()
  const client = generateIdentity()
  const links = new Map<string, Promise<Link>>()
  const all = new Set<Link>()
  return {
    kind: 'tcp',
    async dial(address: TransportAddress, options: DialOptions = {}): Promise<Conn> {
      // A dial with a signal gets a link of its own, so aborting it aborts a real handshake.
      const key = JSON.stringify(address)
      let link = options.signal ? undefined : links.get(key)
      if (link === undefined) {
        link = dial({ transport: address, id: server.id }, client, {
          maxStreams: 1024,
          signal: options.signal,
        })
        if (!options.signal) {
          links.set(key, link)
          link.catch(() => links.delete(key))
        }
      }
      const l = await link
      all.add(l)
      return streamAsConn(l.openStream(), l)
    },
    async listen(address: TransportAddress, onConn: (conn: Conn) => void) {
      const listener = await listen(address, server, { maxStreams: 1024 })
      listener.on('link', (link) => {
        all.add(link)
        link.on('stream', (s) => onConn(streamAsConn(s, link)))
      })
      return {
        address: listener.transportAddress,
        // Open links stay (like open Conns); later dials must reach the closed port.
        close: async () => {
          links.delete(JSON.stringify(listener.transportAddress))
          await listener.close({ links: false })
        },
      }
    },
    close() {
      for (const l of all) l.close()
    },
  }
}
