/**
 * Loopback ports for tools that take a port number on their command line (sshd, socat, iperf3,
 * ssh -L). {@link freePort} is racy by nature (free when checked, maybe not when the tool binds), so
 * starts go through {@link withPort}, which retries a start that failed on a taken port.
 */
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

/** Every benchmark endpoint: nothing leaves the machine. */
export const HOST = '127.0.0.1'

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: HOST, exclusive: true }, resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Runs `start` on a free port, again on a fresh one (3 tries) if it fails with "address in use". */
export function withPort<T>(start: (port: number) => Promise<T>): Promise<T> {
  return withPorts(1, ([port]) => start(port as number))
}

/** {@link withPort} for a start that needs `count` ports. */
export async function withPorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = []
    while (ports.length < count) {
      const port = await freePort()
      if (!ports.includes(port)) ports.push(port)
    }
    try {
      return await start(ports)
    } catch (err) {
      const inUse = /already in use|EADDRINUSE|cannot bind/i.test(String(err))
      if (attempt >= 3 || !inUse) throw err
    }
  }
}

/** Resolves once a TCP connect to 127.0.0.1:`port` succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (let pause = 5; Date.now() < deadline; pause = Math.min(pause * 2, 100)) {
    try {
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ port, host: HOST }, () => {
          s.destroy()
          resolve()
        })
        s.once('error', reject)
      })
      return
    } catch (err) {
      last = err
    }
    await delay(pause)
  }
  throw new Error(`nothing accepted on ${HOST}:${port} in ${timeoutMs} ms (last: ${String(last)})`)
}

/** A connected TCP socket to 127.0.0.1:`port`, Nagle off; later errors are ignored (the caller sees close). */
export async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: HOST, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve)
    s.once('error', reject)
  })
  return s
}
