/**
 * Connected byte Duplex pairs for tests: in memory (with backpressure, optional latency and a
 * stall switch) and over real loopback TCP sockets.
 *
 * In-memory semantics follow a socket: what `a` writes, `b` reads; `a.end()` makes `b` read EOF
 * (half-close; `b` can keep writing); `a.destroy()` makes `b` close too (like a reset connection).
 * Backpressure: a write's callback waits until the other side's reader takes the bytes below its
 * high-water mark, so write() returns false and 'drain' comes as on a socket.
 */
import { once } from 'node:events'
import net from 'node:net'
import { Duplex } from 'node:stream'

export interface MemoryPairOptions {
  /** Both directions' high-water marks (default 16 KiB, a socket's). */
  highWaterMark?: number
  /** Delivers each write this many ms later (order kept). Writes complete at once: the in-flight bytes are unbounded. */
  latencyMs?: number
}

type Callback = (err?: Error | null) => void

/** One end of a memory pair. `stalled` drops every byte written from this end (the far end sees silence). */
export class MemoryEnd extends Duplex {
  peer!: MemoryEnd
  stalled = false
  private readonly latencyMs: number
  private waiting: Callback | null = null

  constructor(options: MemoryPairOptions) {
    super({ highWaterMark: options.highWaterMark ?? 16 * 1024, allowHalfOpen: true })
    this.latencyMs = options.latencyMs ?? 0
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    if (this.stalled) return cb()
    if (this.latencyMs > 0) {
      setTimeout(() => this.peer.push(chunk), this.latencyMs)
      return cb()
    }
    if (this.peer.push(chunk)) cb()
    else this.peer.waiting = cb // released when the peer's reader wants more
  }

  override _read(): void {
    const cb = this.waiting
    this.waiting = null
    cb?.()
  }

  override _final(cb: Callback): void {
    if (this.latencyMs > 0) setTimeout(() => this.peer.push(null), this.latencyMs)
    else if (!this.stalled) this.peer.push(null)
    cb()
  }

  override _destroy(err: Error | null, cb: Callback): void {
    const waiting = this.waiting
    this.waiting = null
    waiting?.(err ?? new Error('destroyed'))
    if (!this.peer.destroyed) process.nextTick(() => this.peer.destroy())
    cb(err)
  }
}

/** Two connected in-memory ends. */
export function memoryPair(options: MemoryPairOptions = {}): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd(options)
  const b = new MemoryEnd(options)
  a.peer = b
  b.peer = a
  return [a, b]
}

export interface TcpPair {
  /** The dialing end. */
  a: net.Socket
  /** The accepted end. */
  b: net.Socket
  /** Destroys both sockets and waits for them to close. */
  close(): Promise<void>
}

/** Two TCP sockets connected over 127.0.0.1 (the listener is closed once they are). Nagle is off on both. */
export async function tcpPair(): Promise<TcpPair> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const a = net.connect({ port, host: '127.0.0.1', noDelay: true })
  const [[b]] = await Promise.all([accepted, once(a, 'connect')])
  b.setNoDelay(true)
  server.close() // stops listening now; its callback would wait for these sockets to close
  return {
    a,
    b,
    async close() {
      await Promise.all(
        [a, b].map((s) =>
          s.closed ? undefined : new Promise<void>((resolve) => s.once('close', () => resolve()).destroy()),
        ),
      )
    },
  }
}
