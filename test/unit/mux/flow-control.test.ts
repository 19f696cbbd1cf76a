/**
 * Per-stream credit flow control over real loopback TCP (DESIGN decision 3): a stream whose reader
 * never reads holds at most its window on the receiver while another stream on the same link moves
 * 256 MiB at (nearly) its solo speed; then the stalled stream is read and every byte arrives.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { afterEach, test } from 'node:test'
import type { MuxSession } from '../../../src/mux/session.ts'
import type { MuxStream } from '../../../src/mux/stream.ts'
import { DEFAULT_INITIAL_WINDOW } from '../../../src/mux/wire.ts'
import { closeAllPairs, closed, readAll, sessionPair } from './sessions.ts'

afterEach(closeAllPairs)

const MiB = 1024 * 1024
/** Bytes the active stream moves in each run. */
const ACTIVE_BYTES = 256 * MiB
/** Bytes written to the stalled stream: several windows, so its writer really is held back. */
const STALLED_BYTES = 8 * MiB
/**
 * How far over its window the receiver may hold bytes for the stalled stream. Zero: the sender can
 * never exceed the credit it was granted, and the receiver pushes only what arrived.
 */
const HELD_SLACK = 0
/** The contended stream must reach this fraction of its solo throughput. */
const MIN_RATIO = 0.8
/** Contended runs allowed before giving up (the machine is shared with other test files). */
const ATTEMPTS = 3

/** Writes `total` bytes of `data` (repeated) in 64 KiB pieces, honouring backpressure, then ends. */
function pump(s: MuxStream, data: Buffer, total: number): void {
  let sent = 0
  const go = (): void => {
    while (sent < total) {
      const at = sent % data.length
      const piece = data.subarray(at, at + Math.min(64 * 1024, total - sent, data.length - at))
      sent += piece.length
      if (!s.write(piece)) return void s.once('drain', go)
    }
    s.end()
  }
  go()
}

/** Moves `bytes` on a new stream; returns MB/s measured at the receiver. */
async function transfer(
  client: MuxSession,
  accept: () => Promise<MuxStream>,
  bytes = ACTIVE_BYTES,
): Promise<number> {
  const s = client.openStream(Buffer.from('active'))
  s.resume()
  const t0 = performance.now()
  pump(s, Buffer.alloc(64 * 1024, 0x5a), bytes)
  const r = await accept()
  let n = 0
  r.on('data', (d: Buffer) => (n += d.length))
  await once(r, 'end')
  const seconds = (performance.now() - t0) / 1000
  assert.equal(n, bytes)
  r.end()
  await Promise.all([closed(s), closed(r)])
  return bytes / 1e6 / seconds
}

for (const kind of ['tcp', 'secure'] as const)
  test(
    `${kind}: a stalled stream holds at most its window; another stream keeps its speed; then every stalled byte arrives`,
    { timeout: 120_000 },
    async () => {
      const p = await sessionPair(kind)
      const incoming: MuxStream[] = []
      const waiters: Array<(s: MuxStream) => void> = []
      p.server.on('stream', (s) => {
        const w = waiters.shift()
        if (w) w(s)
        else incoming.push(s)
      })
      const accept = (): Promise<MuxStream> => {
        const s = incoming.shift()
        return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve))
      }
      const rss0 = process.memoryUsage().rss

      await transfer(p.client, accept, ACTIVE_BYTES / 4) // warm-up: JIT and socket buffers
      const solo = await transfer(p.client, accept)

      // The stalled stream: 8 MiB of random bytes written, never read on the server until the end.
      const stalledData = randomBytes(STALLED_BYTES)
      const stalledSender = p.client.openStream(Buffer.from('stalled'))
      stalledSender.resume()
      pump(stalledSender, stalledData, STALLED_BYTES)
      const stalled = await accept()
      while (stalled.readableLength < DEFAULT_INITIAL_WINDOW) await new Promise((r) => setTimeout(r, 5))

      let maxReadable = 0
      let maxAccounted = 0
      const sample = (): void => {
        maxReadable = Math.max(maxReadable, stalled.readableLength)
        maxAccounted = Math.max(maxAccounted, stalled.bufferedIn)
      }
      const sampler = setInterval(sample, 5)
      const contended: number[] = []
      for (let i = 0; i < ATTEMPTS; i++) {
        contended.push(await transfer(p.client, accept))
        if (Math.max(...contended) >= MIN_RATIO * solo) break
      }
      clearInterval(sampler)
      sample()
      const rss1 = process.memoryUsage().rss
      const best = Math.max(...contended)
      console.log(
        `flow control over ${kind === 'secure' ? 'a link (loopback TCP + Noise)' : 'loopback TCP'}: solo ${solo.toFixed(0)} MB/s, contended ${contended.map((c) => c.toFixed(0)).join(' / ')} MB/s ` +
          `(best ${((100 * best) / solo).toFixed(0)}% of solo); stalled stream held ${maxReadable} bytes readable, ` +
          `${maxAccounted} accounted (window ${stalled.window}); sender still holds ${stalledSender.writableLength} bytes; ` +
          `RSS ${(rss0 / MiB).toFixed(0)} -> ${(rss1 / MiB).toFixed(0)} MiB`,
      )
      assert.ok(maxReadable <= DEFAULT_INITIAL_WINDOW + HELD_SLACK, `readable ${maxReadable}`)
      assert.ok(maxAccounted <= DEFAULT_INITIAL_WINDOW + HELD_SLACK, `accounted ${maxAccounted}`)
      assert.equal(stalled.window, DEFAULT_INITIAL_WINDOW, 'a stream that is not read never grows its window')
      assert.ok(stalledSender.writableLength > 0, 'the stalled writer is held back by credit')
      assert.ok(
        best >= MIN_RATIO * solo,
        `contended ${best.toFixed(0)} MB/s < ${MIN_RATIO} x solo ${solo.toFixed(0)} MB/s`,
      )

      const received = await readAll(stalled)
      assert.equal(received.length, STALLED_BYTES)
      assert.equal(
        createHash('sha256').update(received).digest('hex'),
        createHash('sha256').update(stalledData).digest('hex'),
      )
      stalled.end()
      await Promise.all([closed(stalled), closed(stalledSender)])
      assert.equal(p.server.stats.streams.open, 0)
      await p.close()
    },
  )
