/**
 * The benchmark stream protocol, the same over a TCP socket, a TLS socket, a burrow stream or any
 * tunnel: the client's first byte picks what the server does with the rest of the stream.
 *   T  sink: read to EOF, then reply with the byte count (u64) and end
 *   E  echo: write back every byte
 *   U  unread: never read (the flow-control / memory test)
 *   M  memory: reply with the server's {rss, peakRss} as JSON and end; resets the peak
 */
import { once } from 'node:events'
import type { Duplex } from 'node:stream'

export const MODE = { SINK: 0x54, ECHO: 0x45, UNREAD: 0x55, MEMORY: 0x4d } as const

let peakRss = process.memoryUsage.rss()
/** Samples RSS so the server can report its peak; unref'd. */
export function trackPeakRss(): void {
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 10).unref()
}

/** Serves one benchmark stream. */
export function serveBenchStream(stream: Duplex): void {
  stream.on('error', () => {})
  stream.once('readable', function first() {
    const head = stream.read(1) as Buffer | null
    if (head === null) {
      if (!stream.readableEnded) stream.once('readable', first)
      return
    }
    switch (head[0]) {
      case MODE.SINK: {
        let count = 0
        stream.on('data', (d: Buffer) => (count += d.length))
        stream.once('end', () => {
          const reply = Buffer.alloc(8)
          reply.writeBigUInt64BE(BigInt(count))
          stream.end(reply)
        })
        break
      }
      case MODE.ECHO:
        stream.on('data', (d: Buffer) => {
          if (!stream.write(d)) {
            stream.pause()
            stream.once('drain', () => stream.resume())
          }
        })
        stream.once('end', () => stream.end())
        break
      case MODE.UNREAD:
        stream.pause()
        break
      case MODE.MEMORY: {
        const rss = process.memoryUsage.rss()
        stream.end(JSON.stringify({ rss, peakRss: Math.max(peakRss, rss) }))
        peakRss = rss
        stream.resume()
        break
      }
      default:
        stream.destroy()
    }
  })
}

/** Sends `total` bytes after the SINK byte and resolves with the elapsed ms once the server has counted them. */
export async function sink(stream: Duplex, total: number, chunkSize = 65536): Promise<number> {
  const chunk = Buffer.alloc(chunkSize, 0x61)
  const start = performance.now()
  const reply = readExactly(stream, 8)
  stream.write(Buffer.from([MODE.SINK]))
  for (let sent = 0; sent < total; sent += chunkSize) {
    if (!stream.write(chunk)) await once(stream, 'drain')
  }
  stream.end()
  const count = Number((await reply).readBigUInt64BE(0))
  if (count !== total) throw new Error(`server counted ${count} bytes, expected ${total}`)
  return performance.now() - start
}

/** Round trips of `size` bytes on an echo stream; resolves with each round trip in microseconds. */
export async function pingPong(
  stream: Duplex,
  size: number,
  rounds: number,
  warmup: number,
): Promise<number[]> {
  stream.write(Buffer.from([MODE.ECHO]))
  const payload = Buffer.alloc(size, 0x62)
  const times: number[] = []
  let pending: (() => void) | undefined
  let have = 0
  stream.on('data', (d: Buffer) => {
    have += d.length
    if (have >= size && pending) {
      have -= size
      const p = pending
      pending = undefined
      p()
    }
  })
  for (let i = 0; i < rounds + warmup; i++) {
    const t = process.hrtime.bigint()
    await new Promise<void>((resolve) => {
      pending = resolve
      stream.write(payload)
    })
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  stream.end()
  return times.sort((a, b) => a - b)
}

export async function memoryOf(stream: Duplex): Promise<{ rss: number; peakRss: number }> {
  stream.end(Buffer.from([MODE.MEMORY]))
  const chunks: Buffer[] = []
  stream.on('data', (d: Buffer) => chunks.push(d))
  await once(stream, 'end')
  return JSON.parse(Buffer.concat(chunks).toString()) as { rss: number; peakRss: number }
}

/** Writes into an UNREAD stream until backpressure holds; resolves with the bytes accepted. */
export async function fillUnread(stream: Duplex, chunkSize = 65536): Promise<number> {
  stream.write(Buffer.from([MODE.UNREAD]))
  const chunk = Buffer.alloc(chunkSize, 0x63)
  let written = 0
  for (;;) {
    written += chunkSize
    if (!stream.write(chunk)) {
      const drained = await Promise.race([
        once(stream, 'drain').then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      ])
      if (!drained) return written
    }
  }
}

function readExactly(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let have = 0
    stream.on('data', (d: Buffer) => {
      chunks.push(d)
      have += d.length
      if (have >= n) resolve(Buffer.concat(chunks).subarray(0, n))
    })
    stream.once('error', reject)
    stream.once('end', () => have < n && reject(new Error('stream ended early')))
  })
}
