/**
 * A TCP proxy on loopback that forwards client <-> upstream and records every byte it forwards, per
 * direction, across all its connections. Tests put it between a tunnel end and a relay to prove
 * the relay path never carries plaintext: send a marker through the tunnel, then assert that
 * `contains(marker)` is false (and that the capture is not empty, so the check is not vacuous).
 *
 * The capture is bounded ({@link MAX_CAPTURE_BYTES} by default, both directions together). Going
 * past it is a test bug, not a condition to survive: the proxy destroys every connection, makes
 * `captured()` throw, and reports the error (by default as an uncaught exception, which fails the
 * running test loudly) instead of growing.
 */
import { once } from 'node:events'
import net from 'node:net'
import { assertLoopback, type LoopbackHost } from './ports.ts'

/** Default bound on recorded bytes (both directions together). */
export const MAX_CAPTURE_BYTES = 256 * 1024 * 1024

/** up: client -> upstream; down: upstream -> client. */
export type Direction = 'up' | 'down'

export interface RecordingProxyOptions {
  /** Where the proxy listens (default 127.0.0.1). */
  host?: LoopbackHost
  /** Default {@link MAX_CAPTURE_BYTES}. */
  maxCaptureBytes?: number
  /** Called once when the capture overflows; default: throw it on the next tick (fails the test). */
  onOverflow?: (err: Error) => void
}

export interface RecordingProxy {
  readonly host: LoopbackHost
  /** Port the proxy listens on. */
  readonly port: number
  /** Connections accepted so far. */
  readonly connections: number
  /** Everything forwarded so far, per direction, in arrival order (connections concatenated). */
  captured(): { up: Buffer; down: Buffer }
  /** True when `marker` occurs in either direction of the capture. */
  contains(marker: Buffer | string): boolean
  /**
   * Stops reading from both sides of every connection (new ones too). Nothing is dropped: bytes
   * wait in the kernel's socket buffers and TCP backpressure reaches the senders.
   */
  stopForwarding(): void
  /** Reads and forwards again, delivering what waited. */
  resumeForwarding(): void
  /** Stops listening and destroys every connection. */
  close(): Promise<void>
}

/** Starts a recording proxy to `upstream` (a loopback host and port). */
export async function startRecordingProxy(
  upstream: { host: LoopbackHost; port: number },
  options: RecordingProxyOptions = {},
): Promise<RecordingProxy> {
  assertLoopback(upstream.host)
  const host = options.host ?? '127.0.0.1'
  assertLoopback(host)
  const maxBytes = options.maxCaptureBytes ?? MAX_CAPTURE_BYTES
  const chunks: Record<Direction, Buffer[]> = { up: [], down: [] }
  let recorded = 0
  let overflow: Error | undefined
  let stopped = false
  let connections = 0
  const sockets = new Set<net.Socket>()
  /** Sockets paused because the other side's write buffer is full; they resume on its 'drain'. */
  const blocked = new Set<net.Socket>()

  const record = (dir: Direction, chunk: Buffer): boolean => {
    if (overflow) return false
    if (recorded + chunk.length > maxBytes) {
      overflow = new Error(
        `recording proxy: capture would exceed ${maxBytes} bytes (maxCaptureBytes); send less or raise it`,
      )
      for (const s of sockets) s.destroy()
      const report =
        options.onOverflow ??
        ((err: Error) =>
          process.nextTick(() => {
            throw err
          }))
      report(overflow)
      return false
    }
    recorded += chunk.length
    chunks[dir].push(chunk)
    return true
  }

  const pump = (from: net.Socket, to: net.Socket, dir: Direction): void => {
    from.on('data', (chunk: Buffer) => {
      if (!record(dir, chunk) || to.write(chunk)) return
      from.pause()
      blocked.add(from)
      to.once('drain', () => {
        blocked.delete(from)
        if (!stopped) from.resume()
      })
    })
    from.on('end', () => to.end())
    from.on('close', (hadError) => {
      if (hadError) to.destroy()
    })
  }

  const track = (socket: net.Socket): void => {
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('close', () => {
      sockets.delete(socket)
      blocked.delete(socket)
    })
    socket.on('error', () => {}) // 'close' with hadError follows and tears the pair down
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    connections++
    const up = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true })
    track(client)
    track(up)
    pump(client, up, 'up')
    pump(up, client, 'down')
    if (stopped) {
      client.pause()
      up.pause()
    }
  })
  server.listen(0, host)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo

  const captured = (): { up: Buffer; down: Buffer } => {
    if (overflow) throw overflow
    return { up: Buffer.concat(chunks.up), down: Buffer.concat(chunks.down) }
  }
  return {
    host,
    port,
    get connections() {
      return connections
    },
    captured,
    contains(marker) {
      const { up, down } = captured()
      return up.includes(marker) || down.includes(marker)
    },
    stopForwarding() {
      stopped = true
      for (const s of sockets) s.pause()
    },
    resumeForwarding() {
      stopped = false
      for (const s of sockets) if (!blocked.has(s)) s.resume()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}
