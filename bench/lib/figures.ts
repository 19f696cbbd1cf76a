/**
 * The figures of the relay benchmark, each measured through a local port (a forwarder's listener,
 * or the target itself): iperf3 single-stream throughput, 64-byte request/response latency on one
 * connection, and sequential new connections per second.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { pingPong } from './modes.ts'
import { HOST, connect } from './ports.ts'
import { runProc } from './procs.ts'

export interface IperfResult {
  /** Bytes the iperf3 server received (`end.sum_received.bytes`). */
  bytes: number
  seconds: number
}

/**
 * One `iperf3 -c` run of `seconds` through `port` (single stream, iperf3's default 128 KiB writes).
 * Retried while the server still reports the previous test as running: the close of that test's
 * control connection may still be on its way through a forwarder.
 */
export async function iperf(port: number, seconds: number): Promise<IperfResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await iperfOnce(port, seconds)
    } catch (err) {
      if (attempt >= 10 || !/busy/.test(String(err))) throw err
      await delay(200)
    }
  }
}

async function iperfOnce(port: number, seconds: number): Promise<IperfResult> {
  const args = ['-c', HOST, '-p', String(port), '-t', String(seconds), '-J', '--connect-timeout', '5000']
  const r = await runProc('iperf3', args, (seconds + 20) * 1000)
  let json: { error?: string; end?: { sum_received?: { bytes: number; seconds: number } } }
  try {
    json = JSON.parse(r.stdout) as typeof json
  } catch {
    throw new Error(`iperf3 through port ${port} printed no JSON (exit ${r.code}): ${r.stderr}`)
  }
  const received = json.end?.sum_received
  if (json.error !== undefined || received === undefined || received.seconds <= 0)
    throw new Error(`iperf3 through port ${port} failed: ${json.error ?? r.stderr}`)
  return { bytes: received.bytes, seconds: received.seconds }
}

/** Round trips of 64 bytes on one new connection to an echo target; each in microseconds, sorted. */
export async function requestResponse(port: number, rounds: number, warmup: number): Promise<number[]> {
  const s = await connect(port)
  try {
    return await pingPong(s, 64, rounds, warmup)
  } finally {
    s.destroy()
  }
}

/** Connect + 1-byte echo round trip + close, one after another, for `maxMs` or `maxCount` connections. */
export async function connectionRate(
  port: number,
  maxMs: number,
  maxCount: number,
): Promise<{ count: number; seconds: number }> {
  const start = performance.now()
  let n = 0
  while (n < maxCount && performance.now() - start < maxMs) {
    const s = await connect(port)
    await pingPong(s, 1, 1, 0)
    s.destroy()
    n++
  }
  return { count: n, seconds: (performance.now() - start) / 1000 }
}

/** Retries a 1-byte echo round trip through `port` until one succeeds (the path is up) or `timeoutMs`. */
export async function waitForEcho(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const s = await connect(port)
      const closed = new Promise<never>((_, reject) => s.once('close', () => reject(new Error('closed'))))
      const slow = delay(2000, undefined, { ref: false }).then(() =>
        Promise.reject(new Error('no reply in 2 s')),
      )
      try {
        await Promise.race([pingPong(s, 1, 1, 0), closed, slow])
        return
      } finally {
        s.destroy()
      }
    } catch (err) {
      last = err
      await delay(50)
    }
  }
  throw new Error(`no echo through port ${port} in ${timeoutMs} ms (last: ${String(last)})`)
}
