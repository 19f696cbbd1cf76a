/** A multiplexed stream seen as a transport Conn, so a link can run inside it (the relayed path). */
import type { Link } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import type { Conn } from '../transport/types.ts'

export function streamConn(stream: MuxStream, via: Link, label: string): Conn {
  return Object.assign(stream, {
    info: { transport: via.info.transport, remote: `${label} via ${via.info.remote}`, local: via.info.local },
  })
}
