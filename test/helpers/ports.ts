/**
 * Loopback ports for tests that start external servers (sshd, iperf3, ...) which need a port
 * number on their command line instead of binding port 0 themselves.
 *
 * The race, and how fixtures live with it: {@link freePort} binds port 0, reads the number the
 * kernel chose and closes the socket, so the port is free *at that moment*. Between the close and
 * the external server's bind, any other process (or a parallel test file: the runner runs two at
 * once) may take the same number. The kernel hands out ephemeral ports round-robin, so a clash
 * is rare, but it happens. Servers that can bind port 0 themselves (node's net/http) must do that
 * instead. Fixtures that cannot go through {@link withFreePort}, which retries a start that failed
 * with "address already in use" on a fresh port.
 */
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

/** How long {@link waitForPort} keeps trying by default. Servers here start in well under 1 s. */
export const WAIT_FOR_PORT_TIMEOUT_MS = 10_000
/** First pause after a refused connect; each later pause doubles, up to {@link WAIT_FOR_PORT_MAX_BACKOFF_MS}. */
export const WAIT_FOR_PORT_FIRST_BACKOFF_MS = 5
export const WAIT_FOR_PORT_MAX_BACKOFF_MS = 100
/** Attempts {@link withFreePort} makes before giving up on port clashes. */
export const FREE_PORT_ATTEMPTS = 3

/** The only hosts fixtures talk to: tests stay on loopback. */
export type LoopbackHost = '127.0.0.1' | '::1'

/** Throws unless `host` is a loopback address (127.0.0.1 or ::1): no test reaches past the machine. */
export function assertLoopback(host: string): asserts host is LoopbackHost {
  if (host !== '127.0.0.1' && host !== '::1') throw new Error(`tests stay on loopback; got host ${host}`)
}

/**
 * A TCP port that was free on `host` a moment ago (bind port 0, read it, close). Racy by nature:
 * see the module comment; prefer binding port 0 directly where the server allows it.
 */
export async function freePort(host: LoopbackHost = '127.0.0.1'): Promise<number> {
  assertLoopback(host)
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface WaitForPortOptions {
  /** Default 127.0.0.1. */
  host?: LoopbackHost
  /** Total time to keep trying (default {@link WAIT_FOR_PORT_TIMEOUT_MS}). */
  timeoutMs?: number
  /** Stops waiting at once with the signal's reason, e.g. when the server process has exited. */
  signal?: AbortSignal
}

/**
 * Resolves once a TCP connect to `host:port` succeeds (the probe socket is closed at once).
 * A listener coming up has no event to await from outside its process, so this retries: each
 * attempt waits for the connect's own outcome, then pauses with a short exponential backoff
 * (5 ms doubling to 100 ms) and rejects after `timeoutMs` in total, naming the last error.
 * Note: the probe is a real connection; servers that treat any connection as a session (iperf3
 * `--one-off`) must be awaited another way, e.g. a ready line.
 */
export async function waitForPort(port: number, options: WaitForPortOptions = {}): Promise<void> {
  const host = options.host ?? '127.0.0.1'
  assertLoopback(host)
  const timeoutMs = options.timeoutMs ?? WAIT_FOR_PORT_TIMEOUT_MS
  const deadline = Date.now() + timeoutMs
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]
  const signal = AbortSignal.any(signals)
  let backoff = WAIT_FOR_PORT_FIRST_BACKOFF_MS
  let last: unknown
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason
    try {
      await probe(host, port, signal)
      return
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason
      last = err
    }
    const left = deadline - Date.now()
    if (left <= 0 || signal.aborted) break
    await delay(Math.min(backoff, left), undefined, { signal }).catch(() => {})
    backoff = Math.min(backoff * 2, WAIT_FOR_PORT_MAX_BACKOFF_MS)
  }
  const reason = (last as NodeJS.ErrnoException | undefined)?.code ?? String(last)
  throw new Error(`nothing accepted on ${host}:${port} within ${timeoutMs} ms (last: ${reason})`)
}

function probe(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error)
    const socket = net.connect({ host, port })
    const onAbort = (): void => void socket.destroy(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    const done = (err?: Error): void => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err) reject(err)
      else resolve()
    }
    socket.once('connect', () => done())
    socket.once('error', done)
  })
}

/** True when `err` (an Error, or a message) says a bind failed because the port was taken. */
export function isAddressInUse(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true
  return /address already in use/i.test(err instanceof Error ? err.message : String(err))
}

/**
 * Starts something on a {@link freePort}, retrying on a fresh port (up to {@link FREE_PORT_ATTEMPTS}
 * times) when `start` rejects with an error for which {@link isAddressInUse} holds: the cure for the
 * free-port race. Other errors are thrown at once.
 */
export async function withFreePort<T>(
  start: (port: number) => Promise<T>,
  host: LoopbackHost = '127.0.0.1',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort(host))
    } catch (err) {
      if (attempt >= FREE_PORT_ATTEMPTS || !isAddressInUse(err)) throw err
    }
  }
}
