/**
 * The exposing peer's side of one visitor: the relay opened a `visitor` stream on the hop link; the
 * peer dials its local service at once (so services that speak first, like SSH or SMTP, greet the
 * visitor without waiting for a byte from it), writes a PROXY v2 header first when asked, and
 * splices. A refused or unreachable local service resets the stream with the end-to-end target
 * codes (peer/wire.ts), and the relay closes the visitor's connection.
 */
import net from 'node:net'
import { TunnelError } from '../errors.ts'
import type { MuxStream } from '../mux/stream.ts'
import { splice } from '../relay/splice.ts'
import { encodeProxyV2, parseEndpoint } from './proxy-v2.ts'
import { StreamResetCode } from './wire.ts'

/** How long the peer waits for its local service to accept a visitor's connection. */
export const LOCAL_CONNECT_TIMEOUT_MS = 10_000

export interface VisitorTarget {
  host: string
  port: number
  /** Write a PROXY v2 header (source: the visitor; destination: the public host and port). */
  proxyProtocol: boolean
  /** The public host the relay reported (an IP literal is used as the header's destination). */
  publicHost: string
  connectTimeoutMs?: number
}

export interface VisitorOutcome {
  bytesIn: number
  bytesOut: number
  err?: Error
}

/** A visitor in progress, for observers (tests measure what each side buffers). */
export interface LocalVisitor {
  readonly from: string
  readonly stream: MuxStream
  readonly socket: net.Socket
}

/**
 * Serves one visitor stream; resolves when it is over. `onSocket` sees the local connection as
 * soon as it is dialed.
 */
export function serveVisitor(
  stream: MuxStream,
  publicPort: number,
  from: string,
  target: VisitorTarget,
  onSocket?: (socket: net.Socket) => void,
): Promise<VisitorOutcome> {
  stream.on('error', () => {})
  let header: Buffer | undefined
  try {
    const source = parseEndpoint(from)
    if (target.proxyProtocol)
      header = encodeProxyV2(source, destination(target.publicHost, source.address, publicPort))
  } catch (err) {
    stream.reset(StreamResetCode.BAD_REQUEST, (err as Error).message)
    return Promise.resolve({ bytesIn: 0, bytesOut: 0, err: err as Error })
  }
  const timeoutMs = target.connectTimeoutMs ?? LOCAL_CONNECT_TIMEOUT_MS
  const socket = net.connect({
    host: target.host,
    port: target.port,
    allowHalfOpen: true,
    noDelay: true,
    timeout: timeoutMs,
  })
  // Queued until the connection is up, then sent before any visitor byte (one segment).
  if (header !== undefined) socket.write(header)
  onSocket?.(socket)
  return new Promise((resolve) => {
    const fail = (err: Error): void => {
      socket.destroy()
      const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED'
      const e = new TunnelError(
        refused ? 'TUN_ERR_TARGET_REFUSED' : 'TUN_ERR_TARGET_UNREACHABLE',
        `the local service ${target.host}:${target.port} ${refused ? 'refused the connection' : `is unreachable: ${err.message}`}`,
        { cause: err },
      )
      stream.reset(refused ? StreamResetCode.TARGET_REFUSED : StreamResetCode.TARGET_UNREACHABLE, e.message)
      resolve({ bytesIn: 0, bytesOut: 0, err: e })
    }
    socket.once('error', fail)
    socket.once('timeout', () => fail(new Error(`no answer within ${timeoutMs} ms`)))
    socket.once('connect', () => {
      socket.off('error', fail)
      socket.setTimeout(0)
      let failure: Error | undefined
      socket.on('error', (err) => (failure ??= err))
      stream.on('error', (err) => (failure ??= err))
      void splice(stream, socket).then(({ ab, ba }) => resolve({ bytesIn: ab, bytesOut: ba, err: failure }))
    })
    stream.once('close', () => {
      if (!socket.connecting) return
      socket.destroy() // the visitor left before the service answered
      resolve({ bytesIn: 0, bytesOut: 0, err: new TunnelError('TUN_ERR_ABORTED', 'the visitor left first') })
    })
  })
}

/** The header's destination: the public host when it is an IP, else the unspecified address. */
function destination(
  publicHost: string,
  sourceAddress: string,
  port: number,
): { address: string; port: number } {
  if (net.isIP(publicHost) !== 0) return { address: publicHost, port }
  return { address: net.isIP(sourceAddress) === 6 ? '::' : '0.0.0.0', port }
}
